/* Direct weight-gradient kernel for one input channel (C == 1, G == 1), where im2col would be a thin matrix of
   KH*KW columns and packing would cost more than the arithmetic. It reads a zero-padded copy of
   the images (xpad: N x Hp x Wp, see conv2d_impl.h) so the inner loop needs no bounds checks,
   and keeps TAPS taps x NR output channels in registers. Included by conv2d.c once per type and
   ISA with T, SFX, NR, TAPS, ISA and TARGET (the function attribute enabling the ISA) defined. */
#define FC_CAT3_(a, b, c) a##_##b##_##c
#define FC_CAT3(a, b, c) FC_CAT3_(a, b, c)
#define FNI(name) FC_CAT3(name, SFX, ISA)

/* Vectorize this loop (along the channels), not an outer one. */
#ifndef FC_SIMD
#if defined(__GNUC__) || defined(__clang__)
#define FC_SIMD _Pragma("omp simd")
#else
#define FC_SIMD
#endif
#endif

#define FC_PREFETCH_PIXELS 16 /* how far ahead the weight gradient prefetches dout */
#ifndef FC_PREFETCH
#if defined(__GNUC__) || defined(__clang__)
#define FC_PREFETCH(p) __builtin_prefetch(p)
#else
#define FC_PREFETCH(p) ((void)(p))
#endif
#endif

/* Unroll this loop fully: its accumulators then stay in registers. */
#ifndef FC_UNROLL
#if defined(__clang__)
#define FC_UNROLL _Pragma("unroll")
#elif defined(__GNUC__)
#define FC_UNROLL _Pragma("GCC unroll 16")
#else
#define FC_UNROLL
#endif
#endif

/* dweight[tap, f] = sum over images and pixels of xpad[tap window cell] * dout[pixel, f], and
   dbias[f] (when not NULL) = sum of dout[pixel, f], taken by the first tap block's tasks from the
   dout vectors they load anyway. The output rows (all images') go in blocks of FC_DIRECT_ROWS,
   the blocks in `segments` fixed runs. A task owns one run x TAPS taps x NR channels
   and sums its blocks in order into its run's partial (partials: segments x (taps + 1) x OC, the
   last row the bias's); the partials are then added in run order. Every sum's order depends on
   the shape alone, never on the thread count or TAPS, and the runs give every thread work. Each
   tap block reads all of dout, so the widest block the registers hold reads it least often. */
TARGET static void FNI(direct_c1_backward_weight)(T *dweight, T *dbias, const T *xpad,
                                                  const T *dout, const fc_conv2d_dims *d,
                                                  int64_t Hp, int64_t Wp, int64_t segments,
                                                  T *partials, int nthreads) {
    const int64_t OC = d->OC, taps = d->KH * d->KW, rows = d->N * d->OH;
    const int64_t partial_size = (taps + 1) * OC;
    const int64_t tap_blocks = (taps + TAPS - 1) / TAPS;
    const int64_t f_blocks = (OC + NR - 1) / NR;
    const int64_t blocks = (rows + FC_DIRECT_ROWS - 1) / FC_DIRECT_ROWS;
    (void)nthreads;
#ifdef _OPENMP
#pragma omp parallel num_threads(nthreads)
#endif
    {
        const fc_fp_state fp = fc_fp_fast();
#ifdef _OPENMP
#pragma omp for schedule(dynamic)
#endif
        for (int64_t task = 0; task < segments * tap_blocks * f_blocks; task++) {
            const int64_t segment = task / (tap_blocks * f_blocks), rest = task % (tap_blocks * f_blocks);
            const int64_t t0 = (rest / f_blocks) * TAPS, f0 = (rest % f_blocks) * NR;
            const int64_t nt = taps - t0 < TAPS ? taps - t0 : TAPS;
            const int64_t nf = OC - f0 < NR ? OC - f0 : NR;
            const int64_t first_row = blocks * segment / segments * FC_DIRECT_ROWS;
            int64_t end_row = blocks * (segment + 1) / segments * FC_DIRECT_ROWS;
            if (end_row > rows) end_row = rows;
            const int with_bias = dbias && t0 == 0;
            int64_t offset[TAPS];
            T sum[TAPS][NR] = {{0}}, bias_sum[NR] = {0};
            /* Missing taps of the last block repeat tap t0; their sums are never stored. */
            for (int i = 0; i < TAPS; i++) {
                const int64_t t = i < nt ? t0 + i : t0;
                offset[i] = (t / d->KW) * d->DH * Wp + (t % d->KW) * d->DW;
            }
            for (int64_t row0 = first_row; row0 < end_row; row0 += FC_DIRECT_ROWS) {
                const int64_t row1 = end_row - row0 < FC_DIRECT_ROWS ? end_row : row0 + FC_DIRECT_ROWS;
                if (nf == NR) {
                    /* Constant trip counts and block-local accumulators: they live in
                       registers. */
                    T acc[TAPS][NR] = {{0}}, accb[NR] = {0};
                    for (int64_t row = row0; row < row1; row++) {
                        const T *xrow = xpad + ((row / d->OH) * Hp + (row % d->OH) * d->SH) * Wp;
                        const T *g = dout + row * d->OW * OC + f0;
                        for (int64_t ow = 0; ow < d->OW; ow++, g += OC) {
                            const T *xo = xrow + ow * d->SW;
                            /* dout streams by once: ask for it early (2x as fast at 1 thread,
                               where the loads otherwise wait on memory) */
                            FC_PREFETCH(g + FC_PREFETCH_PIXELS * OC);
                            FC_PREFETCH(g + FC_PREFETCH_PIXELS * OC + 64 / sizeof(T));
                            FC_UNROLL
                            for (int i = 0; i < TAPS; i++) {
                                const T x = xo[offset[i]];
                                FC_SIMD
                                for (int j = 0; j < NR; j++) acc[i][j] += x * g[j];
                            }
                            if (with_bias) {
                                FC_SIMD
                                for (int j = 0; j < NR; j++) accb[j] += g[j];
                            }
                        }
                    }
                    for (int i = 0; i < TAPS; i++)
                        for (int j = 0; j < NR; j++) sum[i][j] += acc[i][j];
                    for (int j = 0; j < NR; j++) bias_sum[j] += accb[j];
                } else {
                    T acc[TAPS][NR] = {{0}}, accb[NR] = {0};
                    for (int64_t row = row0; row < row1; row++) {
                        const T *xrow = xpad + ((row / d->OH) * Hp + (row % d->OH) * d->SH) * Wp;
                        const T *g = dout + row * d->OW * OC + f0;
                        for (int64_t ow = 0; ow < d->OW; ow++, g += OC) {
                            const T *xo = xrow + ow * d->SW;
                            for (int i = 0; i < TAPS; i++)
                                for (int64_t j = 0; j < nf; j++) acc[i][j] += xo[offset[i]] * g[j];
                            if (with_bias)
                                for (int64_t j = 0; j < nf; j++) accb[j] += g[j];
                        }
                    }
                    for (int i = 0; i < TAPS; i++)
                        for (int64_t j = 0; j < nf; j++) sum[i][j] += acc[i][j];
                    for (int64_t j = 0; j < nf; j++) bias_sum[j] += accb[j];
                }
            }
            T *partial = partials + segment * partial_size;
            for (int64_t i = 0; i < nt; i++)
                for (int64_t j = 0; j < nf; j++) partial[(t0 + i) * OC + f0 + j] = sum[i][j];
            if (with_bias)
                for (int64_t j = 0; j < nf; j++) partial[taps * OC + f0 + j] = bias_sum[j];
        }
#ifdef _OPENMP
#pragma omp for schedule(static)
#endif
        for (int64_t k = 0; k < (dbias ? partial_size : taps * OC); k++) {
            T total = partials[k];
            for (int64_t s = 1; s < segments; s++) total += partials[s * partial_size + k];
            if (k < taps * OC)
                dweight[k] = total;
            else
                dbias[k - taps * OC] = total;
        }
        fc_fp_restore(fp);
    }
}

#undef FC_PREFETCH_PIXELS
#undef FNI
#undef FC_CAT3
#undef FC_CAT3_
