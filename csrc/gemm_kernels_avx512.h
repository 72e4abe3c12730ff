/* AVX-512 micro-kernels: 14 x 32 float32 (14 x 16 float64) in 28 zmm accumulators, opmask
   edges. Included by gemm_kernels.c with the CPU's intrinsics (NAME avx512), and by
   gemm_kernels_avx512emu.c with SIMDe's emulation of them on AVX2 (a test-only level), which
   defines FC_LANE_MASKS (vec_avx512.h). Needs NAME and TARGET. */
#include <immintrin.h>

#define MR FC_WIDE_MR
#define NR_F32 FC_WIDE_NR_F32
#define NR_F64 FC_WIDE_NR_F64
#define FC_VEC_HEADER "vec_avx512.h"
#define FC_VEC_IMPL "gemm_kernels_impl.h"
#include "vec_types.h"
#undef FC_VEC_IMPL
#undef FC_VEC_HEADER
#undef MR
#undef NR_F32
#undef NR_F64
