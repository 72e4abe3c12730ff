/* conv2d entry points: each dispatches to the drivers of the tile geometry in use (gemm.h), the
   drivers being instantiated once per (type, geometry) from conv2d_impl.h. */
#include "conv2d.h"

#include "gemm.h"
#include "isa_variants.h"

#ifdef _OPENMP
#include <omp.h>
#endif

/* The direct single-channel weight gradient, once per type and ISA level, then a dispatcher. */
#define T float
#define SFX f32
#define ISA generic
#define TARGET
#define NR FC_NARROW_NR_F32
#include "conv2d_direct_impl.h"
#undef ISA
#undef TARGET
#undef NR
#ifdef FC_HAVE_X86
#define ISA avx2
#define TARGET FC_TARGET_AVX2
#define NR FC_NARROW_NR_F32
#include "conv2d_direct_impl.h"
#undef ISA
#undef TARGET
#undef NR
#define ISA avx512
#define TARGET FC_TARGET_AVX512
#define NR FC_WIDE_NR_F32
#include "conv2d_direct_impl.h"
#undef ISA
#undef TARGET
#undef NR
#endif
#include "conv2d_naive_impl.h"
#undef T
#undef SFX

#define T double
#define SFX f64
#define ISA generic
#define TARGET
#define NR FC_NARROW_NR_F64
#include "conv2d_direct_impl.h"
#undef ISA
#undef TARGET
#undef NR
#ifdef FC_HAVE_X86
#define ISA avx2
#define TARGET FC_TARGET_AVX2
#define NR FC_NARROW_NR_F64
#include "conv2d_direct_impl.h"
#undef ISA
#undef TARGET
#undef NR
#define ISA avx512
#define TARGET FC_TARGET_AVX512
#define NR FC_WIDE_NR_F64
#include "conv2d_direct_impl.h"
#undef ISA
#undef TARGET
#undef NR
#endif
#include "conv2d_naive_impl.h"
#undef T
#undef SFX

#define DIRECT_C1_DISPATCH(T, TSFX)                                                                \
    static void direct_c1_backward_weight_##TSFX(T *dweight, const T *xpad, const T *dout,         \
                                                 const fc_conv2d_dims *d, int64_t Hp, int64_t Wp,  \
                                                 int nthreads) {                                   \
        DIRECT_C1_X86(TSFX)                                                                        \
        direct_c1_backward_weight_##TSFX##_generic(dweight, xpad, dout, d, Hp, Wp, nthreads);      \
    }
#ifdef FC_HAVE_X86
#define DIRECT_C1_X86(TSFX)                                                                        \
    switch (fc_loop_isa()) {                                                                       \
    case FC_ISA_AVX2:                                                                              \
        direct_c1_backward_weight_##TSFX##_avx2(dweight, xpad, dout, d, Hp, Wp, nthreads);         \
        return;                                                                                    \
    case FC_ISA_AVX512:                                                                            \
        direct_c1_backward_weight_##TSFX##_avx512(dweight, xpad, dout, d, Hp, Wp, nthreads);       \
        return;                                                                                    \
    default:                                                                                       \
        break;                                                                                     \
    }
#else
#define DIRECT_C1_X86(TSFX)
#endif
DIRECT_C1_DISPATCH(float, f32)
DIRECT_C1_DISPATCH(double, f64)
#undef DIRECT_C1_DISPATCH
#undef DIRECT_C1_X86

/* The drivers, per type and geometry. */
#define T float
#define TSFX f32
#define MR FC_NARROW_MR
#define NR FC_NARROW_NR_F32
#define MC FC_NARROW_MC
#define SFX f32_narrow
#include "conv2d_impl.h"
#undef MR
#undef NR
#undef MC
#undef SFX
#define MR FC_WIDE_MR
#define NR FC_WIDE_NR_F32
#define MC FC_WIDE_MC
#define SFX f32_wide
#include "conv2d_impl.h"
#undef T
#undef TSFX
#undef MR
#undef NR
#undef MC
#undef SFX

#define T double
#define TSFX f64
#define MR FC_NARROW_MR
#define NR FC_NARROW_NR_F64
#define MC FC_NARROW_MC
#define SFX f64_narrow
#include "conv2d_impl.h"
#undef MR
#undef NR
#undef MC
#undef SFX
#define MR FC_WIDE_MR
#define NR FC_WIDE_NR_F64
#define MC FC_WIDE_MC
#define SFX f64_wide
#include "conv2d_impl.h"
#undef T
#undef TSFX
#undef MR
#undef NR
#undef MC
#undef SFX

/* Public entry points: the geometry in use picks the instantiation. */
#define WIDE (fc_gemm_geometry() == FC_GEOMETRY_WIDE)
#define DISPATCH(T, TSFX)                                                                          \
    int conv2d_forward_workspace_size_##TSFX(const fc_conv2d_dims *d, int nthreads,               \
                                             size_t *elements) {                                   \
        return WIDE ? conv2d_forward_workspace_size_##TSFX##_wide(d, nthreads, elements)           \
                    : conv2d_forward_workspace_size_##TSFX##_narrow(d, nthreads, elements);        \
    }                                                                                              \
    int conv2d_backward_input_workspace_size_##TSFX(const fc_conv2d_dims *d, int nthreads,        \
                                                    size_t *elements) {                            \
        return WIDE ? conv2d_backward_input_workspace_size_##TSFX##_wide(d, nthreads, elements)    \
                    : conv2d_backward_input_workspace_size_##TSFX##_narrow(d, nthreads, elements); \
    }                                                                                              \
    int conv2d_backward_weight_workspace_size_##TSFX(const fc_conv2d_dims *d, int nthreads,       \
                                                     size_t *elements) {                           \
        return WIDE ? conv2d_backward_weight_workspace_size_##TSFX##_wide(d, nthreads, elements)   \
                    : conv2d_backward_weight_workspace_size_##TSFX##_narrow(d, nthreads,          \
                                                                            elements);             \
    }                                                                                              \
    void conv2d_forward_##TSFX(T *out, const T *inp, const T *weight, const T *bias,               \
                               const fc_conv2d_dims *d, int relu, T *workspace, int nthreads) {    \
        (WIDE ? conv2d_forward_##TSFX##_wide : conv2d_forward_##TSFX##_narrow)(                    \
            out, inp, weight, bias, d, relu, workspace, nthreads);                                 \
    }                                                                                              \
    void conv2d_backward_input_##TSFX(T *dinp, const T *dout, const T *weight,                     \
                                      const fc_conv2d_dims *d, T *workspace, int nthreads) {       \
        (WIDE ? conv2d_backward_input_##TSFX##_wide : conv2d_backward_input_##TSFX##_narrow)(      \
            dinp, dout, weight, d, workspace, nthreads);                                           \
    }                                                                                              \
    void conv2d_backward_weight_##TSFX(T *dweight, T *dbias, const T *dout, const T *inp,          \
                                       const fc_conv2d_dims *d, T *workspace, int nthreads) {      \
        (WIDE ? conv2d_backward_weight_##TSFX##_wide : conv2d_backward_weight_##TSFX##_narrow)(    \
            dweight, dbias, dout, inp, d, workspace, nthreads);                                    \
    }
DISPATCH(float, f32)
DISPATCH(double, f64)
#undef DISPATCH
#undef WIDE
