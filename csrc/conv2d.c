#include "conv2d.h"

#include "gemm.h"

#ifdef _OPENMP
#include <omp.h>
#endif

#define T float
#define SFX f32
#define NR FC_NR_F32
#include "conv2d_impl.h"
#undef T
#undef SFX
#undef NR

#define T double
#define SFX f64
#define NR FC_NR_F64
#include "conv2d_impl.h"
#undef T
#undef SFX
#undef NR
