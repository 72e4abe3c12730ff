#include "activation.h"

#include "isa_variants.h"

/* Below this many elements a thread team costs more than it saves. */
#define PARALLEL_MIN 262144
/* Elements per task: the per-ISA loop runs inside the parallel region, not around it (an OpenMP
   region outlined from a target-attributed function would lose the attribute). */
#define CHUNK 16384

/* dout[i] is loaded unconditionally: a conditional load cannot be if-converted, and the
 * branchy loop that results mispredicts on every other element of real activations. */
#define RELU_BACKWARD(T, SFX)                                                                      \
    FC_INLINE void relu_backward_##SFX##_body(T *dinp, const T *dout, const T *out, int64_t n) {   \
        for (int64_t i = 0; i < n; i++) {                                                          \
            const T grad = dout[i];                                                                \
            dinp[i] = out[i] > 0 ? grad : (T)0;                                                    \
        }                                                                                          \
    }                                                                                              \
    FC_ISA_VARIANTS(relu_backward_##SFX, (T * dinp, const T *dout, const T *out, int64_t n),       \
                    (dinp, dout, out, n))                                                          \
    void relu_backward_##SFX(T *dinp, const T *dout, const T *out, int64_t n, int nthreads) {      \
        void (*chunk)(T *, const T *, const T *, int64_t) = FC_ISA_PICK(relu_backward_##SFX);     \
        (void)nthreads;                                                                            \
        _Pragma("omp parallel for schedule(static) num_threads(nthreads) if (n >= PARALLEL_MIN)") \
        for (int64_t i0 = 0; i0 < n; i0 += CHUNK)                                                  \
            chunk(dinp + i0, dout + i0, out + i0, n - i0 < CHUNK ? n - i0 : CHUNK);                \
    }                                                                                              \
    void relu_backward_rows_##SFX(T *dinp, const T *dout, const T *out, int64_t rows,              \
                                  int64_t cols, int64_t ld) {                                      \
        void (*row)(T *, const T *, const T *, int64_t) = FC_ISA_PICK(relu_backward_##SFX);       \
        for (int64_t r = 0; r < rows; r++) row(dinp + r * ld, dout + r * ld, out + r * ld, cols);  \
    }

RELU_BACKWARD(float, f32)
RELU_BACKWARD(double, f64)
