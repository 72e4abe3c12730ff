#include "conv2d.h"

#include "gemm.h"

#ifdef _OPENMP
#include <omp.h>
#endif

/* Direct single-channel kernels, once per type and ISA. */
#define T float
#define SFX f32
#define NR FC_NR_F32
#define ISA generic
#define TARGET
#include "conv2d_direct_impl.h"
#undef ISA
#undef TARGET
#ifdef FC_HAVE_X86
#define ISA avx2
#define TARGET FC_TARGET_AVX2
#include "conv2d_direct_impl.h"
#undef ISA
#undef TARGET
#endif
#include "conv2d_impl.h"
#undef T
#undef SFX
#undef NR

#define T double
#define SFX f64
#define NR FC_NR_F64
#define ISA generic
#define TARGET
#include "conv2d_direct_impl.h"
#undef ISA
#undef TARGET
#ifdef FC_HAVE_X86
#define ISA avx2
#define TARGET FC_TARGET_AVX2
#include "conv2d_direct_impl.h"
#undef ISA
#undef TARGET
#endif
#include "conv2d_impl.h"
#undef T
#undef SFX
#undef NR
