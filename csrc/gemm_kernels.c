/* Micro-kernels for each kernel set. SIMD bodies are compiled with per-function target attributes,
   so the library is built without -march flags and chooses a kernel set at run time (gemm.c). */
#include "gemm.h"

/* Portable C, once per geometry: the baseline everywhere, and the wide geometry on any CPU so the
   AVX-512 drivers are tested where AVX-512 is missing (FASTCONV_ISA=generic512). */
#define NAME generic
#define MR FC_NARROW_MR
#define T float
#define SFX f32
#define NR FC_NARROW_NR_F32
#include "gemm_kernels_impl.h"
#undef T
#undef SFX
#undef NR
#define T double
#define SFX f64
#define NR FC_NARROW_NR_F64
#include "gemm_kernels_impl.h"
#undef T
#undef SFX
#undef NR
#undef MR
#undef NAME

#define NAME generic_wide
#define MR FC_WIDE_MR
#define T float
#define SFX f32
#define NR FC_WIDE_NR_F32
#include "gemm_kernels_impl.h"
#undef T
#undef SFX
#undef NR
#define T double
#define SFX f64
#define NR FC_WIDE_NR_F64
#include "gemm_kernels_impl.h"
#undef T
#undef SFX
#undef NR
#undef MR
#undef NAME

#ifdef FC_HAVE_X86
/* AVX2 + FMA: 6 x 16 float32 (6 x 8 float64) in 12 ymm accumulators. */
#define NAME avx2
#define TARGET FC_TARGET_AVX2
#define MR FC_NARROW_MR
#define T float
#define SFX f32
#define NR FC_NARROW_NR_F32
#define FC_VEC_F32
#include "vec_avx2.h"
#include "gemm_kernels_impl.h"
#include "vec_undef.h"
#undef FC_VEC_F32
#undef T
#undef SFX
#undef NR
#define T double
#define SFX f64
#define NR FC_NARROW_NR_F64
#define FC_VEC_F64
#include "vec_avx2.h"
#include "gemm_kernels_impl.h"
#include "vec_undef.h"
#undef FC_VEC_F64
#undef T
#undef SFX
#undef NR
#undef MR
#undef TARGET
#undef NAME

/* AVX-512: the wide tile (gemm_kernels_avx512.h). */
#define NAME avx512
#define TARGET FC_TARGET_AVX512
#include "gemm_kernels_avx512.h"
#undef NAME
#undef TARGET
#endif
