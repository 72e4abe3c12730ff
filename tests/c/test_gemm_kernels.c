/* The NEON micro-kernels against a scalar model of their arithmetic (bit for bit), their twin
   kernel (bit for bit) and a wide-precision reference (within rounding), over depths, row runs,
   row strides, epilogue flags, bias and special values. Prints "N passed, N failed".

   On aarch64 it tests the real NEON kernels, with the portable kernel as twin: built with
   -ffp-contract=fast (as setup.py builds) its sums are the same fused chains, except that it adds
   the bias after the sum. On x86 it tests the same source compiled through SIMDe
   (gemm_kernels_neonemu.c, -mavx2 -mfma) with the AVX2 kernel as twin; the portable kernel has no
   FMA there and meets only the reference. .ci/neon.sh and tests/test_neon_harness.py build it. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gemm.h"
#ifndef FC_HAVE_NEON
#include "gemm_kernels_neonemu.h"
#endif

#define STR_(x) #x
#define STR(x) STR_(x)
#define MAX_KERNELS 3

enum exactness {
    NEAR,              /* only near the reference */
    EXACT,             /* bit for bit with the scalar FMA model */
    EXACT_UNLESS_BIAS, /* the same, except where it adds a bias after the sum */
};

static long passed, failed;

static void record(int ok, const char *what, const char *kernel, const char *check,
                   const char *why) {
    if (ok) {
        passed++;
        return;
    }
    failed++;
    if (failed <= 20) printf("FAIL %s: %s vs %s: %s\n", what, kernel, check, why);
}

/* xorshift64*: the same data on every platform and run. */
static uint64_t random_state = 0x9E3779B97F4A7C15u;
static double next_random(void) {
    random_state ^= random_state >> 12;
    random_state ^= random_state << 25;
    random_state ^= random_state >> 27;
    return (double)((random_state * 0x2545F4914F6CDD1Du) >> 11) / 9007199254740992.0;
}

#define T float
#define SFX f32
#define NR FC_NR_F32
#define R double
#define FMA fmaf
#define EPS 0x1p-23
#define UKR fc_ukr_f32
#define UKRI fc_ukri_f32
#include "gemm_kernels_check.h"
#undef T
#undef SFX
#undef NR
#undef R
#undef FMA
#undef EPS
#undef UKR
#undef UKRI

#define T double
#define SFX f64
#define NR FC_NR_F64
#define R long double
#define FMA fma
#define EPS 0x1p-52
#define UKR fc_ukr_f64
#define UKRI fc_ukri_f64
#include "gemm_kernels_check.h"

/* Kernels under test; twins[n] names the kernel that kernel n must equal bit for bit. */
#ifdef FC_HAVE_NEON
static const kernel_f32 kernels_f32[] = {
    {"neon", fc_ukr_neon_f32, fc_ukri_neon_f32, EXACT},
    {"generic", fc_ukr_generic_f32, fc_ukri_generic_f32, EXACT_UNLESS_BIAS},
};
static const kernel_f64 kernels_f64[] = {
    {"neon", fc_ukr_neon_f64, fc_ukri_neon_f64, EXACT},
    {"generic", fc_ukr_generic_f64, fc_ukri_generic_f64, EXACT_UNLESS_BIAS},
};
static const int twins[] = {1, -1};
#else
static const kernel_f32 kernels_f32[] = {
    {"neonemu", fc_ukr_neonemu_f32, fc_ukri_neonemu_f32, EXACT},
    {"avx2", fc_ukr_avx2_f32, fc_ukri_avx2_f32, EXACT},
    {"generic", fc_ukr_generic_f32, fc_ukri_generic_f32, NEAR},
};
static const kernel_f64 kernels_f64[] = {
    {"neonemu", fc_ukr_neonemu_f64, fc_ukri_neonemu_f64, EXACT},
    {"avx2", fc_ukr_avx2_f64, fc_ukri_avx2_f64, EXACT},
    {"generic", fc_ukr_generic_f64, fc_ukri_generic_f64, NEAR},
};
static const int twins[] = {1, -1, -1};
#endif
#define NKERNELS ((int)(sizeof kernels_f32 / sizeof kernels_f32[0]))

/* Depths around the vector widths, an unrolling's multiples and the KC = 256 panel. */
static const int64_t depths[] = {0, 1, 2, 3, 4, 5, 7, 8, 15, 16, 17, 31, 64, 100, 255, 256};
/* Run lengths of indirect A: none, single runs, empty runs, im2col-like runs of C per tap. */
static const int64_t run_sets[][10] = {
    {0}, {1, 1}, {1, 5}, {2, 0, 3}, {3, 2, 2, 2}, {4, 1, 0, 4, 7},
    {9, 3, 3, 3, 3, 3, 3, 3, 3, 3}, {3, 16, 16, 16}, {2, 64, 1}, {1, 256}, {4, 9, 0, 0, 9},
}; /* {nruns, lens...} */

static void run_all(int64_t nr, int dtype64) {
    const int64_t ldcs[] = {nr, nr + 1, 2 * nr + 3};
    for (int specials = 0; specials < 2; specials++)
        for (int with_bias = 0; with_bias < 2; with_bias++)
            for (int flags = 0; flags < 4; flags++)
                for (size_t l = 0; l < 3; l++) {
                    for (size_t d = 0; d < sizeof depths / sizeof depths[0]; d++) {
                        if (dtype64)
                            check_case_f64(kernels_f64, NKERNELS, twins, 1, 1, &depths[d],
                                           ldcs[l], flags, with_bias, specials);
                        else
                            check_case_f32(kernels_f32, NKERNELS, twins, 1, 1, &depths[d],
                                           ldcs[l], flags, with_bias, specials);
                    }
                    for (size_t s = 0; s < sizeof run_sets / sizeof run_sets[0]; s++) {
                        const int nruns = (int)run_sets[s][0];
                        if (dtype64)
                            check_case_f64(kernels_f64, NKERNELS, twins, 0, nruns,
                                           &run_sets[s][1], ldcs[l], flags, with_bias, specials);
                        else
                            check_case_f32(kernels_f32, NKERNELS, twins, 0, nruns,
                                           &run_sets[s][1], ldcs[l], flags, with_bias, specials);
                    }
                }
}

int main(void) {
#ifndef FC_HAVE_NEON
    __builtin_cpu_init();
    if (!__builtin_cpu_supports("avx2") || !__builtin_cpu_supports("fma")) {
        printf("the emulated NEON kernels and their AVX2 twin need AVX2 + FMA\n");
        return 2;
    }
#endif
    run_all(FC_NR_F32, 0);
    run_all(FC_NR_F64, 1);
    printf("kernels:");
    for (int n = 0; n < NKERNELS; n++) printf(" %s", kernels_f32[n].name);
    printf("\n%ld passed, %ld failed\n", passed, failed);
    return failed != 0;
}
