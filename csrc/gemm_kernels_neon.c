/* NEON micro-kernels, aarch64's baseline SIMD: the 6x16 float32 / 6x8 float64 tile of the AVX2
   kernels as four 128-bit vectors per row (24 accumulators of the 32 q registers), with the same
   k order, fused multiply-adds, bias start and ReLU, so their results are bit-identical with the
   AVX2 kernels and with the portable kernel built with FMA contraction.
   gemm_kernels_neonemu.c compiles this file a second time, on x86 through SIMDe, for the tests. */
#include "gemm.h"

/* gemm_kernels_neonemu.c names the kernels and provides the intrinsics before including us. */
#if defined(FC_HAVE_NEON) && !defined(FC_NEON_ISA)
#include <arm_neon.h>
#define FC_NEON_ISA neon
#endif

/* The indirect kernel reads row i's A value from its own pointer each k step. GCC hoists all six
   loads ahead of the FMAs, and six A registers with 24 accumulators and 4 B vectors need 34 of
   the 32: two accumulators then spill inside the loop (seen in the -O3 disassembly). A
   compiler-only barrier between rows 0-2 and 3-5 keeps the loop in registers. */
#if defined(__GNUC__) || defined(__clang__)
#define FC_SPLIT_LOADS() __asm__ volatile("" ::: "memory")
#else
#define FC_SPLIT_LOADS() ((void)0)
#endif

#ifdef FC_NEON_ISA
#define T float
#define SFX f32
#define NR FC_NR_F32
#define VT float32x4_t
#define VW 4
#define VZERO vdupq_n_f32(0.0f)
#define VLOAD vld1q_f32
#define VSTORE vst1q_f32
#define VFMA vfmaq_f32
#define VADD vaddq_f32
#define VLESS vcltq_f32
#define VSELECT vbslq_f32
#define VDUP vdupq_n_f32
#define LOAD_A const float32x4_t a03 = vld1q_f32(a); const float32x2_t a45 = vld1_f32(a + 4);
#define A_0 vdupq_laneq_f32(a03, 0)
#define A_1 vdupq_laneq_f32(a03, 1)
#define A_2 vdupq_laneq_f32(a03, 2)
#define A_3 vdupq_laneq_f32(a03, 3)
#define A_4 vdupq_lane_f32(a45, 0)
#define A_5 vdupq_lane_f32(a45, 1)
#include "gemm_kernels_neon_impl.h"
#undef T
#undef SFX
#undef NR
#undef VT
#undef VW
#undef VZERO
#undef VLOAD
#undef VSTORE
#undef VFMA
#undef VADD
#undef VLESS
#undef VSELECT
#undef VDUP
#undef LOAD_A
#undef A_0
#undef A_1
#undef A_2
#undef A_3
#undef A_4
#undef A_5

#define T double
#define SFX f64
#define NR FC_NR_F64
#define VT float64x2_t
#define VW 2
#define VZERO vdupq_n_f64(0.0)
#define VLOAD vld1q_f64
#define VSTORE vst1q_f64
#define VFMA vfmaq_f64
#define VADD vaddq_f64
#define VLESS vcltq_f64
#define VSELECT vbslq_f64
#define VDUP vdupq_n_f64
#define LOAD_A                                                                                     \
    const float64x2_t a01 = vld1q_f64(a), a23 = vld1q_f64(a + 2), a45 = vld1q_f64(a + 4);
#define A_0 vdupq_laneq_f64(a01, 0)
#define A_1 vdupq_laneq_f64(a01, 1)
#define A_2 vdupq_laneq_f64(a23, 0)
#define A_3 vdupq_laneq_f64(a23, 1)
#define A_4 vdupq_laneq_f64(a45, 0)
#define A_5 vdupq_laneq_f64(a45, 1)
#include "gemm_kernels_neon_impl.h"
#endif
