/* 2-D max and average pooling, channels-last (NHWC), float32 and float64.

   Tensors (all C-contiguous):
     inp / dinp   (N, H, W, C)
     out / dout   (N, OH, OW, C)
   Window (oh, ow) covers input rows [oh*SH - PT, oh*SH - PT + KH) and columns
   [ow*SW - PL, ow*SW - PL + KW), clipped to the input; bottom/right padding is implied by OH/OW.
   Padded cells never win a max and are not counted in an average (TensorFlow semantics):
     max:  out = max of the window's real cells; a window holding a NaN outputs NaN.
           Backward sends each window's gradient to its first maximal cell in row-major window
           order (the first NaN, if any), accumulating where windows overlap.
     avg:  out = sum of the window's real cells / their count.
           Backward adds dout / count to every real cell of the window.
   reference: tf.nn.max_pool2d / tf.nn.avg_pool2d and their gradients.

   Callers validate: all sizes >= 1, nthreads >= 1, and every window holds at least one real
   cell (a window entirely in padding would output 0 and pass no gradient).
   Results do not depend on nthreads. Backward kernels write dinp (they do not accumulate
   into it). */
#ifndef FASTCONV_POOL2D_H
#define FASTCONV_POOL2D_H

#include <stdint.h>

#define FC_POOL2D_DECLARE(T, SFX)                                                                  \
    void max_pool2d_forward_##SFX(T *out, const T *inp, int64_t N, int64_t H, int64_t W,           \
                                  int64_t C, int64_t OH, int64_t OW, int64_t KH, int64_t KW,       \
                                  int64_t SH, int64_t SW, int64_t PT, int64_t PL, int nthreads);   \
    /* relu != 0: inp is a ReLU's output and dinp its input's gradient, i.e. a window passes    \
       its gradient only when its max is > 0 (relu_backward fused in). */                         \
    void max_pool2d_backward_##SFX(T *dinp, const T *dout, const T *inp, int64_t N, int64_t H,     \
                                   int64_t W, int64_t C, int64_t OH, int64_t OW, int64_t KH,       \
                                   int64_t KW, int64_t SH, int64_t SW, int64_t PT, int64_t PL,     \
                                   int relu, int nthreads);                                        \
    void avg_pool2d_forward_##SFX(T *out, const T *inp, int64_t N, int64_t H, int64_t W,           \
                                  int64_t C, int64_t OH, int64_t OW, int64_t KH, int64_t KW,       \
                                  int64_t SH, int64_t SW, int64_t PT, int64_t PL, int nthreads);   \
    void avg_pool2d_backward_##SFX(T *dinp, const T *dout, int64_t N, int64_t H, int64_t W,        \
                                   int64_t C, int64_t OH, int64_t OW, int64_t KH, int64_t KW,      \
                                   int64_t SH, int64_t SW, int64_t PT, int64_t PL, int nthreads);  \
    /* Plain loop twins: the in-C oracle for tests. Same contracts, single-threaded. */            \
    void max_pool2d_forward_naive_##SFX(T *out, const T *inp, int64_t N, int64_t H, int64_t W,     \
                                        int64_t C, int64_t OH, int64_t OW, int64_t KH,             \
                                        int64_t KW, int64_t SH, int64_t SW, int64_t PT,            \
                                        int64_t PL);                                               \
    void max_pool2d_backward_naive_##SFX(T *dinp, const T *dout, const T *inp, int64_t N,          \
                                         int64_t H, int64_t W, int64_t C, int64_t OH, int64_t OW,  \
                                         int64_t KH, int64_t KW, int64_t SH, int64_t SW,           \
                                         int64_t PT, int64_t PL);                                  \
    void avg_pool2d_forward_naive_##SFX(T *out, const T *inp, int64_t N, int64_t H, int64_t W,     \
                                        int64_t C, int64_t OH, int64_t OW, int64_t KH,             \
                                        int64_t KW, int64_t SH, int64_t SW, int64_t PT,            \
                                        int64_t PL);                                               \
    void avg_pool2d_backward_naive_##SFX(T *dinp, const T *dout, int64_t N, int64_t H, int64_t W,  \
                                         int64_t C, int64_t OH, int64_t OW, int64_t KH,            \
                                         int64_t KW, int64_t SH, int64_t SW, int64_t PT,           \
                                         int64_t PL);

FC_POOL2D_DECLARE(float, f32)
FC_POOL2D_DECLARE(double, f64)

/* The ISA level the fast kernels run (cpu.h: "avx512", "avx2", "neon", "generic"). */
const char *pool2d_simd_level(void);

#endif
