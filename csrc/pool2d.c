#include "pool2d.h"

#include <stdlib.h>
#include <string.h>

#ifdef _OPENMP
#include <omp.h>
#endif

/* The fast kernels vectorize over the contiguous channel axis. Their bodies are written once, as
   plain loops gcc -O3 vectorizes, and compiled twice: for the baseline ISA and, on x86 with
   GCC/clang, for AVX2, chosen once at run time. */
#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
#define FC_POOL_AVX2 1
#define FC_TARGET_AVX2 __attribute__((target("avx2,fma")))
#else
#define FC_POOL_AVX2 0
#endif

#if defined(__GNUC__)
#define FC_INLINE static inline __attribute__((always_inline))
#define FC_RESTRICT __restrict__
#elif defined(_MSC_VER)
#define FC_INLINE static __forceinline
#define FC_RESTRICT __restrict
#else
#define FC_INLINE static inline
#define FC_RESTRICT
#endif

/* Channels handled per pass of the max backward kernel: its per-window scratch lives on the
   stack. */
#define FC_POOL_CHANNEL_BLOCK 128

/* Below this many window reads a call runs on one thread: waking the team costs more. */
#define FC_POOL_MIN_PARALLEL_WORK 32768

typedef struct {
    int64_t N, H, W, C, OH, OW, KH, KW, SH, SW, PT, PL;
} fc_pool_dims;

static int use_avx2(void) {
#if FC_POOL_AVX2
    /* A benign race: every thread computes the same value. */
    static int cached = -1;
    if (cached < 0) {
        const char *env = getenv("FASTCONV_ISA");
        __builtin_cpu_init();
        cached = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") &&
                 !(env != NULL && strcmp(env, "generic") == 0);
    }
    return cached;
#else
    return 0;
#endif
}

const char *pool2d_simd_level(void) { return use_avx2() ? "avx2" : "generic"; }

/* Real cells [*lo, *hi) of output index o's window along one axis. */
static void window_span(int64_t o, int64_t S, int64_t P, int64_t K, int64_t size, int64_t *lo,
                        int64_t *hi) {
    const int64_t start = o * S - P;
    *lo = start < 0 ? 0 : start;
    *hi = start + K < size ? start + K : size;
}

/* Output indices [*lo, *hi) whose windows cover input index i along one axis:
   o*S - P <= i < o*S - P + K. */
static void covering_windows(int64_t i, int64_t S, int64_t P, int64_t K, int64_t O, int64_t *lo,
                             int64_t *hi) {
    const int64_t before = i + P - K; /* the last start that just misses i */
    const int64_t last = (i + P) / S + 1;
    *lo = before < 0 ? 0 : before / S + 1;
    *hi = last < O ? last : O;
}

static inline int parallel_worth_it(const fc_pool_dims *d) {
    return d->N * d->OH * d->OW * d->C * d->KH * d->KW >= FC_POOL_MIN_PARALLEL_WORK;
}

#define FC_CAT_(a, b) a##_##b
#define FC_CAT(a, b) FC_CAT_(a, b)
#define FN(name) FC_CAT(name, SFX)

/* Compiles the always-inline body FN(name##_body) once per ISA; FC_POOL_PICK(name) is the
   variant this CPU runs. */
#if FC_POOL_AVX2
#define FC_POOL_VARIANTS(name, params, args)                                                       \
    static FC_TARGET_AVX2 void FN(name##_avx2) params { FN(name##_body) args; }                   \
    static void FN(name##_generic) params { FN(name##_body) args; }
#define FC_POOL_PICK(name) (use_avx2() ? FN(name##_avx2) : FN(name##_generic))
#else
#define FC_POOL_VARIANTS(name, params, args)                                                       \
    static void FN(name##_generic) params { FN(name##_body) args; }
#define FC_POOL_PICK(name) FN(name##_generic)
#endif

#define T float
#define SFX f32
#include "pool2d_impl.h"
#undef T
#undef SFX

#define T double
#define SFX f64
#include "pool2d_impl.h"
#undef T
#undef SFX
