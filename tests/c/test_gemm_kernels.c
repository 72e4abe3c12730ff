/* The NEON micro-kernels against a scalar model of their arithmetic (bit for bit), their twin
   kernel (bit for bit) and a wide-precision reference (within rounding), over depths, row runs,
   row strides, epilogue flags, bias, special values and every edge tile (mr x nr stored of the
   MR x NR computed: nothing else written, no bias value past nr read). Prints "N passed,
   N failed".

   On aarch64 it tests the real NEON kernels, with the portable kernel as twin: built with
   -ffp-contract=fast (as setup.py builds) its sums are the same fused chains from the bias. On
   x86 it tests the same source compiled through SIMDe (gemm_kernels_neonemu.c, built with
   FC_HAVE_NEONEMU and AVX2 + FMA) with the AVX2 kernel as twin; the portable kernel has no FMA
   there and meets only the reference. .ci/neon.sh and tests/test_neon_harness.py build it, also
   under AddressSanitizer, which reports any access past the exact-size C and bias blocks. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gemm.h"

#define STR_(x) #x
#define STR(x) STR_(x)
#define MAX_KERNELS 3

#define MR FC_NARROW_MR

enum exactness {
    NEAR,  /* only near the reference */
    EXACT, /* bit for bit with the scalar FMA model */
};

/* One call of a kernel: A packed (one run of lens[0]), or read in place in nruns runs (through
   row pointers, or with A and B both strided), C with row stride ldc, of which the first mr rows
   and nr columns are stored. */
struct tile_case {
    int packed, strided, nruns;
    const int64_t *lens;
    int64_t ldc, mr, nr;
    int flags, with_bias, specials;
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
#define NR FC_NARROW_NR_F32
#define R double
#define FMA fmaf
#define EPS 0x1p-23
#define UKR fc_ukr_f32
#define UKRI fc_ukri_f32
#define UKRS fc_ukrs_f32
#include "gemm_kernels_check.h"
#undef T
#undef SFX
#undef NR
#undef R
#undef FMA
#undef EPS
#undef UKR
#undef UKRI
#undef UKRS

#define T double
#define SFX f64
#define NR FC_NARROW_NR_F64
#define R long double
#define FMA fma
#define EPS 0x1p-52
#define UKR fc_ukr_f64
#define UKRI fc_ukri_f64
#define UKRS fc_ukrs_f64
#include "gemm_kernels_check.h"
#undef T
#undef SFX
#undef NR
#undef R
#undef FMA
#undef EPS
#undef UKR
#undef UKRI
#undef UKRS

/* Kernels under test; twins[n] names the kernel that kernel n must equal bit for bit. */
#ifdef FC_HAVE_NEON
static const kernel_f32 kernels_f32[] = {
    {"neon", fc_ukr_neon_f32, fc_ukri_neon_f32, fc_ukrs_neon_f32, EXACT},
    {"generic", fc_ukr_generic_f32, fc_ukri_generic_f32, fc_ukrs_generic_f32, EXACT},
};
static const kernel_f64 kernels_f64[] = {
    {"neon", fc_ukr_neon_f64, fc_ukri_neon_f64, fc_ukrs_neon_f64, EXACT},
    {"generic", fc_ukr_generic_f64, fc_ukri_generic_f64, fc_ukrs_generic_f64, EXACT},
};
static const int twins[] = {1, -1};
#else
static const kernel_f32 kernels_f32[] = {
    {"neonemu", fc_ukr_neonemu_f32, fc_ukri_neonemu_f32, fc_ukrs_neonemu_f32, EXACT},
    {"avx2", fc_ukr_avx2_f32, fc_ukri_avx2_f32, fc_ukrs_avx2_f32, EXACT},
    {"generic", fc_ukr_generic_f32, fc_ukri_generic_f32, fc_ukrs_generic_f32, NEAR},
};
static const kernel_f64 kernels_f64[] = {
    {"neonemu", fc_ukr_neonemu_f64, fc_ukri_neonemu_f64, fc_ukrs_neonemu_f64, EXACT},
    {"avx2", fc_ukr_avx2_f64, fc_ukri_avx2_f64, fc_ukrs_avx2_f64, EXACT},
    {"generic", fc_ukr_generic_f64, fc_ukri_generic_f64, fc_ukrs_generic_f64, NEAR},
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
/* Edge tiles: a short and a longer depth packed, runs with an empty one in place. */
static const int64_t edge_depths[] = {1, 17};
static const int64_t edge_runs[] = {3, 5, 0, 9}; /* {nruns, lens...} */

static void check(const struct tile_case *tc, int dtype64) {
    if (dtype64)
        check_case_f64(kernels_f64, NKERNELS, twins, tc);
    else
        check_case_f32(kernels_f32, NKERNELS, twins, tc);
}

/* Every case for one type, whose full tile is MR x full_nr. */
static void run_all(int64_t full_nr, int dtype64) {
    struct tile_case tc = {0};
    for (tc.specials = 0; tc.specials < 2; tc.specials++)
        for (tc.with_bias = 0; tc.with_bias < 2; tc.with_bias++)
            for (tc.flags = 0; tc.flags < 4; tc.flags++) {
                /* Full tiles, on row strides equal to, just past and well past the tile. */
                const int64_t ldcs[] = {full_nr, full_nr + 1, 2 * full_nr + 3};
                tc.mr = MR;
                tc.nr = full_nr;
                for (size_t l = 0; l < 3; l++) {
                    tc.ldc = ldcs[l];
                    tc.packed = 1;
                    tc.nruns = 1;
                    for (size_t d = 0; d < sizeof depths / sizeof depths[0]; d++) {
                        tc.lens = &depths[d];
                        check(&tc, dtype64);
                    }
                    tc.packed = 0;
                    for (tc.strided = 0; tc.strided < 2; tc.strided++)
                        for (size_t s = 0; s < sizeof run_sets / sizeof run_sets[0]; s++) {
                            tc.nruns = (int)run_sets[s][0];
                            tc.lens = &run_sets[s][1];
                            check(&tc, dtype64);
                        }
                    tc.strided = 0;
                }
                /* Every edge tile, rows packed tight (ldc = nr) and with a gap. */
                for (tc.mr = 1; tc.mr <= MR; tc.mr++)
                    for (tc.nr = 1; tc.nr <= full_nr; tc.nr++) {
                        if (tc.mr == MR && tc.nr == full_nr) continue;
                        for (tc.ldc = tc.nr; tc.ldc <= tc.nr + 3; tc.ldc += 3) {
                            tc.packed = 1;
                            tc.nruns = 1;
                            for (size_t d = 0; d < sizeof edge_depths / sizeof edge_depths[0];
                                 d++) {
                                tc.lens = &edge_depths[d];
                                check(&tc, dtype64);
                            }
                            tc.packed = 0;
                            tc.nruns = (int)edge_runs[0];
                            tc.lens = &edge_runs[1];
                            for (tc.strided = 0; tc.strided < 2; tc.strided++) check(&tc, dtype64);
                            tc.strided = 0;
                        }
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
    run_all(FC_NARROW_NR_F32, 0);
    run_all(FC_NARROW_NR_F64, 1);
    printf("kernels:");
    for (int n = 0; n < NKERNELS; n++) printf(" %s", kernels_f32[n].name);
    printf("\n%ld passed, %ld failed\n", passed, failed);
    return failed != 0;
}
