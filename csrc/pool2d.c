#include "pool2d.h"

#include <string.h>

#include "isa_variants.h"
#include "pool_rule.h"


#ifdef _OPENMP
#include <omp.h>
#endif

#if defined(__GNUC__)
#define FC_RESTRICT __restrict__
#elif defined(_MSC_VER)
#define FC_RESTRICT __restrict
#else
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

/* The pooling kernels' bodies are plain loops over the contiguous channel axis that gcc -O3
   vectorizes, compiled once per ISA level (isa_variants.h). */
const char *pool2d_simd_level(void) { return fc_isa_name(fc_loop_isa()); }

/* Real cells [*lo, *hi) of output index o's window along one axis. */
static void window_span(int64_t o, int64_t S, int64_t P, int64_t K, int64_t size, int64_t *lo,
                        int64_t *hi) {
    const int64_t start = o * S - P;
    *lo = start < 0 ? 0 : start;
    *hi = start + K < size ? start + K : size;
}

/* Moves [*lo, *hi), the output indices whose windows cover an input index before i along one
   axis (or [0, 0)), to those covering i: o*S - P <= i < o*S - P + K. Stepped along a row, it
   costs no division per pixel (two cost more than a pixel's sums at 32 channels). */
static inline void advance_covering_windows(int64_t i, int64_t S, int64_t P, int64_t K, int64_t O,
                                            int64_t *lo, int64_t *hi) {
    while (*hi < O && *hi * S - P <= i) ++*hi;
    while (*lo < *hi && *lo * S - P + K <= i) ++*lo;
}

static inline int parallel_worth_it(const fc_pool_dims *d) {
    return d->N * d->OH * d->OW * d->C * d->KH * d->KW >= FC_POOL_MIN_PARALLEL_WORK;
}

#define FC_CAT_(a, b) a##_##b
#define FC_CAT(a, b) FC_CAT_(a, b)
#define FN(name) FC_CAT(name, SFX)

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
