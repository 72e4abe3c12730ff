/* Type-generic checks of the micro-kernels; included by test_gemm_kernels.c once per type.
   Needs T, SFX, NR, R (the reference's wider type), FMA (the scalar fused multiply-add of T),
   EPS (T's machine epsilon), UKR / UKRI / UKRS (the kernel pointer types), and the harness's MR,
   struct tile_case, record, next_random, STR, MAX_KERNELS and enum exactness. */
#define CAT_(a, b) a##_##b
#define CAT(a, b) CAT_(a, b)

/* One kernel under test: `exact` says whether it must match the scalar FMA model bit for bit. */
typedef struct {
    const char *name;
    UKR ukr;
    UKRI ukri;
    UKRS ukrs;
    enum exactness exact;
} CAT(kernel, SFX);

static T CAT(uniform, SFX)(void) { return (T)(2.0 * next_random() - 1.0); }

/* The tile as the kernels define it: each stored cell starts from the bias (or 0), takes the
   products in k order with one rounding each (fused multiply-add), then adds C and clamps. */
static void CAT(model, SFX)(const struct tile_case *tc, const T *A, const T *B, int64_t K,
                            const T *bias, T *c) {
    for (int64_t i = 0; i < tc->mr; i++)
        for (int64_t j = 0; j < tc->nr; j++) {
            T v = (bias && !(tc->flags & FC_ACCUMULATE)) ? bias[j] : 0;
            for (int64_t k = 0; k < K; k++) v = FMA(A[i * K + k], B[k * NR + j], v);
            if (tc->flags & FC_ACCUMULATE) v = c[i * tc->ldc + j] + v;
            if ((tc->flags & FC_RELU) && v < 0) v = 0;
            c[i * tc->ldc + j] = v;
        }
}

/* Against the sum in the wider type R, within the rounding bound of K + 2 operations in T;
   cells outside the stored mr x nr region must be untouched. */
static int CAT(near_reference, SFX)(const struct tile_case *tc, const T *A, const T *B,
                                    int64_t K, const T *bias, const T *c0, const T *c,
                                    int64_t csize, char *why, size_t nwhy) {
    const int64_t ldc = tc->ldc;
    for (int64_t p = 0; p < csize; p++)
        if (p % ldc >= tc->nr && memcmp(&c[p], &c0[p], sizeof(T)) != 0) {
            snprintf(why, nwhy, "wrote outside the tile at (%lld, %lld)", (long long)(p / ldc),
                     (long long)(p % ldc));
            return 0;
        }
    for (int64_t i = 0; i < tc->mr; i++)
        for (int64_t j = 0; j < tc->nr; j++) {
            R start = 0;
            if (tc->flags & FC_ACCUMULATE)
                start = c0[i * ldc + j];
            else if (bias)
                start = bias[j];
            R sum = start, mag = start < 0 ? -start : start;
            for (int64_t k = 0; k < K; k++) {
                const R p = (R)A[i * K + k] * (R)B[k * NR + j];
                sum += p;
                mag += p < 0 ? -p : p;
            }
            if ((tc->flags & FC_RELU) && sum < 0) sum = 0;
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
                snprintf(why, nwhy, "cell (%lld, %lld): got %.17g, reference %.17Lg",
                         (long long)i, (long long)j, (double)got, (long double)sum);
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

/* A copy of x's n values in a block of exactly that size: AddressSanitizer then reports any
   read past them (NULL when n == 0: nothing may be read). */
static T *CAT(exact_copy, SFX)(const T *x, int64_t n) {
    if (n == 0) return NULL;
    T *y = malloc(sizeof(T) * (size_t)n);
    memcpy(y, x, sizeof(T) * (size_t)n);
    return y;
}

/* Runs every kernel on one case: A (MR x K) read in runs of tc->lens (packed when tc->packed,
   then one run), B (K x NR), the stored region C (mr rows of ldc, the last one nr long) and
   the bias (nr values), each in a block of exactly its size. Rows of A past mr and columns of B
   past nr hold NaN: the kernel computes them but no stored cell may see them. `specials` plants
   NaN, infinity and signed zeros whose propagation the kernels must agree on. */
static void CAT(check_case, SFX)(const CAT(kernel, SFX) *kernels, int nkernels, const int *twins,
                                 const struct tile_case *tc) {
    const int64_t mr = tc->mr, nr = tc->nr, ldc = tc->ldc;
    int64_t K = 0;
    for (int r = 0; r < tc->nruns; r++) K += tc->lens[r];
    const int64_t csize = (mr - 1) * ldc + nr;
    T *A = malloc(sizeof(T) * (size_t)(MR * K + 1));
    T *B = malloc(sizeof(T) * (size_t)(K * NR + 1)); /* dense B is the packed sliver */
    T *Ap = malloc(sizeof(T) * (size_t)(MR * K + 1));
    T bias_values[NR];
    T *c0 = malloc(sizeof(T) * (size_t)csize), *expect = malloc(sizeof(T) * (size_t)csize);
    T *out[MAX_KERNELS];
    int exact[MAX_KERNELS];
    for (int64_t i = 0; i < MR; i++)
        for (int64_t k = 0; k < K; k++) A[i * K + k] = i < mr ? CAT(uniform, SFX)() : NAN;
    for (int64_t k = 0; k < K; k++)
        for (int64_t j = 0; j < NR; j++) B[k * NR + j] = j < nr ? CAT(uniform, SFX)() : NAN;
    for (int64_t j = 0; j < nr; j++) bias_values[j] = CAT(uniform, SFX)();
    for (int64_t p = 0; p < csize; p++) c0[p] = CAT(uniform, SFX)();
    if (tc->specials && K > 0) {
        /* Row 5 is -0 * non-negative B in the first half of the columns: with a -0 bias (or -0
           in C) those sums stay -0, which a ReLU must keep. Row 4 is NaN from k = 0, row 3
           meets an infinity at the end. */
        const int64_t half = (nr + 1) / 2;
        if (5 < mr)
            for (int64_t k = 0; k < K; k++) {
                A[5 * K + k] = -(T)0;
                for (int64_t j = 0; j < half; j++) B[k * NR + j] = fabs(B[k * NR + j]);
            }
        for (int64_t j = 0; j < half; j++) {
            bias_values[j] = -(T)0;
            if (5 < mr) c0[5 * ldc + j] = -(T)0;
        }
        if (4 < mr) A[4 * K] = NAN;
        if (3 < mr) A[3 * K + K - 1] = INFINITY;
    }
    for (int64_t i = 0; i < MR; i++)
        for (int64_t k = 0; k < K; k++) Ap[k * MR + i] = A[i * K + k];
    /* Indirect A: every run of every row in its own exact-size block, as im2col rows are. */
    const T **rows = malloc(sizeof(T *) * (size_t)(tc->nruns * MR + 1));
    for (int r = 0, off = 0; r < tc->nruns; off += (int)tc->lens[r], r++)
        for (int i = 0; i < MR; i++)
            rows[r * MR + i] = CAT(exact_copy, SFX)(A + i * K + off, tc->lens[r]);
    /* Strided A and B: each run's steps SA and SB apart (NaN between them) in a block that ends
       at its last step's MR or NR values, as the weight gradient's dout rows and pixels are. */
    const int64_t SA = MR + 3, SB = NR + 5;
    const T **a_runs = malloc(sizeof(T *) * (size_t)(tc->nruns + 1));
    const T **b_runs = malloc(sizeof(T *) * (size_t)(tc->nruns + 1));
    for (int r = 0, off = 0; r < tc->nruns; off += (int)tc->lens[r], r++) {
        const int64_t len = tc->lens[r];
        T *a = len ? malloc(sizeof(T) * (size_t)((len - 1) * SA + MR)) : NULL;
        T *b = len ? malloc(sizeof(T) * (size_t)((len - 1) * SB + NR)) : NULL;
        for (int64_t p = 0; len && p < (len - 1) * SA + MR; p++) a[p] = NAN;
        for (int64_t p = 0; len && p < (len - 1) * SB + NR; p++) b[p] = NAN;
        for (int64_t k = 0; k < len; k++) {
            for (int64_t i = 0; i < MR; i++) a[k * SA + i] = Ap[(off + k) * MR + i];
            for (int64_t j = 0; j < NR; j++) b[k * SB + j] = B[(off + k) * NR + j];
        }
        a_runs[r] = a, b_runs[r] = b;
    }
    /* Indirect B: its K rows SB apart (NaN between), as a dense layer's weights are read. */
    T *Bs = malloc(sizeof(T) * (size_t)(K ? (K - 1) * SB + NR : 1));
    for (int64_t p = 0; K && p < (K - 1) * SB + NR; p++) Bs[p] = NAN;
    for (int64_t k = 0; k < K; k++)
        for (int64_t j = 0; j < NR; j++) Bs[k * SB + j] = B[k * NR + j];
    T *bias = tc->with_bias ? CAT(exact_copy, SFX)(bias_values, nr) : NULL;
    memcpy(expect, c0, sizeof(T) * (size_t)csize);
    CAT(model, SFX)(tc, A, B, K, bias, expect);

    char what[200], why[200];
    snprintf(what, sizeof what,
             "%s %s tile %lldx%lld K=%lld nruns=%d ldc=%lld flags=%d bias=%d specials=%d",
             STR(SFX), tc->packed ? "packed" : tc->strided ? "strided" : "indirect",
             (long long)mr, (long long)nr,
             (long long)K, tc->nruns, (long long)ldc, tc->flags, tc->with_bias, tc->specials);
    for (int n = 0; n < nkernels; n++) {
        out[n] = malloc(sizeof(T) * (size_t)csize);
        memcpy(out[n], c0, sizeof(T) * (size_t)csize);
        if (tc->packed)
            kernels[n].ukr(K, Ap, B, out[n], ldc, tc->flags, bias, mr, nr);
        else if (tc->strided)
            kernels[n].ukrs(tc->nruns, a_runs, b_runs, tc->lens, SA, SB, out[n], ldc, tc->flags,
                            bias, mr, nr);
        else
            kernels[n].ukri(tc->nruns, rows, tc->lens, Bs, SB, out[n], ldc, tc->flags, bias, mr,
                            nr);
        exact[n] = kernels[n].exact == EXACT;
        if (exact[n])
            record(CAT(same_bits, SFX)(out[n], expect, ldc, csize, why, sizeof why), what,
                   kernels[n].name, "== scalar FMA model, bitwise", why);
        record(CAT(near_reference, SFX)(tc, A, B, K, bias, c0, out[n], csize, why, sizeof why),
               what, kernels[n].name, "~= wide reference", why);
    }
    for (int n = 0; n < nkernels; n++)
        if (twins[n] >= 0)
            record(CAT(same_bits, SFX)(out[n], out[twins[n]], ldc, csize, why, sizeof why), what,
                   kernels[n].name, kernels[twins[n]].name, why);

    for (int n = 0; n < nkernels; n++) free(out[n]);
    for (int p = 0; p < tc->nruns * MR; p++) free((void *)rows[p]);
    for (int r = 0; r < tc->nruns; r++) free((void *)a_runs[r]), free((void *)b_runs[r]);
    free(rows);
    free(a_runs);
    free(b_runs);
    free(bias);
    free(A);
    free(B);
    free(Bs);
    free(Ap);
    free(c0);
    free(expect);
}

#undef CAT
#undef CAT_
