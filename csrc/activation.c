#include "activation.h"

/* Below this many elements a thread team costs more than it saves. */
#define PARALLEL_MIN 262144

/* dout[i] is loaded unconditionally: a conditional load cannot be if-converted, and the
 * branchy loop that results mispredicts on every other element of real activations. */
#define RELU_BACKWARD_BODY(T)                                                                      \
    (void)nthreads;                                                                                \
    _Pragma("omp parallel for schedule(static) num_threads(nthreads) if (n >= PARALLEL_MIN)")     \
    for (int64_t i = 0; i < n; i++) {                                                              \
        const T grad = dout[i];                                                                    \
        dinp[i] = out[i] > 0 ? grad : (T)0;                                                        \
    }

void relu_backward_f32(float *dinp, const float *dout, const float *out, int64_t n, int nthreads) {
    RELU_BACKWARD_BODY(float)
}

void relu_backward_f64(double *dinp, const double *dout, const double *out, int64_t n,
                       int nthreads) {
    RELU_BACKWARD_BODY(double)
}
