/* Type-generic checks of the library's conv2d and gemm entry points; included by
   test_ops.c once per type. Needs T, SFX, EPS (T's machine epsilon), SUBNORMAL, SCALE and TINY
   (see check_flush) and the harness's helpers. */
#define CAT_(a, b) a##_##b
#define CAT(a, b) CAT_(a, b)
#define FN(name) CAT(name, SFX)

static T *FN(random_array)(size_t n) {
    T *x = malloc(sizeof(T) * (n + 1));
    for (size_t i = 0; i < n; i++) x[i] = (T)(2.0 * next_random() - 1.0);
    return x;
}

/* |got - ref| <= 2 * terms * EPS * mag elementwise, mag being the op applied to |inputs|. */
static int FN(near)(const T *got, const double *ref, const double *mag, size_t n, double terms,
                    char *why, size_t nwhy) {
    for (size_t i = 0; i < n; i++) {
        const double err = fabs((double)got[i] - ref[i]);
        if (!(err <= 2 * terms * EPS * mag[i])) {
            snprintf(why, nwhy, "element %zu: got %.17g, reference %.17g (bound %.3g)", i,
                     (double)got[i], ref[i], 2 * terms * EPS * mag[i]);
            return 0;
        }
    }
    return 1;
}

/* Thread-count invariance: x and y bit for bit. x, the 1-thread result, joins the digest. */
static int FN(same)(const T *x, const T *y, size_t n, char *why, size_t nwhy) {
    digest(x, sizeof(T) * n);
    for (size_t i = 0; i < n; i++)
        if (memcmp(&x[i], &y[i], sizeof(T)) != 0) {
            snprintf(why, nwhy, "element %zu: %a vs %a", i, (double)x[i], (double)y[i]);
            return 0;
        }
    return 1;
}

/* The workspace a kernel asks for, aligned as the library's callers align it. */
static T *FN(workspace)(int (*size)(const fc_conv2d_dims *, int, size_t *),
                        const fc_conv2d_dims *d, int nthreads) {
    size_t n = 0;
    if (!size(d, nthreads, &n)) abort();
    return aligned_alloc(64, (sizeof(T) * n + 64) / 64 * 64);
}

/* Forward (bias or none, ReLU or none), input gradient and weight + bias gradient, each on 1 and
   2 threads: near the float64 naive twin, and the two thread counts bit for bit. */
static void FN(check_conv)(const fc_conv2d_dims *d, const char *shape) {
    const size_t nin = (size_t)(d->N * d->H * d->W * d->C);
    const size_t nout = (size_t)(d->N * d->OH * d->OW * d->OC);
    const size_t nw = (size_t)(d->KH * d->KW * (d->C / d->G) * d->OC), nb = (size_t)d->OC;
    T *inp = FN(random_array)(nin), *weight = FN(random_array)(nw), *bias = FN(random_array)(nb);
    T *dout = FN(random_array)(nout);
    double *inp64 = widen(inp, nin, 0), *weight64 = widen(weight, nw, 0);
    double *bias64 = widen(bias, nb, 0), *dout64 = widen(dout, nout, 0);
    double *inpabs = widen(inp, nin, 1), *weightabs = widen(weight, nw, 1);
    double *biasabs = widen(bias, nb, 1), *doutabs = widen(dout, nout, 1);
    double *ref = malloc(sizeof(double) * (nin + nout + nw + nb));
    double *mag = malloc(sizeof(double) * (nin + nout + nw + nb));
    T *got[2], *gotb[2];
    char what[200], why[200];
    const char *dtype = STR(SFX);

    for (int variant = 0; variant < 4; variant++) {
        const int relu = variant & 1, with_bias = variant >> 1;
        conv2d_forward_naive_f64(ref, inp64, weight64, with_bias ? bias64 : NULL, d, relu);
        conv2d_forward_naive_f64(mag, inpabs, weightabs, with_bias ? biasabs : NULL, d, 0);
        for (int t = 0; t < 2; t++) {
            T *ws = FN(workspace)(FN(conv2d_forward_workspace_size), d, t + 1);
            got[t] = malloc(sizeof(T) * nout);
            FN(conv2d_forward)(got[t], inp, weight, with_bias ? bias : NULL, d, relu, ws, t + 1);
            free(ws);
        }
        snprintf(what, sizeof what, "%s forward %s relu=%d bias=%d", dtype, shape, relu,
                 with_bias);
        record(FN(near)(got[0], ref, mag, nout, (double)(d->KH * d->KW * d->C / d->G + 1), why,
                        sizeof why),
               what, "float64 naive twin", why);
        record(FN(same)(got[0], got[1], nout, why, sizeof why), what, "1 vs 2 threads", why);
        free(got[0]);
        free(got[1]);
    }

    conv2d_backward_input_naive_f64(ref, dout64, weight64, d);
    conv2d_backward_input_naive_f64(mag, doutabs, weightabs, d);
    for (int t = 0; t < 2; t++) {
        T *ws = FN(workspace)(FN(conv2d_backward_input_workspace_size), d, t + 1);
        got[t] = malloc(sizeof(T) * nin);
        FN(conv2d_backward_input)(got[t], dout, weight, NULL, d, ws, t + 1);
        free(ws);
    }
    snprintf(what, sizeof what, "%s backward input %s", dtype, shape);
    record(FN(near)(got[0], ref, mag, nin, (double)(d->KH * d->KW * d->OC / d->G), why,
                    sizeof why),
           what, "float64 naive twin", why);
    record(FN(same)(got[0], got[1], nin, why, sizeof why), what, "1 vs 2 threads", why);
    free(got[0]);
    free(got[1]);

    conv2d_backward_weight_naive_f64(ref, ref + nw, dout64, inp64, d);
    conv2d_backward_weight_naive_f64(mag, mag + nw, doutabs, inpabs, d);
    for (int t = 0; t < 2; t++) {
        T *ws = FN(workspace)(FN(conv2d_backward_weight_workspace_size), d, t + 1);
        got[t] = malloc(sizeof(T) * nw);
        gotb[t] = malloc(sizeof(T) * nb);
        FN(conv2d_backward_weight)(got[t], gotb[t], dout, inp, d, ws, t + 1);
        free(ws);
    }
    const double pixels = (double)(d->N * d->OH * d->OW);
    snprintf(what, sizeof what, "%s backward weight %s", dtype, shape);
    record(FN(near)(got[0], ref, mag, nw, pixels, why, sizeof why), what, "float64 naive twin",
           why);
    record(FN(same)(got[0], got[1], nw, why, sizeof why), what, "1 vs 2 threads", why);
    snprintf(what, sizeof what, "%s backward bias %s", dtype, shape);
    record(FN(near)(gotb[0], ref + nw, mag + nw, nb, pixels, why, sizeof why), what,
           "float64 naive twin", why);
    record(FN(same)(gotb[0], gotb[1], nb, why, sizeof why), what, "1 vs 2 threads", why);
    for (int t = 0; t < 2; t++) free(got[t]), free(gotb[t]);

    free(inp), free(weight), free(bias), free(dout);
    free(inp64), free(weight64), free(bias64), free(dout64);
    free(inpabs), free(weightabs), free(biasabs), free(doutabs);
    free(ref), free(mag);
}

/* c (m x n) = epilogue(a * b) with a read transposed when `ta`, against a float64 sum. */
static void FN(check_gemm)(int64_t m, int64_t n, int64_t k, int ta, int flags, int with_bias) {
    const int64_t ldc = n + 3;
    T *a = FN(random_array)((size_t)(m * k)), *b = FN(random_array)((size_t)(k * n));
    T *bias = FN(random_array)((size_t)n), *c0 = FN(random_array)((size_t)(m * ldc));
    const int64_t rsa = ta ? 1 : k, csa = ta ? m : 1;
    double *ref = malloc(sizeof(double) * (size_t)(m * ldc));
    double *mag = malloc(sizeof(double) * (size_t)(m * ldc));
    for (int64_t i = 0; i < m; i++)
        for (int64_t j = 0; j < ldc; j++) {
            double s = c0[i * ldc + j], g = fabs(s);
            if (j < n) {
                if (!(flags & FC_ACCUMULATE)) s = g = 0;
                if (!(flags & FC_ACCUMULATE) && with_bias) s = bias[j], g = fabs(s);
                for (int64_t p = 0; p < k; p++) {
                    const double x = (double)a[i * rsa + p * csa] * b[p * n + j];
                    s += x;
                    g += fabs(x);
                }
                if ((flags & FC_RELU) && s < 0) s = 0;
            } else {
                g = 0; /* past column n: must stay untouched */
            }
            ref[i * ldc + j] = s;
            mag[i * ldc + j] = g;
        }
    T *got[2];
    for (int t = 0; t < 2; t++) {
        T *ws = aligned_alloc(64, (sizeof(T) * fc_gemm_workspace_size(t + 1) + 64) / 64 * 64);
        got[t] = malloc(sizeof(T) * (size_t)(m * ldc));
        memcpy(got[t], c0, sizeof(T) * (size_t)(m * ldc));
        FN(fc_gemm)(got[t], a, b, m, n, k, rsa, csa, n, 1, ldc, flags, with_bias ? bias : NULL,
                    ws, t + 1);
        free(ws);
    }
    char what[160], why[200];
    snprintf(what, sizeof what, "%s gemm m=%lld n=%lld k=%lld transposed=%d flags=%d bias=%d",
             STR(SFX), (long long)m, (long long)n, (long long)k, ta, flags, with_bias);
    record(FN(near)(got[0], ref, mag, (size_t)(m * ldc), (double)(k + 2), why, sizeof why), what,
           "float64 sum", why);
    record(FN(same)(got[0], got[1], (size_t)(m * ldc), why, sizeof why), what, "1 vs 2 threads",
           why);
    free(got[0]), free(got[1]);
    free(a), free(b), free(bias), free(c0), free(ref), free(mag);
}

/* Flush to zero inside the kernels (cpu.h's fc_fp_fast): a subnormal input reads as zero
   (SUBNORMAL * SCALE would be a normal number) and a subnormal result is written as zero
   (TINY * TINY is subnormal), on full and edge tiles; and the caller's own arithmetic keeps
   subnormals after the call. */
static void FN(check_flush)(void) {
    enum { m = 7, n = 17, k = 3 }; /* one full tile and edge tiles on every ISA */
    const T as[2] = {SUBNORMAL, TINY}, bs[2] = {SCALE, TINY};
    const char *names[2] = {"subnormal inputs", "subnormal products"};
    T a[m * k], b[k * n], c[m * n];
    T *ws = aligned_alloc(64, (sizeof(T) * fc_gemm_workspace_size(1) + 64) / 64 * 64);
    char what[80], why[200];
    for (int t = 0; t < 2; t++) {
        for (int i = 0; i < m * k; i++) a[i] = as[t];
        for (int i = 0; i < k * n; i++) b[i] = bs[t];
        FN(fc_gemm)(c, a, b, m, n, k, k, 1, n, 1, n, 0, NULL, ws, 1);
        int zeros = 1;
        for (int i = 0; i < m * n; i++) zeros = zeros && c[i] == 0;
        snprintf(what, sizeof what, "%s gemm of %s", STR(SFX), names[t]);
        snprintf(why, sizeof why, "c[0] = %a", (double)c[0]);
        record(zeros, what, "flushed to zero", why);
    }
    volatile T x = SUBNORMAL, y = TINY;
    snprintf(what, sizeof what, "%s arithmetic after the kernels", STR(SFX));
    snprintf(why, sizeof why, "%a * %a = %a, %a^2 = %a", (double)x, (double)SCALE,
             (double)(x * SCALE), (double)y, (double)(y * y));
    record(x * SCALE != 0 && y * y != 0, what, "subnormals kept", why);
    free(ws);
}

#undef FN
#undef CAT
#undef CAT_
