/* Element-wise activation gradients, one pass each. */
#ifndef FASTCONV_ACTIVATION_H
#define FASTCONV_ACTIVATION_H

#include <stdint.h>

/* dinp[i] = out[i] > 0 ? dout[i] : 0, where out = relu(inp) was the forward output. dinp may
   alias dout (in place). */
void relu_backward_f32(float *dinp, const float *dout, const float *out, int64_t n, int nthreads);
void relu_backward_f64(double *dinp, const double *dout, const double *out, int64_t n,
                       int nthreads);

/* The same on rows [0, rows) x columns [0, cols) of arrays with row stride ld, on the calling
   thread: for a block an op's own thread has just written (no thread team per call). */
void relu_backward_rows_f32(float *dinp, const float *dout, const float *out, int64_t rows,
                            int64_t cols, int64_t ld);
void relu_backward_rows_f64(double *dinp, const double *dout, const double *out, int64_t rows,
                            int64_t cols, int64_t ld);

#endif
