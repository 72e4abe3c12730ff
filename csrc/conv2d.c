/* conv2d entry points: each dispatches to the drivers of the tile geometry in use (gemm.h), the
   drivers being instantiated once per (type, geometry) from conv2d_impl.h. */
#include "conv2d.h"

#include <stdint.h>
#include <string.h>

#include "activation.h"
#include "conv2d_depthwise.h"
#include "gemm.h"
#include "isa_variants.h"
#include "pool_rule.h"
#include "stream_store.h"
#include "winograd.h"

#ifdef _OPENMP
#include <omp.h>
#endif

/* The direct weight gradient sums output rows in blocks of FC_DIRECT_ROWS before they
   join a running total (a two-level sum whose rounding error grows with the block and the block
   count, not with N*OH*OW), and the blocks in at most FC_DIRECT_SEGMENTS runs that threads share,
   added in order at the end. */
#define FC_DIRECT_ROWS 16
#define FC_DIRECT_SEGMENTS 8

/* The direct kernels, once per type and ISA level (conv2d_direct_variants.h), then their
   dispatchers. */
#define T float
#define SFX f32
#define NR_NARROW FC_NARROW_NR_F32
#define NR_WIDE FC_WIDE_NR_F32
#define FC_VEC_F32
#include "conv2d_direct_variants.h"
#undef FC_VEC_F32
#undef NR_NARROW
#undef NR_WIDE
#undef T
#undef SFX

#define T double
#define SFX f64
#define NR_NARROW FC_NARROW_NR_F64
#define NR_WIDE FC_WIDE_NR_F64
#define FC_VEC_F64
#include "conv2d_direct_variants.h"
#undef FC_VEC_F64
#undef NR_NARROW
#undef NR_WIDE
#undef T
#undef SFX

#define DIRECT_WEIGHT_DISPATCH(T, TSFX)                                                            \
    static void direct_backward_weight_##TSFX(T *dweight, T *dbias, const T *xpad, const T *dout,  \
                                              const T *act, const fc_conv2d_dims *d, int64_t Hp,   \
                                              int64_t Wp, int64_t segments, T *partials,           \
                                              T *pooled_rows, int nthreads) {                      \
        DIRECT_WEIGHT_X86(TSFX)                                                                    \
        direct_backward_weight_##TSFX##_generic(dweight, dbias, xpad, dout, act, d, Hp, Wp,        \
                                                segments, partials, pooled_rows, nthreads);        \
    }
#ifdef FC_HAVE_X86
#define DIRECT_WEIGHT_X86(TSFX)                                                                    \
    switch (fc_loop_isa()) {                                                                       \
    case FC_ISA_AVX2:                                                                              \
        direct_backward_weight_##TSFX##_avx2(dweight, dbias, xpad, dout, act, d, Hp, Wp, segments, \
                                             partials, pooled_rows, nthreads);                     \
        return;                                                                                    \
    case FC_ISA_AVX512:                                                                            \
        direct_backward_weight_##TSFX##_avx512(dweight, dbias, xpad, dout, act, d, Hp, Wp,         \
                                               segments, partials, pooled_rows, nthreads);         \
        return;                                                                                    \
    default:                                                                                       \
        break;                                                                                     \
    }
#else
#define DIRECT_WEIGHT_X86(TSFX)
#endif
DIRECT_WEIGHT_DISPATCH(float, f32)
DIRECT_WEIGHT_DISPATCH(double, f64)
#undef DIRECT_WEIGHT_DISPATCH
#undef DIRECT_WEIGHT_X86

#define FIRST_LAYER_DISPATCH(T, TSFX)                                                              \
    static void first_layer_forward_##TSFX(T *out, T *pooled, T *rows, T *packed, const T *xpad, \
                                           const T *weight, const T *bias,                         \
                                           const fc_conv2d_dims *d, int64_t Hp, int64_t Wp,        \
                                           int relu, int nthreads) {                               \
        FIRST_LAYER_X86(TSFX)                                                                      \
        first_layer_forward_##TSFX##_generic(out, pooled, rows, packed, xpad, weight, bias, d, Hp, \
                                             Wp, relu, nthreads);                                  \
    }
#ifdef FC_HAVE_X86
#define FIRST_LAYER_X86(TSFX)                                                                      \
    switch (fc_loop_isa()) {                                                                       \
    case FC_ISA_AVX2:                                                                              \
        first_layer_forward_##TSFX##_avx2(out, pooled, rows, packed, xpad, weight, bias, d, Hp,    \
                                          Wp, relu, nthreads);                                     \
        return;                                                                                    \
    case FC_ISA_AVX512:                                                                            \
        first_layer_forward_##TSFX##_avx512(out, pooled, rows, packed, xpad, weight, bias, d, Hp,  \
                                            Wp, relu, nthreads);                                   \
        return;                                                                                    \
    default:                                                                                       \
        break;                                                                                     \
    }
#else
#define FIRST_LAYER_X86(TSFX)
#endif
FIRST_LAYER_DISPATCH(float, f32)
FIRST_LAYER_DISPATCH(double, f64)
#undef FIRST_LAYER_DISPATCH
#undef FIRST_LAYER_X86

static int winograd_on = 1;

void conv2d_set_winograd(int enabled) { winograd_on = enabled != 0; }

static int winograd_enabled(void) { return winograd_on; }

/* The drivers, per type and geometry. */
#define FC_GEOMETRY_IMPL "conv2d_impl.h"
#include "geometries.h"
#undef FC_GEOMETRY_IMPL

const char *conv2d_forward_kernel(const fc_conv2d_dims *d) {
    if (conv2d_depthwise_applies(d)) return "depthwise";
    if (is_first_layer_f32_wide(d)) return "first_layer";
    return winograd_applies_f32_wide(d) ? "winograd" : "gemm";
}

const char *conv2d_backward_input_kernel(const fc_conv2d_dims *d) {
    if (conv2d_depthwise_applies(d)) return "depthwise";
    if (!rotated_input_gradient_f32_wide(d)) return "col2im";
    const fc_conv2d_dims r = rotated_dims_f32_wide(d);
    return winograd_applies_f32_wide(&r) ? "rotated_winograd" : "rotated_gemm";
}

const char *conv2d_backward_weight_kernel(const fc_conv2d_dims *d) {
    if (conv2d_depthwise_applies(d)) return "depthwise";
    if (direct_weight_applies_f32_wide(d)) return "direct";
    if (winograd_applies_f32_wide(d)) return "winograd";
    /* the tile width decides (a multiple of it in channels): name the kernel set in use */
    const int in_place = fc_gemm_geometry() == FC_GEOMETRY_WIDE
                             ? in_place_weight_gradient_f32_wide(d)
                             : in_place_weight_gradient_f32_narrow(d);
    return in_place ? "in_place" : "packed";
}

/* Public entry points: one input channel per group (or a few) takes the direct depthwise
   kernels (conv2d_depthwise.h); otherwise the geometry in use picks the instantiation. */
#define WIDE (fc_gemm_geometry() == FC_GEOMETRY_WIDE)
#define DISPATCH(T, TSFX)                                                                          \
    int conv2d_forward_workspace_size_##TSFX(const fc_conv2d_dims *d, int nthreads,               \
                                             size_t *elements) {                                   \
        if (conv2d_depthwise_applies(d))                                                           \
            return conv2d_depthwise_forward_workspace_size_##TSFX(d, nthreads, elements);          \
        return WIDE ? conv2d_forward_workspace_size_##TSFX##_wide(d, nthreads, elements)           \
                    : conv2d_forward_workspace_size_##TSFX##_narrow(d, nthreads, elements);        \
    }                                                                                              \
    int conv2d_backward_input_workspace_size_##TSFX(const fc_conv2d_dims *d, int nthreads,        \
                                                    size_t *elements) {                            \
        if (conv2d_depthwise_applies(d))                                                           \
            return conv2d_depthwise_backward_input_workspace_size_##TSFX(d, nthreads, elements);   \
        return WIDE ? conv2d_backward_input_workspace_size_##TSFX##_wide(d, nthreads, elements)    \
                    : conv2d_backward_input_workspace_size_##TSFX##_narrow(d, nthreads, elements); \
    }                                                                                              \
    int conv2d_backward_weight_workspace_size_##TSFX(const fc_conv2d_dims *d, int nthreads,       \
                                                     size_t *elements) {                           \
        if (conv2d_depthwise_applies(d))                                                           \
            return conv2d_depthwise_backward_weight_workspace_size_##TSFX(d, nthreads, elements);  \
        return WIDE ? conv2d_backward_weight_workspace_size_##TSFX##_wide(d, nthreads, elements)   \
                    : conv2d_backward_weight_workspace_size_##TSFX##_narrow(d, nthreads,          \
                                                                            elements);             \
    }                                                                                              \
    void conv2d_forward_##TSFX(T *out, const T *inp, const T *weight, const T *bias,               \
                               const fc_conv2d_dims *d, int relu, T *workspace, int nthreads) {    \
        if (conv2d_depthwise_applies(d))                                                           \
            conv2d_depthwise_forward_##TSFX(out, inp, weight, bias, d, relu, workspace, nthreads); \
        else                                                                                       \
            (WIDE ? conv2d_forward_##TSFX##_wide : conv2d_forward_##TSFX##_narrow)(                \
                out, inp, weight, bias, d, relu, workspace, nthreads);                             \
    }                                                                                              \
    void conv2d_backward_input_##TSFX(T *dinp, const T *dout, const T *weight,                     \
                                      const T *relu_mask, const fc_conv2d_dims *d, T *workspace,   \
                                      int nthreads) {                                              \
        if (conv2d_depthwise_applies(d)) {                                                         \
            conv2d_depthwise_backward_input_##TSFX(dinp, dout, weight, d, workspace, nthreads);    \
            if (relu_mask) /* a pass of its own here */                                            \
                relu_backward_##TSFX(dinp, dinp, relu_mask, d->N * d->H * d->W * d->C, nthreads);  \
        } else {                                                                                   \
            (WIDE ? conv2d_backward_input_##TSFX##_wide : conv2d_backward_input_##TSFX##_narrow)(  \
                dinp, dout, weight, relu_mask, d, workspace, nthreads);                            \
        }                                                                                          \
    }                                                                                              \
    void conv2d_backward_weight_##TSFX(T *dweight, T *dbias, const T *dout, const T *inp,          \
                                       const fc_conv2d_dims *d, T *workspace, int nthreads) {      \
        if (conv2d_depthwise_applies(d))                                                           \
            conv2d_depthwise_backward_weight_##TSFX(dweight, dbias, dout, inp, d, workspace,       \
                                                    nthreads);                                     \
        else                                                                                       \
            (WIDE ? conv2d_backward_weight_##TSFX##_wide                                           \
                  : conv2d_backward_weight_##TSFX##_narrow)(dweight, dbias, dout, inp, d,          \
                                                            workspace, nthreads);                  \
    }
DISPATCH(float, f32)
DISPATCH(double, f64)
#undef DISPATCH

int conv2d_forward_pooled_applies(const fc_conv2d_dims *d) {
    return !conv2d_depthwise_applies(d) && pooled_forward_applies_f32_wide(d);
}

int conv2d_backward_weight_pooled_applies(const fc_conv2d_dims *d) {
    return direct_weight_applies_f32_wide(d) && d->OH >= 2 && d->OW >= 2;
}

#define POOLED_DISPATCH(T, TSFX)                                                                   \
    int conv2d_backward_weight_pooled_workspace_size_##TSFX(const fc_conv2d_dims *d,              \
                                                            int nthreads, size_t *elements) {     \
        return (WIDE ? conv2d_backward_weight_pooled_workspace_size_##TSFX##_wide                  \
                     : conv2d_backward_weight_pooled_workspace_size_##TSFX##_narrow)(d, nthreads,  \
                                                                                     elements);    \
    }                                                                                              \
    int conv2d_forward_pooled_workspace_size_##TSFX(const fc_conv2d_dims *d, int nthreads,        \
                                                    size_t *elements) {                            \
        return (WIDE ? conv2d_forward_pooled_workspace_size_##TSFX##_wide                          \
                     : conv2d_forward_pooled_workspace_size_##TSFX##_narrow)(d, nthreads,          \
                                                                             elements);            \
    }                                                                                              \
    int conv2d_forward_pooled_##TSFX(T *pooled, const T *inp, const T *weight, const T *bias,      \
                                     const fc_conv2d_dims *d, int relu, T *workspace,              \
                                     int nthreads) {                                               \
        if (conv2d_depthwise_applies(d)) return 0;                                                 \
        return (WIDE ? conv2d_forward_pooled_##TSFX##_wide                                         \
                     : conv2d_forward_pooled_##TSFX##_narrow)(pooled, inp, weight, bias, d, relu,  \
                                                              workspace, nthreads);                \
    }                                                                                              \
    void conv2d_backward_weight_pooled_##TSFX(T *dweight, T *dbias, const T *dpool, const T *act,  \
                                              const T *inp, const fc_conv2d_dims *d,               \
                                              T *workspace, int nthreads) {                        \
        (WIDE ? conv2d_backward_weight_pooled_##TSFX##_wide                                        \
              : conv2d_backward_weight_pooled_##TSFX##_narrow)(dweight, dbias, dpool, act, inp, d, \
                                                               workspace, nthreads);               \
    }
POOLED_DISPATCH(float, f32)
POOLED_DISPATCH(double, f64)
#undef POOLED_DISPATCH
#undef WIDE
