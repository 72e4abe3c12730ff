/* Direct conv2d kernels for depthwise convolutions and small groups: each group has Cg = C / G
   <= 4 input channels and Fg = OC / G output channels (for depthwise, Cg == 1 and Fg is the
   depth multiplier), any kernel size, stride, dilation and padding. Output channel f reads input
   channels (f / Fg) * Cg + [0, Cg), so in NHWC a convolution is KH*KW*Cg multiply-adds per output
   element along the contiguous channel axis: no GEMM, no packing.

   Tensors, geometry and contracts are those of conv2d.h (NHWC, weight (KH, KW, Cg, OC)). Forward
   writes out; backward input writes dinp; backward weight writes dweight and, when not NULL,
   dbias. Results do not depend on nthreads, and the avx2 and avx512 kernels give bit-identical
   results (same FMA sums in the same order). Callers validate and own a workspace of the size
   the matching *_workspace_size function gives (elements of the type); those return 0 when the
   size overflows size_t. */
#ifndef FASTCONV_CONV2D_DEPTHWISE_H
#define FASTCONV_CONV2D_DEPTHWISE_H

#include "conv2d.h"

/* Whether these kernels cover the geometry: more than one group, at most 4 input channels per
   group (a single group, G == 1, has its own faster paths in conv2d.c, even with one channel). */
int conv2d_depthwise_applies(const fc_conv2d_dims *d);

#define FC_CONV2D_DEPTHWISE_DECLARE(T, SFX)                                                        \
    int conv2d_depthwise_forward_workspace_size_##SFX(const fc_conv2d_dims *d, int nthreads,       \
                                                      size_t *elements);                           \
    int conv2d_depthwise_backward_input_workspace_size_##SFX(const fc_conv2d_dims *d, int nthreads,\
                                                             size_t *elements);                    \
    int conv2d_depthwise_backward_weight_workspace_size_##SFX(const fc_conv2d_dims *d,             \
                                                              int nthreads, size_t *elements);     \
    void conv2d_depthwise_forward_##SFX(T *out, const T *inp, const T *weight, const T *bias,      \
                                        const fc_conv2d_dims *d, int relu, T *workspace,           \
                                        int nthreads);                                             \
    void conv2d_depthwise_backward_input_##SFX(T *dinp, const T *dout, const T *weight,            \
                                               const fc_conv2d_dims *d, T *workspace,              \
                                               int nthreads);                                      \
    void conv2d_depthwise_backward_weight_##SFX(T *dweight, T *dbias, const T *dout, const T *inp, \
                                                const fc_conv2d_dims *d, T *workspace,             \
                                                int nthreads);

FC_CONV2D_DEPTHWISE_DECLARE(float, f32)
FC_CONV2D_DEPTHWISE_DECLARE(double, f64)

#endif
