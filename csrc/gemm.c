#include "gemm.h"

#define T float
#define SFX f32
#define NR FC_NR_F32
#include "gemm_impl.h"
#undef T
#undef SFX
#undef NR

#define T double
#define SFX f64
#define NR FC_NR_F64
#include "gemm_impl.h"
#undef T
#undef SFX
#undef NR

void fc_gemm_init(fc_isa isa) {
    ukr_f32 = fc_ukr_generic_f32;
    ukr_f64 = fc_ukr_generic_f64;
#ifdef FC_HAVE_X86
    if (isa >= FC_ISA_AVX2) {
        ukr_f32 = fc_ukr_avx2_f32;
        ukr_f64 = fc_ukr_avx2_f64;
    }
#else
    (void)isa;
#endif
}
