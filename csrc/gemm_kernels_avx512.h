/* AVX-512 micro-kernels: 14 x 32 float32 (14 x 16 float64) in 28 zmm accumulators, opmask
   edges. Included by gemm_kernels.c with the CPU's intrinsics (NAME avx512), and by
   gemm_kernels_avx512emu.c with SIMDe's emulation of them on AVX2 (a test-only level), which
   defines FC_LANE_MASKS (vec_avx512.h). Needs NAME and TARGET. */
#include <immintrin.h>

#define MR FC_WIDE_MR
#define T float
#define SFX f32
#define NR FC_WIDE_NR_F32
#define FC_VEC_F32
#include "vec_avx512.h"
#include "gemm_kernels_impl.h"
#include "vec_undef.h"
#undef FC_VEC_F32
#undef T
#undef SFX
#undef NR
#define T double
#define SFX f64
#define NR FC_WIDE_NR_F64
#define FC_VEC_F64
#include "vec_avx512.h"
#include "gemm_kernels_impl.h"
#include "vec_undef.h"
#undef FC_VEC_F64
#undef T
#undef SFX
#undef NR
#undef MR
