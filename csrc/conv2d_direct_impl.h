/* Direct weight-gradient kernel for a first layer (a few input channels, G == 1), where im2col
   would be a thin matrix of KH*KW*C columns and packing would cost more than the arithmetic. It
   reads a zero-padded copy of the images (xpad: N x Hp x Wp x C, see conv2d_impl.h) so the inner
   loop needs no bounds checks, and keeps TAPS taps x NR output channels in registers. Included
   by conv2d.c once per type and ISA with T, SFX, NR, TAPS, ISA and TARGET (the function
   attribute enabling the ISA) defined. */
#include "loop_hints.h"
#define FC_CAT3_(a, b, c) a##_##b##_##c
#define FC_CAT3(a, b, c) FC_CAT3_(a, b, c)
#define FNI(name) FC_CAT3(name, SFX, ISA)

#define FC_PREFETCH_PIXELS 16 /* how far ahead the weight gradient prefetches dout */
/* The gradient row `row` of the conv output receives at channels [f0, f0 + nf), and the distance
   between its pixels: dout's row in place, or, when act is given (dout is then the gradient of a
   2 x 2, stride-2, valid max pool over the ReLU output act), the row max_pool2d_backward with
   relu would write, built in `rows` (3 x OW x NR: a window row's two conv rows, then zeros for
   rows and columns past the last whole window) by pool_rule.h's rule. *pair names the window
   row in `rows`, so its second conv row comes for free. */
TARGET static const T *FNI(gradient_row)(int64_t *step, const T *dout, const T *act, T *rows,
                                         int64_t *pair, const fc_conv2d_dims *d, int64_t row,
                                         int64_t f0, int64_t nf) {
    const int64_t OC = d->OC, OW = d->OW, PH = d->OH / 2, PW = OW / 2;
    if (!act) {
        *step = OC;
        return dout + row * OW * OC + f0;
    }
    *step = NR;
    const int64_t n = row / d->OH, oh = row % d->OH;
    if (oh >= 2 * PH) {
        memset(rows + 2 * OW * NR, 0, (size_t)(OW * NR) * sizeof(T));
        return rows + 2 * OW * NR;
    }
    T *top = rows, *bottom = rows + OW * NR;
    if (*pair != n * PH + oh / 2) {
        *pair = n * PH + oh / 2;
        const T *a_top = act + (n * d->OH + oh / 2 * 2) * OW * OC + f0;
        const T *dy_row = dout + *pair * PW * OC + f0;
        for (int64_t pw = 0; pw < PW; pw++) {
            const T *x00 = a_top + 2 * pw * OC, *x01 = x00 + OC, *x10 = x00 + OW * OC;
            const T *x11 = x10 + OC, *dy = dy_row + pw * OC;
            T *d00 = top + 2 * pw * NR, *d01 = d00 + NR, *d10 = bottom + 2 * pw * NR;
            T *d11 = d10 + NR;
            /* act streams by once per row block: ask for it early */
            for (int64_t byte = 0; byte < nf * (int64_t)sizeof(T); byte += 64) {
                FC_PREFETCH((const char *)(x00 + FC_PREFETCH_PIXELS * OC) + byte);
                FC_PREFETCH((const char *)(x01 + FC_PREFETCH_PIXELS * OC) + byte);
                FC_PREFETCH((const char *)(x10 + FC_PREFETCH_PIXELS * OC) + byte);
                FC_PREFETCH((const char *)(x11 + FC_PREFETCH_PIXELS * OC) + byte);
            }
            FC_SIMD
            for (int64_t c = 0; c < nf; c++) {
                const T a = x00[c], b = x01[c], e = x10[c], f = x11[c];
                FC_POOL_2X2_BACKWARD(T, d00[c], d01[c], d10[c], d11[c], a, b, e, f, dy[c], 1);
            }
        }
        if (OW > 2 * PW)
            for (int64_t c = 0; c < NR; c++) top[2 * PW * NR + c] = bottom[2 * PW * NR + c] = 0;
    }
    return oh % 2 ? bottom : top;
}

/* The padded copy's row where output row `row` (of all images') has its windows' first row. */
TARGET static inline const T *FNI(window_row)(const T *xpad, const fc_conv2d_dims *d, int64_t Hp,
                                              int64_t Wp, int64_t row) {
    return xpad + ((row / d->OH) * Hp + (row % d->OH) * d->SH) * Wp * d->C;
}

/* Adds, over output rows [row0, row1), TAPS taps (`offset`: cells from a window's origin) x nf
   channels into acc, and the gradient itself into accb when with_bias. Row r's gradient starts
   at grad + (r - row0) * grad_row, its pixels gs apart (dout in place, or a block of pooled
   rows). Each tap's sum runs in pixel order. */
TARGET FC_INLINE void FNI(tap_block_sums)(T acc[TAPS][NR], T accb[NR], const T *xpad,
                                          const T *grad, int64_t grad_row, int64_t gs,
                                          const int64_t *offset, const fc_conv2d_dims *d,
                                          int64_t Hp, int64_t Wp, int64_t row0, int64_t row1,
                                          int64_t nf, int with_bias) {
    for (int64_t row = row0; row < row1; row++) {
        const T *xrow = FNI(window_row)(xpad, d, Hp, Wp, row);
        const T *g = grad + (row - row0) * grad_row;
        for (int64_t ow = 0; ow < d->OW; ow++, g += gs) {
            const T *xo = xrow + ow * d->SW * d->C;
            /* the first tap block's loads of dout wait on memory: ask for it early */
            FC_PREFETCH(g + FC_PREFETCH_PIXELS * gs);
            FC_PREFETCH(g + FC_PREFETCH_PIXELS * gs + 64 / sizeof(T));
            FC_UNROLL
            for (int i = 0; i < TAPS; i++) {
                const T x = xo[offset[i]];
                FC_SIMD
                for (int64_t j = 0; j < nf; j++) acc[i][j] += x * g[j];
            }
            if (with_bias) {
                FC_SIMD
                for (int64_t j = 0; j < nf; j++) accb[j] += g[j];
            }
        }
    }
}

/* dweight[tap, f] = sum over images and pixels of xpad[tap window cell] * dout[pixel, f], a tap
   being (kh, kw, c) in dweight's row order, and dbias[f] (when not NULL) = sum of dout[pixel, f],
   taken by the first tap block from the dout vectors it loads anyway. The output rows (all
   images') go in blocks of FC_DIRECT_ROWS, the blocks in `segments` fixed runs. A task owns one
   run x NR channels; per row block it sums TAPS taps at a time in registers into its run's
   partial (partials: segments x (taps + 1) x OC, the last row the bias's), reading the block's
   gradient rows once per tap block (from L2: dout in place, or with act the rows gradient_row
   builds, once per block, into the thread's `block_rows`, FC_DIRECT_ROWS x OW x NR); the partials
   are then added in run order. Every sum's order depends on the shape alone, never on the thread
   count or TAPS, and the runs give every thread work. */
TARGET static void FNI(direct_backward_weight)(T *dweight, T *dbias, const T *xpad,
                                               const T *dout, const T *act,
                                               const fc_conv2d_dims *d, int64_t Hp, int64_t Wp,
                                               int64_t segments, T *partials, T *pooled_rows,
                                               int nthreads) {
    const int64_t OC = d->OC, C = d->C, taps = d->KH * d->KW * C, rows = d->N * d->OH;
    const int64_t partial_size = (taps + 1) * OC;
    const int64_t f_blocks = (OC + NR - 1) / NR;
    const int64_t blocks = (rows + FC_DIRECT_ROWS - 1) / FC_DIRECT_ROWS;
    (void)nthreads;
#ifdef _OPENMP
#pragma omp parallel num_threads(nthreads)
#endif
    {
        const fc_fp_state fp = fc_fp_fast();
#ifdef _OPENMP
        const size_t thread = (size_t)omp_get_thread_num();
#else
        const size_t thread = 0;
#endif
        T *pair_rows = act ? pooled_rows + thread * (3 + FC_DIRECT_ROWS) * d->OW * NR : NULL;
        T *block_rows = act ? pair_rows + 3 * d->OW * NR : NULL;
#ifdef _OPENMP
#pragma omp for schedule(dynamic)
#endif
        for (int64_t task = 0; task < segments * f_blocks; task++) {
            const int64_t segment = task / f_blocks, f0 = (task % f_blocks) * NR;
            const int64_t nf = OC - f0 < NR ? OC - f0 : NR;
            const int64_t first_row = blocks * segment / segments * FC_DIRECT_ROWS;
            int64_t end_row = blocks * (segment + 1) / segments * FC_DIRECT_ROWS;
            if (end_row > rows) end_row = rows;
            T *partial = partials + segment * partial_size + f0;
            for (int64_t t = 0; t <= taps; t++)
                for (int64_t j = 0; j < nf; j++) partial[t * OC + j] = 0;
            int64_t pair = -1, gs = act ? NR : OC;
            for (int64_t row0 = first_row; row0 < end_row; row0 += FC_DIRECT_ROWS) {
                int64_t row1 = row0 + FC_DIRECT_ROWS;
                if (row1 > end_row) row1 = end_row;
                for (int64_t row = row0; act && row < row1; row++)
                    memcpy(block_rows + (row - row0) * d->OW * NR,
                           FNI(gradient_row)(&gs, dout, act, pair_rows, &pair, d, row, f0, nf),
                           (size_t)(d->OW * NR) * sizeof(T));
                for (int64_t t0 = 0; t0 < taps; t0 += TAPS) {
                    const int64_t nt = taps - t0 < TAPS ? taps - t0 : TAPS;
                    const int with_bias = dbias && t0 == 0;
                    int64_t offset[TAPS];
                    /* Missing taps of the last block repeat tap t0; their sums are never stored. */
                    for (int i = 0; i < TAPS; i++) {
                        const int64_t t = i < nt ? t0 + i : t0, k = t / C;
                        offset[i] = ((k / d->KW) * d->DH * Wp + (k % d->KW) * d->DW) * C + t % C;
                    }
                    T acc[TAPS][NR] = {{0}}, accb[NR] = {0};
                    const T *grad = act ? block_rows : dout + row0 * d->OW * OC + f0;
                    const int64_t grad_row = act ? d->OW * NR : d->OW * OC;
                    /* A constant channel count keeps the accumulators in registers. */
                    if (nf == NR)
                        FNI(tap_block_sums)(acc, accb, xpad, grad, grad_row, gs, offset, d, Hp, Wp,
                                            row0, row1, NR, with_bias);
                    else
                        FNI(tap_block_sums)(acc, accb, xpad, grad, grad_row, gs, offset, d, Hp, Wp,
                                            row0, row1, nf, with_bias);
                    for (int64_t i = 0; i < nt; i++)
                        for (int64_t j = 0; j < nf; j++) partial[(t0 + i) * OC + j] += acc[i][j];
                    if (with_bias)
                        for (int64_t j = 0; j < nf; j++) partial[taps * OC + j] += accb[j];
                }
            }
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
