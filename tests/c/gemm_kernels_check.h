/* Type-generic checks of the micro-kernels; included by test_gemm_kernels.c once per type.
   Needs T, SFX, NR, R (the reference's wider type), FMA (the scalar fused multiply-add of T),
   EPS (T's machine epsilon), UKR / UKRI (the kernel pointer types), and the harness's record,
   next_random, STR, MAX_KERNELS and enum exactness. */
#define CAT_(a, b) a##_##b
#define CAT(a, b) CAT_(a, b)

/* One kernel under test: `exact` says when it must match the scalar FMA model bit for bit. */
typedef struct {
    const char *name;
    UKR ukr;
    UKRI ukri;
    enum exactness exact;
} CAT(kernel, SFX);

static T CAT(uniform, SFX)(void) { return (T)(2.0 * next_random() - 1.0); }

/* The tile as the SIMD kernels define it: each cell starts from the bias (or 0), takes the
   products in k order with one rounding each (fused multiply-add), then adds C and clamps. */
static void CAT(model, SFX)(const T *A, const T *B, int64_t K, const T *bias, T *c, int64_t ldc,
                            int flags) {
    for (int i = 0; i < FC_MR; i++)
        for (int j = 0; j < NR; j++) {
            T v = (bias && !(flags & FC_ACCUMULATE)) ? bias[j] : 0;
            for (int64_t k = 0; k < K; k++) v = FMA(A[i * K + k], B[k * NR + j], v);
            if (flags & FC_ACCUMULATE) v = c[i * ldc + j] + v;
            if ((flags & FC_RELU) && v < 0) v = 0;
            c[i * ldc + j] = v;
        }
}

/* Against the sum in the wider type R, within the rounding bound of K + 2 operations in T;
   cells outside the tile must be untouched. */
static int CAT(near_reference, SFX)(const T *A, const T *B, int64_t K, const T *bias,
                                    const T *c0, const T *c, int64_t ldc, int64_t csize,
                                    int flags, char *why, size_t nwhy) {
    for (int64_t p = 0; p < csize; p++) {
        const int64_t i = p / ldc, j = p % ldc;
        if (i < FC_MR && j < NR) continue;
        if (memcmp(&c[p], &c0[p], sizeof(T)) != 0) {
            snprintf(why, nwhy, "wrote outside the tile at element %lld", (long long)p);
            return 0;
        }
    }
    for (int i = 0; i < FC_MR; i++)
        for (int j = 0; j < NR; j++) {
            R start = 0;
            if (flags & FC_ACCUMULATE)
                start = c0[i * ldc + j];
            else if (bias)
                start = bias[j];
            R sum = start, mag = start < 0 ? -start : start;
            for (int64_t k = 0; k < K; k++) {
                const R p = (R)A[i * K + k] * (R)B[k * NR + j];
                sum += p;
                mag += p < 0 ? -p : p;
            }
            if ((flags & FC_RELU) && sum < 0) sum = 0;
            const T got = c[i * ldc + j];
            int ok;
            if (isnan(sum))
                ok = isnan(got);
            else if (isinf(sum))
                ok = (R)got == sum;
            else {
                const R err = (R)got - sum;
                ok = (err < 0 ? -err : err) <= (R)(K + 2) * (R)EPS * mag;
            }
            if (!ok) {
                snprintf(why, nwhy, "cell (%d, %d): got %.17g, reference %.17Lg", i, j,
                         (double)got, (long double)sum);
                return 0;
            }
        }
    return 1;
}

static int CAT(same_bits, SFX)(const T *x, const T *y, int64_t ldc, int64_t csize, char *why,
                               size_t nwhy) {
    for (int64_t p = 0; p < csize; p++)
        if (memcmp(&x[p], &y[p], sizeof(T)) != 0) {
            snprintf(why, nwhy, "element (%lld, %lld): %a vs %a", (long long)(p / ldc),
                     (long long)(p % ldc), (double)x[p], (double)y[p]);
            return 0;
        }
    return 1;
}

/* Runs every kernel on one case: A (MR x K) read in runs of lens[0..nruns) (packed when
   `packed`, then nruns == 1), B (K x NR), C (MR rows of ldc) plus a guard tail. `specials`
   plants NaN, infinity and signed zeros whose propagation the kernels must agree on. */
static void CAT(check_case, SFX)(const CAT(kernel, SFX) *kernels, int nkernels,
                                 const int *twins, int packed, int nruns, const int64_t *lens,
                                 int64_t ldc, int flags, int with_bias, int specials) {
    int64_t K = 0;
    for (int r = 0; r < nruns; r++) K += lens[r];
    const int64_t csize = (FC_MR - 1) * ldc + NR + 2 * NR; /* the last row, then a guard */
    T *A = malloc(sizeof(T) * (size_t)(FC_MR * K + 1));
    T *B = malloc(sizeof(T) * (size_t)(K * NR + 1)); /* dense B is the packed sliver */
    T *Ap = malloc(sizeof(T) * (size_t)(FC_MR * K + 1));
    T bias[NR];
    T *c0 = malloc(sizeof(T) * (size_t)csize), *expect = malloc(sizeof(T) * (size_t)csize);
    T *out[MAX_KERNELS];
    int exact[MAX_KERNELS];
    for (int64_t p = 0; p < FC_MR * K; p++) A[p] = CAT(uniform, SFX)();
    for (int64_t p = 0; p < K * NR; p++) B[p] = CAT(uniform, SFX)();
    for (int j = 0; j < NR; j++) bias[j] = CAT(uniform, SFX)();
    for (int64_t p = 0; p < csize; p++) c0[p] = CAT(uniform, SFX)();
    if (specials && K > 0) {
        /* Row 5 is -0 * positive B: with a -0 bias (or -0 in C) every sum stays -0, which a
           ReLU must keep. Row 4 is NaN from k = 0, row 3 meets an infinity at the end. */
        for (int64_t k = 0; k < K; k++) {
            A[5 * K + k] = -(T)0;
            for (int j = 0; j < NR / 2; j++) B[k * NR + j] = fabs(B[k * NR + j]);
        }
        for (int j = 0; j < NR / 2; j++) {
            bias[j] = -(T)0;
            c0[5 * ldc + j] = -(T)0;
        }
        A[4 * K] = NAN;
        A[3 * K + K - 1] = INFINITY;
    }
    for (int i = 0; i < FC_MR; i++)
        for (int64_t k = 0; k < K; k++) Ap[k * FC_MR + i] = A[i * K + k];
    /* Indirect A: every run of every row in its own exact-size block, as im2col rows are. */
    const T **rows = malloc(sizeof(T *) * (size_t)(nruns * FC_MR + 1));
    for (int r = 0, off = 0; r < nruns; off += (int)lens[r], r++)
        for (int i = 0; i < FC_MR; i++) {
            T *run = malloc(sizeof(T) * (size_t)(lens[r] + 1));
            memcpy(run, A + i * K + off, sizeof(T) * (size_t)lens[r]);
            rows[r * FC_MR + i] = run;
        }
    const T *bp = with_bias ? bias : NULL;
    memcpy(expect, c0, sizeof(T) * (size_t)csize);
    CAT(model, SFX)(A, B, K, bp, expect, ldc, flags);

    char what[160], why[200];
    snprintf(what, sizeof what, "%s %s K=%lld nruns=%d ldc=%lld flags=%d bias=%d specials=%d",
             STR(SFX), packed ? "packed" : "indirect", (long long)K, nruns, (long long)ldc, flags,
             with_bias, specials);
    for (int n = 0; n < nkernels; n++) {
        out[n] = malloc(sizeof(T) * (size_t)csize);
        memcpy(out[n], c0, sizeof(T) * (size_t)csize);
        if (packed)
            kernels[n].ukr(K, Ap, B, out[n], ldc, flags, bp);
        else
            kernels[n].ukri(nruns, rows, lens, B, out[n], ldc, flags, bp);
        const int bias_after_sum = with_bias && !(flags & FC_ACCUMULATE);
        exact[n] = kernels[n].exact == EXACT ||
                   (kernels[n].exact == EXACT_UNLESS_BIAS && !bias_after_sum);
        if (exact[n])
            record(CAT(same_bits, SFX)(out[n], expect, ldc, csize, why, sizeof why), what,
                   kernels[n].name, "== scalar FMA model, bitwise", why);
        record(CAT(near_reference, SFX)(A, B, K, bp, c0, out[n], ldc, csize, flags, why,
                                        sizeof why),
               what, kernels[n].name, "~= wide reference", why);
    }
    for (int n = 0; n < nkernels; n++)
        if (twins[n] >= 0 && exact[n] && exact[twins[n]])
            record(CAT(same_bits, SFX)(out[n], out[twins[n]], ldc, csize, why, sizeof why), what,
                   kernels[n].name, kernels[twins[n]].name, why);

    for (int n = 0; n < nkernels; n++) free(out[n]);
    for (int p = 0; p < nruns * FC_MR; p++) free((void *)rows[p]);
    free(rows);
    free(A);
    free(B);
    free(Ap);
    free(c0);
    free(expect);
}

#undef CAT
#undef CAT_
