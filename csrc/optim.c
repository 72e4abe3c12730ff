#include "optim.h"

#include <math.h>

/* Below this many elements a thread team costs more than it saves. */
#define PARALLEL_MIN 65536

#define ADAM_BODY(T, SQRT)                                                                         \
    const T b1 = (T)(1.0 - beta_1), b2 = (T)(1.0 - beta_2), a = (T)alpha, eps = (T)epsilon;       \
    (void)nthreads;                                                                                \
    _Pragma("omp parallel for schedule(static) num_threads(nthreads) if (n >= PARALLEL_MIN)")     \
    for (int64_t i = 0; i < n; i++) {                                                              \
        const T g = grad[i];                                                                       \
        m[i] += (g - m[i]) * b1;                                                                   \
        v[i] += (g * g - v[i]) * b2;                                                               \
        var[i] -= a * m[i] / (SQRT(v[i]) + eps);                                                   \
    }

void adam_update_f32(float *var, float *m, float *v, const float *grad, int64_t n, double alpha,
                     double beta_1, double beta_2, double epsilon, int nthreads) {
    ADAM_BODY(float, sqrtf)
}

void adam_update_f64(double *var, double *m, double *v, const double *grad, int64_t n,
                     double alpha, double beta_1, double beta_2, double epsilon, int nthreads) {
    ADAM_BODY(double, sqrt)
}
