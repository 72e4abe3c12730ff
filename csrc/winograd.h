/* The tile transforms of Winograd's F(2x2, 3x3) convolution (the driver is
   conv2d_winograd_impl.h):
     Y = A^T [ (G g G^T) . (B^T d B) ] A
   for a 4x4 input tile d, a 3x3 filter g and a 2x2 output tile Y, with
     B^T = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1]   G = [1 0 0; 1/2 1/2 1/2; 1/2 -1/2 1/2; 0 0 1]
     A^T = [1 1 1 0; 0 1 -1 -1].
   Each transform runs across n channels at once (the NHWC channel axis, contiguous), and its 16
   points are indexed xi = 4*row + column. B^T and A^T only add and subtract, and G's halves are
   exact scalings, so the transforms round the same at every SIMD level.
   reference: Lavin & Gray, "Fast Algorithms for Convolutional Neural Networks" (CVPR 2016). */
#ifndef FASTCONV_WINOGRAD_H
#define FASTCONV_WINOGRAD_H

#include <stdint.h>

#define FC_WINOGRAD_POINTS 16

#define FC_WINOGRAD_DECLARE(T, SFX)                                                                \
    /* v[xi * vstride + c] = (B^T d B)[xi] for channels c < n, where cells[4*i + j] points at    \
       the n channels of tile cell (i, j) (padding: at n zeros). */                               \
    void winograd_input_tile_##SFX(T *v, int64_t vstride, const T *const *cells, int64_t n);    \
    /* u[xi * ustride + k] = (G g G^T)[xi] for k < n, where taps[3*i + j] points at the n         \
       values of filter tap (i, j). */                                                            \
    void winograd_filter_tile_##SFX(T *u, int64_t ustride, const T *const *taps, int64_t n);     \
    /* y[2*p + q][c] = epilogue((A^T M A)[p][q]) for c < n, from m[xi * mstride + c]; the         \
       epilogue adds bias (NULL: none), then clamps at zero (relu; NaN stays) or, with           \
       relu_mask, keeps the value where mask[2*p + q][c] > 0 and writes 0 elsewhere. Outputs      \
       past the image's edge have y NULL and are not written. With pooled (no mask; the tile is   \
       a 2 x 2 max pool's window), only the max of the four is written, at pooled[c]. */          \
    void winograd_output_tile_##SFX(T *const *y, const T *m, int64_t mstride, int64_t n,          \
                                    const T *bias, int relu, const T *const *mask, T *pooled);    \
    /* The weight gradient's transforms, dW = G^T [ sum over tiles (B^T d B) . (A dY A^T) ] G    \
       (the adjoint of the forward formula in g):                                                 \
       z[xi * zstride + k] = (A dY A^T)[xi] for k < n, where dy[2*p + q] points at the n values   \
       of output (p, q) of the tile (past the image's edge: at n zeros); */                      \
    void winograd_dout_tile_##SFX(T *z, int64_t zstride, const T *const *dy, int64_t n);         \
    /* w[(3*i + j) * wstride + k] = (G^T S G)[i][j] for k < n, from s[xi * sstride + k]. */       \
    void winograd_weight_tile_##SFX(T *w, int64_t wstride, const T *s, int64_t sstride,          \
                                    int64_t n);

FC_WINOGRAD_DECLARE(float, f32)
FC_WINOGRAD_DECLARE(double, f64)
#undef FC_WINOGRAD_DECLARE

#endif
