/* The library's C entry points (conv2d forward, input and weight gradients; gemm) on whatever
   machine runs this, with the kernels the CPU-feature detector picks: .ci/neon.sh builds it for
   aarch64 and runs it under qemu-user, the only run the aarch64 drivers get on an x86 machine.
   Fast paths against the float64 naive twins within rounding, and 1 vs 2 threads bit for bit;
   subnormals flushed to zero inside the kernels and kept outside them.
   Prints a digest of every fast-path result (equal digests from two machines or ISAs: the
   results are bit-identical), then "N passed, N failed". */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conv2d.h"
#include "cpu.h"
#include "gemm.h"

#define STR_(x) #x
#define STR(x) STR_(x)

static long passed, failed;

static void record(int ok, const char *what, const char *against, const char *why) {
    if (ok) {
        passed++;
        return;
    }
    failed++;
    if (failed <= 20) printf("FAIL %s vs %s: %s\n", what, against, why);
}

/* FNV-1a over the bytes of every result. */
static uint64_t results_digest = 0xCBF29CE484222325u;
static void digest(const void *data, size_t n) {
    for (size_t i = 0; i < n; i++)
        results_digest = (results_digest ^ ((const unsigned char *)data)[i]) * 0x100000001B3u;
}

/* xorshift64*: the same data on every platform and run. */
static uint64_t random_state = 0x9E3779B97F4A7C15u;
static double next_random(void) {
    random_state ^= random_state >> 12;
    random_state ^= random_state << 25;
    random_state ^= random_state >> 27;
    return (double)((random_state * 0x2545F4914F6CDD1Du) >> 11) / 9007199254740992.0;
}

/* A float64 copy of x, or of |x| when `absolute`: the magnitudes that bound the rounding. */
#define WIDEN(T)                                                                                   \
    static double *widen_##T(const T *x, size_t n, int absolute) {                                 \
        double *y = malloc(sizeof(double) * (n + 1));                                              \
        for (size_t i = 0; i < n; i++) y[i] = absolute ? fabs((double)x[i]) : (double)x[i];        \
        return y;                                                                                  \
    }
WIDEN(float)
WIDEN(double)
#define widen(x, n, absolute)                                                                      \
    _Generic((x), float *: widen_float, double *: widen_double)(x, n, absolute)

#define T float
#define SFX f32
#define EPS 0x1p-24
#define SUBNORMAL 0x1p-128f /* * SCALE: 2^-28 unless flushed */
#define SCALE 0x1p100f
#define TINY 0x1p-70f /* squared: 2^-140, subnormal */
#include "ops_check.h"
#undef T
#undef SFX
#undef EPS
#undef SUBNORMAL
#undef SCALE
#undef TINY

#define T double
#define SFX f64
#define EPS 0x1p-53
#define SUBNORMAL 0x1p-1024 /* * SCALE: 2^-424 unless flushed */
#define SCALE 0x1p600
#define TINY 0x1p-520 /* squared: 2^-1040, subnormal */
#include "ops_check.h"

/* Shapes that cross the tile, panel (KC = 256) and block (MC) edges, and every conv path:
   first layers, single channel, groups, depthwise, dilation, strides, 1x1, window = input. */
static const struct {
    const char *name;
    fc_conv2d_dims d; /* N H W C, OH OW OC, KH KW G, SH SW DH DW, PT PL */
} shapes[] = {
    {"rgb 3x3 same", {2, 7, 9, 3, 7, 9, 20, 3, 3, 1, 1, 1, 1, 1, 1, 1}},
    {"single channel 3x3", {2, 8, 6, 1, 6, 4, 16, 3, 3, 1, 1, 1, 1, 1, 0, 0}},
    {"single channel 5x5 stride 2", {1, 11, 11, 1, 4, 4, 33, 5, 5, 1, 2, 2, 1, 1, 0, 0}},
    {"3x3 stride 2 pad 1", {2, 9, 9, 8, 5, 5, 37, 3, 3, 1, 2, 2, 1, 1, 1, 1}},
    {"5x5 dilation 2 same", {1, 9, 9, 16, 9, 9, 16, 5, 5, 1, 1, 1, 2, 2, 4, 4}},
    {"depthwise 3x3", {2, 6, 6, 8, 6, 6, 8, 3, 3, 8, 1, 1, 1, 1, 1, 1}},
    {"groups 2", {1, 6, 7, 6, 4, 5, 10, 3, 3, 2, 1, 1, 1, 1, 0, 0}},
    {"1x1", {2, 6, 6, 32, 6, 6, 24, 1, 1, 1, 1, 1, 1, 1, 0, 0}},
    {"K = 360 > KC", {1, 5, 5, 40, 3, 3, 17, 3, 3, 1, 1, 1, 1, 1, 0, 0}},
    {"Winograd 3x3 same, odd sides", {2, 9, 7, 32, 9, 7, 40, 3, 3, 1, 1, 1, 1, 1, 1, 1}},
    {"100 pixels > MC", {1, 10, 10, 4, 10, 10, 9, 3, 3, 1, 1, 1, 1, 1, 1, 1}},
    {"window = input", {3, 4, 4, 5, 1, 1, 7, 4, 4, 1, 1, 1, 1, 1, 0, 0}},
    {"non-square 2x3 stride (2,1)", {2, 5, 11, 3, 3, 11, 12, 2, 3, 1, 2, 1, 1, 1, 0, 1}},
};

static const int64_t gemm_shapes[][3] = {
    {1, 1, 1}, {6, 16, 256}, {7, 17, 3}, {80, 40, 300}, {73, 33, 513}, {13, 600, 20},
};

int main(void) {
    const fc_isa isa = fc_selected_isa();
    fc_gemm_init(isa);
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        check_conv_f32(&shapes[s].d, shapes[s].name);
        check_conv_f64(&shapes[s].d, shapes[s].name);
    }
    for (size_t s = 0; s < sizeof gemm_shapes / sizeof gemm_shapes[0]; s++)
        for (int flags = 0; flags < 4; flags++)
            for (int ta = 0; ta < 2; ta++)
                for (int with_bias = 0; with_bias < 2; with_bias++) {
                    const int64_t *g = gemm_shapes[s];
                    check_gemm_f32(g[0], g[1], g[2], ta, flags, with_bias);
                    check_gemm_f64(g[0], g[1], g[2], ta, flags, with_bias);
                }
    check_flush_f32();
    check_flush_f64();
    printf("isa: %s\nresults digest: %016llx\n", fc_isa_name(isa),
           (unsigned long long)results_digest);
    printf("%ld passed, %ld failed\n", passed, failed);
    return failed != 0;
}
