/* The direct conv2d kernels of one type for every ISA level: the first-layer weight gradient
   (conv2d_direct_impl.h), the first-layer forward pass (conv2d_first_layer_impl.h), and the plain
   twins (conv2d_naive_impl.h). Included by conv2d.c once per type with T, SFX, NR_NARROW, NR_WIDE
   and FC_VEC_F32 or FC_VEC_F64 (for vec_*.h) defined. */
/* TAPS: the weight gradient's taps in registers at once, 2 vectors each (with the bias's 2, the
   loaded dout and a broadcast): 5 fill AVX2's 16 registers, 9 (a 3x3 kernel) AVX-512's 32. */
#define ISA generic
#define TARGET
#define NR NR_NARROW
#define TAPS 3
#include "conv2d_direct_impl.h"
#undef ISA
#undef TARGET
#undef NR
#undef TAPS
#ifdef FC_HAVE_X86
#define ISA avx2
#define TARGET FC_TARGET_AVX2
#define NR NR_NARROW
#define TAPS 5
#include "conv2d_direct_impl.h"
#undef ISA
#undef TARGET
#undef NR
#undef TAPS
#define ISA avx512
#define TARGET FC_TARGET_AVX512
#define NR NR_WIDE
#define TAPS 9
#include "conv2d_direct_impl.h"
#undef ISA
#undef TARGET
#undef NR
#undef TAPS
#endif
#include "conv2d_naive_impl.h"
#define NAME generic
#define TARGET
#include "conv2d_first_layer_impl.h"
#undef NAME
#undef TARGET
#ifdef FC_HAVE_X86
#define NAME avx2
#define TARGET FC_TARGET_AVX2
#include "vec_avx2.h"
#include "conv2d_first_layer_impl.h"
#include "vec_undef.h"
#undef NAME
#undef TARGET
#define NAME avx512
#define TARGET FC_TARGET_AVX512
#include "vec_avx512.h"
#include "conv2d_first_layer_impl.h"
#include "vec_undef.h"
#undef NAME
#undef TARGET
#endif
