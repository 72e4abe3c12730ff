/* conv2d forward and backward, channels-last (NHWC), float32 and float64.

   Tensors (all C-contiguous):
     inp / dinp      (N, H, W, C)
     out / dout      (N, OH, OW, OC)
     weight/dweight  (KH, KW, C / G, OC)   -- Keras layout; group g owns output channels
                                              [g*OC/G, (g+1)*OC/G) and input channels
                                              [g*C/G, (g+1)*C/G)
     bias / dbias    (OC)
   out[n, oh, ow, f] = bias[f] + sum_{kh, kw, c} inp[n, oh*SH - PT + kh*DH, ow*SW - PL + kw*DW,
                                                  g*C/G + c] * weight[kh, kw, c, f]
   with cells outside the input reading as zero; bottom/right padding is implied by OH/OW.

   The fast kernels are implicit GEMMs over packed panels (gemm.h): the im2col matrix is never
   built; it is gathered straight into packed panels, one cache-sized block at a time.
   They need a caller-owned workspace of the size the matching *_workspace_size function gives.
   Callers validate; kernels assume C % G == 0, OC % G == 0, all sizes >= 1 and consistent. */
#ifndef FASTCONV_CONV2D_H
#define FASTCONV_CONV2D_H

#include <stddef.h>
#include <stdint.h>

/* The geometry of one call, in one struct so the signatures stay readable. */
typedef struct {
    int64_t N, H, W, C;      /* input */
    int64_t OH, OW, OC;      /* output */
    int64_t KH, KW, G;       /* kernel window and groups */
    int64_t SH, SW, DH, DW;  /* strides and dilation */
    int64_t PT, PL;          /* padding on top and left */
} fc_conv2d_dims;

/* Workspace sizes in elements of the kernel's type. Return 0 when the size overflows size_t. */
int conv2d_forward_workspace_size_f32(const fc_conv2d_dims *d, int nthreads, size_t *elements);
int conv2d_forward_workspace_size_f64(const fc_conv2d_dims *d, int nthreads, size_t *elements);
int conv2d_backward_input_workspace_size_f32(const fc_conv2d_dims *d, int nthreads, size_t *elements);
int conv2d_backward_input_workspace_size_f64(const fc_conv2d_dims *d, int nthreads, size_t *elements);
int conv2d_backward_weight_workspace_size_f32(const fc_conv2d_dims *d, int nthreads, size_t *elements);
int conv2d_backward_weight_workspace_size_f64(const fc_conv2d_dims *d, int nthreads, size_t *elements);

/* Whether 3x3 stride-1 layers may take the Winograd kernels (default 1). The Python layer sets
   it from FASTCONV_WINOGRAD when the extension loads: with 0 they keep the GEMM kernels, whose
   infinities stay infinite where Winograd's transforms may make NaN
   (docs/threads-and-numerics.md). Workspaces are sized for either kernel, so a call running
   while the switch changes takes one or the other. */
void conv2d_set_winograd(int enabled);

/* The kernel each pass of d runs, for tests and benchmarks (the rule is the same for both types
   and every SIMD level): the forward pass "depthwise", "first_layer", "winograd" or "gemm"; the
   input gradient "depthwise", "rotated_winograd", "rotated_gemm" or "col2im"; the weight
   gradient "depthwise", "direct", "winograd", "in_place" or "packed". */
const char *conv2d_forward_kernel(const fc_conv2d_dims *d);
const char *conv2d_backward_input_kernel(const fc_conv2d_dims *d);
const char *conv2d_backward_weight_kernel(const fc_conv2d_dims *d);

#define FC_CONV2D_DECLARE(T, SFX)                                                                  \
    /* Writes out, or max(out, 0) when relu is nonzero (a NaN stays NaN). bias may be NULL. */    \
    void conv2d_forward_##SFX(T *out, const T *inp, const T *weight, const T *bias,                \
                              const fc_conv2d_dims *d, int relu, T *workspace, int nthreads);      \
    /* Writes dinp (gradient of the loss w.r.t. inp). With relu_mask (inp's shape: the outputs   \
       of the ReLU that produced inp), dinp is also taken through that ReLU (relu_backward's      \
       rule), as each block is written (a pass of its own for depthwise convs); NULL: no ReLU. */ \
    void conv2d_backward_input_##SFX(T *dinp, const T *dout, const T *weight,                      \
                                     const T *relu_mask, const fc_conv2d_dims *d, T *workspace,    \
                                     int nthreads);                                                \
    /* Writes dweight and, when not NULL, dbias. The reduction order over images and pixels is    \
       fixed, so results do not depend on nthreads. */                                             \
    void conv2d_backward_weight_##SFX(T *dweight, T *dbias, const T *dout, const T *inp,           \
                                      const fc_conv2d_dims *d, T *workspace, int nthreads);        \
    /* Plain loop twins: the in-C oracle for tests. Same contracts, no workspace. */              \
    void conv2d_forward_naive_##SFX(T *out, const T *inp, const T *weight, const T *bias,          \
                                    const fc_conv2d_dims *d, int relu);                            \
    void conv2d_backward_input_naive_##SFX(T *dinp, const T *dout, const T *weight,                \
                                           const fc_conv2d_dims *d);                               \
    void conv2d_backward_weight_naive_##SFX(T *dweight, T *dbias, const T *dout, const T *inp,     \
                                            const fc_conv2d_dims *d);

FC_CONV2D_DECLARE(float, f32)
FC_CONV2D_DECLARE(double, f64)

/* The forward pass of a conv into its 2 x 2, stride-2, valid max pool (inference: the conv's own
   output is never written): pooled (N, OH / 2, OW / 2, OC) gets the same bits as
   conv2d_forward (relu as there) followed by the pool, for the shapes _applies admits (first
   layers and Winograd's, OH, OW >= 2). Returns 0 without writing anything when d is not one
   (Winograd switched off since the caller asked). */
int conv2d_forward_pooled_applies(const fc_conv2d_dims *d);
int conv2d_forward_pooled_workspace_size_f32(const fc_conv2d_dims *d, int nthreads,
                                             size_t *elements);
int conv2d_forward_pooled_workspace_size_f64(const fc_conv2d_dims *d, int nthreads,
                                             size_t *elements);
int conv2d_forward_pooled_f32(float *pooled, const float *inp, const float *weight,
                              const float *bias, const fc_conv2d_dims *d, int relu,
                              float *workspace, int nthreads);
int conv2d_forward_pooled_f64(double *pooled, const double *inp, const double *weight,
                              const double *bias, const fc_conv2d_dims *d, int relu,
                              double *workspace, int nthreads);

/* The weight gradient of a conv whose ReLU output went through a 2 x 2, stride-2, valid max
   pool, taken from the pool's gradient: the same bits as max_pool2d_backward (with relu) into
   the conv output's gradient, then conv2d_backward_weight, without that gradient ever reaching
   memory (a pass that writes it and one that reads it back). For first layers (C <= 3, G == 1)
   with OH, OW >= 2: whether d is one is what _applies says.
     dpool (N, OH / 2, OW / 2, OC), act (N, OH, OW, OC): the pool's output gradient and input. */
int conv2d_backward_weight_pooled_applies(const fc_conv2d_dims *d);
int conv2d_backward_weight_pooled_workspace_size_f32(const fc_conv2d_dims *d, int nthreads,
                                                     size_t *elements);
int conv2d_backward_weight_pooled_workspace_size_f64(const fc_conv2d_dims *d, int nthreads,
                                                     size_t *elements);
void conv2d_backward_weight_pooled_f32(float *dweight, float *dbias, const float *dpool,
                                       const float *act, const float *inp,
                                       const fc_conv2d_dims *d, float *workspace, int nthreads);
void conv2d_backward_weight_pooled_f64(double *dweight, double *dbias, const double *dpool,
                                       const double *act, const double *inp,
                                       const fc_conv2d_dims *d, double *workspace, int nthreads);

#endif
