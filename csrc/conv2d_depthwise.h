/* Direct depthwise conv2d kernels: each group has one input channel (C / G == 1) and M = OC / G
   output channels (the depth multiplier), any kernel size, stride, dilation and padding.
   Output channel f = c * M + m reads input channel c alone, so a convolution is KH*KW
   multiply-adds per output element along the contiguous channel axis: no GEMM, no packing.

   Tensors, geometry and contracts are those of conv2d.h (NHWC, weight (KH, KW, 1, OC), out[n, oh,
   ow, f] = bias[f] + sum_{kh, kw} inp[n, oh*SH - PT + kh*DH, ow*SW - PL + kw*DW, f / M] *
   weight[kh, kw, 0, f]). Forward writes out; backward input writes dinp; backward weight writes
   dweight and, when not NULL, dbias. Results do not depend on nthreads, and the avx2 and avx512
   kernels give bit-identical results (same FMA sums in the same order). Callers validate and own
   a workspace of the size the matching *_workspace_size function gives (elements of the type);
   those return 0 when the size overflows size_t. */
#ifndef FASTCONV_CONV2D_DEPTHWISE_H
#define FASTCONV_CONV2D_DEPTHWISE_H

#include "conv2d.h"

/* Whether these kernels cover the geometry: one input channel per group, more than one group
   (a single input channel, G == 1, has its own faster GEMM path in conv2d.c). */
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
