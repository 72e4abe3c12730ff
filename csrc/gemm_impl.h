/* Type- and geometry-generic body of the packing routines, the macro-kernels and the GEMM driver;
   included by gemm.c once per (type, geometry) with T (element type), SFX (name suffix, e.g.
   f32_wide), MR, NR and MC defined. */
#define FC_CAT_(a, b) a##_##b
#define FC_CAT(a, b) FC_CAT_(a, b)
#define FN(name) FC_CAT(name, SFX)

/* The micro-kernels of the kernel set in use (fc_gemm_init). */
static FC_CAT(fc_ukr, TSFX) FN(ukr);
static FC_CAT(fc_ukri, TSFX) FN(ukri);
static FC_CAT(fc_ukrs, TSFX) FN(ukrs);

#define ZERO_RUN FC_CAT(fc_zero_run, TSFX)

void FN(fc_pack_a)(T *dst, const T *a, int64_t rs, int64_t cs, int64_t m, int64_t kc) {
    for (int64_t i0 = 0; i0 < m; i0 += MR) {
        int64_t mr = m - i0 < MR ? m - i0 : MR;
        for (int64_t k = 0; k < kc; k++) {
            const T *src = a + i0 * rs + k * cs;
            int64_t i = 0;
            for (; i < mr; i++) dst[i] = src[i * rs];
            for (; i < MR; i++) dst[i] = 0;
            dst += MR;
        }
    }
}

void FN(fc_pack_b)(T *dst, const T *b, int64_t rs, int64_t cs, int64_t kc, int64_t n) {
    for (int64_t j0 = 0; j0 < n; j0 += NR) {
        int64_t nr = n - j0 < NR ? n - j0 : NR;
        if (nr < NR) memset(dst, 0, (size_t)(kc * NR) * sizeof(T)); /* one call, not a loop a row */
        for (int64_t k = 0; k < kc; k++) {
            const T *src = b + k * rs + j0 * cs;
            if (cs == 1)
                for (int64_t j = 0; j < nr; j++) dst[j] = src[j];
            else
                for (int64_t j = 0; j < nr; j++) dst[j] = src[j * cs];
            dst += NR;
        }
    }
}

void FN(fc_macro_kernel)(int64_t m, int64_t n, int64_t kc, const T *a, const T *b,
                         int64_t b_sliver_stride, T *c, int64_t ldc, int flags, const T *bias) {
    for (int64_t j0 = 0; j0 < n; j0 += NR) {
        const T *bs = b + (j0 / NR) * b_sliver_stride;
        const int64_t nr = n - j0 < NR ? n - j0 : NR;
        for (int64_t i0 = 0; i0 < m; i0 += MR) {
            const int64_t mr = m - i0 < MR ? m - i0 : MR;
            FN(ukr)(kc, a + (i0 / MR) * kc * MR, bs, c + i0 * ldc + j0, ldc, flags,
                    bias ? bias + j0 : NULL, mr, nr);
        }
    }
}

/* Whether every row of a tile's run reads ZERO_RUN. */
static int FN(run_is_zero)(const T *const *run_rows) {
    for (int i = 0; i < MR; i++)
        if (run_rows[i] != ZERO_RUN) return 0;
    return 1;
}

void FN(fc_indirect_macro_kernel)(int64_t m, int64_t n, int64_t nruns, const T *const *rows,
                                  const int64_t *lens, const T *b, int64_t b_sliver_stride, T *c,
                                  int64_t ldc, int flags, const T *bias) {
    for (int64_t j0 = 0; j0 < n; j0 += NR) {
        const T *bs = b + (j0 / NR) * b_sliver_stride;
        const int64_t nr = n - j0 < NR ? n - j0 : NR;
        for (int64_t i0 = 0; i0 < m; i0 += MR) {
            const int64_t mr = m - i0 < MR ? m - i0 : MR;
            const T *const *tile = rows + (i0 / MR) * nruns * MR;
            /* Leading and trailing runs of zeros add nothing (a padded border's taps): skip them
               and their rows of b. An interior tile stops at the first pointer compared. */
            int64_t first = 0, last = nruns, skipped = 0;
            while (first < last && FN(run_is_zero)(tile + first * MR)) skipped += lens[first++];
            while (last > first && FN(run_is_zero)(tile + (last - 1) * MR)) last--;
            /* Nothing to add to an accumulated tile that no ReLU finishes: it stays as it is. */
            if (first == last && (flags & FC_ACCUMULATE) && !(flags & FC_RELU)) continue;
            FN(ukri)(last - first, tile + first * MR, lens + first, bs + skipped * NR, NR,
                     c + i0 * ldc + j0, ldc, flags, bias ? bias + j0 : NULL, mr, nr);
        }
    }
}

void FN(fc_strided_macro_kernel)(int64_t m, int64_t nr, int64_t nruns, const T *const *a_runs,
                                 const T *const *b_runs, const int64_t *lens, int64_t sa,
                                 int64_t sb, T *c, int64_t ldc, int flags) {
    const T *tile_runs[FC_STRIDED_MAX_RUNS];
    for (int64_t i0 = 0; i0 < m; i0 += MR) {
        for (int64_t r = 0; r < nruns; r++) tile_runs[r] = a_runs[r] + i0;
        FN(ukrs)(nruns, tile_runs, b_runs, lens, sa, sb, c + i0 * ldc, ldc, flags, NULL,
                 m - i0 < MR ? m - i0 : MR, nr);
    }
}

static size_t FN(per_thread_workspace)(void) {
    return (size_t)MC * FC_KC + (size_t)FC_KC * FC_NC_MAX;
}

/* The calling thread's slice of a workspace of fc_gemm_workspace_size elements. */
static T *FN(thread_workspace)(T *workspace) {
#ifdef _OPENMP
    return workspace + (size_t)omp_get_thread_num() * FN(per_thread_workspace)();
#else
    return workspace;
#endif
}

size_t FN(fc_gemm_workspace_size)(int nthreads) {
    size_t total;
    return fc_mul_size(FN(per_thread_workspace)(), (size_t)nthreads, &total) ? total : 0;
}

/* One k-chunk of an MC block of c with both operands read in place: A's rows through pointers,
   B's rows (contiguous) at their stride, so nothing is packed but the last sliver, narrower than
   NR, whose loads would run past B's rows. rows: the block's row pointers (fc_ukri's layout). */
static void FN(in_place_block)(T *bpack, const T *const *rows, int64_t mc, const T *b, int64_t rsb,
                               int64_t ncols, int64_t kc, T *c, int64_t ldc, int flags,
                               const T *bias) {
    for (int64_t j = 0; j < ncols; j += NR) {
        const int64_t nr = ncols - j < NR ? ncols - j : NR;
        const T *bj = b + j;
        int64_t sb = rsb;
        if (nr < NR) {
            FN(fc_pack_b)(bpack, bj, rsb, 1, kc, nr);
            bj = bpack, sb = NR;
        }
        for (int64_t i = 0; i < mc; i += MR)
            FN(ukri)(1, rows + i, &kc, bj, sb, c + i * ldc + j, ldc, flags,
                     bias ? bias + j : NULL, mc - i < MR ? mc - i : MR, nr);
    }
}

/* Whether c = a * b runs as its transpose, c^T = b^T a^T: b column-major (a dense layer's input
   gradient, dY W^T), so that b^T's rows are read in place where packing b would gather them
   column by column, and few rows in a: every block of c^T packs a^T again and is transposed
   element by element, which outweighs the gather above 64 rows (1.5x faster at 32 rows, 1.07x
   at 64, 0.9x at 96 for a 3136 x 100 b on AVX-512). Each sum is the same chain of fused steps,
   so the results are the same bits; with a bias (a per-row start of c^T) or accumulation the
   plain path runs instead. */
#define FC_TRANSPOSED_MAX_M 64
static int FN(transposed_applies)(int64_t m, int64_t n, int64_t rsb, int64_t csb, int flags,
                                  const T *bias) {
    return rsb == 1 && csb != 1 && m <= FC_TRANSPOSED_MAX_M && m < n && !bias &&
           !(flags & FC_ACCUMULATE);
}

/* c = epilogue(a * b) by transposition (see transposed_applies): per block of MC columns of c,
   the rows of c^T are summed in the thread's workspace, then written transposed into c. */
static void FN(gemm_transposed)(T *c, const T *a, const T *b, int64_t m, int64_t n, int64_t k,
                                int64_t rsa, int64_t csa, int64_t csb, int64_t ldc, int flags,
                                T *workspace, int nthreads) {
    const int64_t tasks = (n + MC - 1) / MC, kstep = fc_k_step(k);
    (void)nthreads;
#ifdef _OPENMP
#pragma omp parallel num_threads(nthreads)
#endif
    {
        const fc_fp_state fp = fc_fp_fast();
        T *ct = FN(thread_workspace)(workspace);
        T *apack = ct + MC * FC_KC; /* a^T, packed as the B operand */
#ifdef _OPENMP
#pragma omp for schedule(dynamic)
#endif
        for (int64_t t = 0; t < tasks; t++) {
            const int64_t j0 = t * MC, nb = n - j0 < MC ? n - j0 : MC;
            const T *rows[MC];
            for (int64_t k0 = 0; k0 < k; k0 += kstep) {
                const int64_t kc = k - k0 < kstep ? k - k0 : kstep;
                FN(fc_pack_b)(apack, a + k0 * csa, csa, rsa, kc, m);
                for (int64_t r = 0; r < fc_round_up(nb, MR); r++)
                    rows[r] = r < nb ? b + k0 + (j0 + r) * csb : ZERO_RUN;
                FN(fc_indirect_macro_kernel)(nb, m, 1, rows, &kc, apack, kc * NR, ct, m,
                                             k0 ? FC_ACCUMULATE : 0, NULL);
            }
            for (int64_t i = 0; i < m; i++)
                for (int64_t j = 0; j < nb; j++) {
                    const T v = ct[j * m + i];
                    c[i * ldc + j0 + j] = (flags & FC_RELU) && v < 0 ? 0 : v;
                }
        }
        fc_fp_restore(fp);
    }
}

void FN(fc_gemm)(T *c, const T *a, const T *b, int64_t m, int64_t n, int64_t k, int64_t rsa,
                 int64_t csa, int64_t rsb, int64_t csb, int64_t ldc, int flags, const T *bias,
                 T *workspace, int nthreads) {
    nthreads = fc_threads_for(2.0 * (double)m * (double)n * (double)k, nthreads);
    /* Enough column blocks that every thread has work even when m is one block (a dense layer's
       batch); block sizes never change the order of the k reduction. */
    const int64_t mblocks = (m + MC - 1) / MC;
    int64_t want = (2 * nthreads + mblocks - 1) / mblocks;
    if (want < 1) want = 1;
    int64_t nc = fc_round_up((n + want - 1) / want, NR);
    if (nc > FC_NC_MAX) nc = FC_NC_MAX;
    const int64_t nblocks = (n + nc - 1) / nc, tasks = mblocks * nblocks, kstep = fc_k_step(k);
    /* B read in place when its rows are contiguous (see in_place_block). */
    const int b_in_place = csb == 1;
    (void)nthreads;
    if (k > 0 && FN(transposed_applies)(m, n, rsb, csb, flags, bias)) {
        FN(gemm_transposed)(c, a, b, m, n, k, rsa, csa, csb, ldc, flags, workspace, nthreads);
        return;
    }
    if (k == 0) {
        for (int64_t i = 0; i < m; i++)
            for (int64_t j = 0; j < n; j++) {
                T v = (flags & FC_ACCUMULATE) ? c[i * ldc + j] : bias ? bias[j] : 0;
                c[i * ldc + j] = (flags & FC_RELU) && v < 0 ? 0 : v;
            }
        return;
    }
#ifdef _OPENMP
#pragma omp parallel num_threads(nthreads)
#endif
    {
        const fc_fp_state fp = fc_fp_fast();
        T *apack = FN(thread_workspace)(workspace);
        T *bpack = apack + MC * FC_KC;
#ifdef _OPENMP
#pragma omp for schedule(dynamic)
#endif
        for (int64_t t = 0; t < tasks; t++) {
            const int64_t i0 = (t / nblocks) * MC, j0 = (t % nblocks) * nc;
            const int64_t mc = m - i0 < MC ? m - i0 : MC, ncols = n - j0 < nc ? n - j0 : nc;
            for (int64_t k0 = 0; k0 < k; k0 += kstep) {
                const int64_t kc = k - k0 < kstep ? k - k0 : kstep;
                const int first = k0 == 0, last = k0 + kc == k;
                const int step_flags = (flags & FC_ACCUMULATE) | (first ? 0 : FC_ACCUMULATE) |
                                       (last ? flags & FC_RELU : 0);
                if (csa == 1) { /* rows of a are contiguous: read them in place, one run each */
                    const T *rows[MC];
                    const int64_t len = kc;
                    for (int64_t r = 0; r < fc_round_up(mc, MR); r++)
                        rows[r] = r < mc ? a + (i0 + r) * rsa + k0 : ZERO_RUN;
                    if (b_in_place) {
                        FN(in_place_block)(bpack, rows, mc, b + k0 * rsb + j0, rsb, ncols, kc,
                                           c + i0 * ldc + j0, ldc, step_flags,
                                           bias ? bias + j0 : NULL);
                        continue;
                    }
                    FN(fc_pack_b)(bpack, b + k0 * rsb + j0 * csb, rsb, csb, kc, ncols);
                    FN(fc_indirect_macro_kernel)(mc, ncols, 1, rows, &len, bpack, kc * NR,
                                                 c + i0 * ldc + j0, ldc, step_flags,
                                                 bias ? bias + j0 : NULL);
                    continue;
                }
                FN(fc_pack_b)(bpack, b + k0 * rsb + j0 * csb, rsb, csb, kc, ncols);
                FN(fc_pack_a)(apack, a + i0 * rsa + k0 * csa, rsa, csa, mc, kc);
                FN(fc_macro_kernel)(mc, ncols, kc, apack, bpack, kc * NR, c + i0 * ldc + j0, ldc,
                                    step_flags, bias ? bias + j0 : NULL);
            }
        }
        fc_fp_restore(fp);
    }
}

#undef ZERO_RUN
#undef FC_TRANSPOSED_MAX_M
#undef FN
#undef FC_CAT
#undef FC_CAT_
