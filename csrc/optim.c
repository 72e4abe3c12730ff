#include "optim.h"

#include <math.h>

#include "isa_variants.h"

/* Below this many elements a thread team costs more than it saves. */
#define PARALLEL_MIN 65536
/* Elements per task: the per-ISA loop runs inside the parallel region, not around it (an OpenMP
   region outlined from a target-attributed function would lose the attribute). */
#define CHUNK 16384

#define ADAM(T, SFX, SQRT)                                                                         \
    FC_INLINE void adam_update_##SFX##_body(T *var, T *m, T *v, const T *grad, int64_t n, T a,     \
                                            T b1, T b2, T eps) {                                   \
        for (int64_t i = 0; i < n; i++) {                                                          \
            const T g = grad[i];                                                                   \
            m[i] += (g - m[i]) * b1;                                                               \
            v[i] += (g * g - v[i]) * b2;                                                           \
            var[i] -= a * m[i] / (SQRT(v[i]) + eps);                                               \
        }                                                                                          \
    }                                                                                              \
    FC_ISA_VARIANTS(adam_update_##SFX,                                                             \
                    (T * var, T * m, T * v, const T *grad, int64_t n, T a, T b1, T b2, T eps),     \
                    (var, m, v, grad, n, a, b1, b2, eps))                                          \
    void adam_update_##SFX(T *var, T *m, T *v, const T *grad, int64_t n, double alpha,             \
                           double beta_1, double beta_2, double epsilon, int nthreads) {           \
        void (*chunk)(T *, T *, T *, const T *, int64_t, T, T, T, T) =                             \
            FC_ISA_PICK(adam_update_##SFX);                                                        \
        const T b1 = (T)(1.0 - beta_1), b2 = (T)(1.0 - beta_2), a = (T)alpha, eps = (T)epsilon;   \
        (void)nthreads;                                                                            \
        _Pragma("omp parallel num_threads(nthreads) if (n >= PARALLEL_MIN)") {                    \
            const fc_fp_state fp = fc_fp_fast();                                                   \
            _Pragma("omp for schedule(static)")                                                    \
            for (int64_t i0 = 0; i0 < n; i0 += CHUNK)                                              \
                chunk(var + i0, m + i0, v + i0, grad + i0, n - i0 < CHUNK ? n - i0 : CHUNK, a, b1, \
                      b2, eps);                                                                    \
            fc_fp_restore(fp);                                                                     \
        }                                                                                          \
    }

ADAM(float, f32, sqrtf)
ADAM(double, f64, sqrt)
