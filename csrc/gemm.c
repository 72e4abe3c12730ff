#include "gemm.h"

#ifdef _OPENMP
#include <omp.h>
#endif

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
    ukri_f32 = fc_ukri_generic_f32;
    ukri_f64 = fc_ukri_generic_f64;
#ifdef FC_HAVE_X86
    if (isa >= FC_ISA_AVX2) {
        ukr_f32 = fc_ukr_avx2_f32;
        ukr_f64 = fc_ukr_avx2_f64;
        ukri_f32 = fc_ukri_avx2_f32;
        ukri_f64 = fc_ukri_avx2_f64;
    }
#else
    (void)isa;
#endif
}

size_t fc_gemm_workspace_size(int nthreads) {
    size_t per_thread = (size_t)FC_MC * FC_KC + (size_t)FC_KC * FC_NC_MAX, total;
    return fc_mul_size(per_thread, (size_t)nthreads, &total) ? total : 0;
}
