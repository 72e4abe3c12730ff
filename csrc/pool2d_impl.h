/* Type-generic body of pool2d.c; included once per type with T and SFX defined.
   Every fast kernel splits its work into units that own disjoint parts of the output tensor
   (rows of out, rows or whole images of dinp), so the OpenMP loop over units needs no atomics and
   each element is computed by the same sequence of operations whatever the thread count. Inner
   loops run over the contiguous channel axis C; window bounds are clipped once per output row
   and column, never tested per cell. */

/* m[0:cn] = max over the real cells of the window of img[cell][0:cn] (NaN wins), where img
   points at the channel the run starts at and the window [h0, h1) x [w0, w1) is not empty. */
FC_INLINE void FN(window_max)(T *FC_RESTRICT m, const T *FC_RESTRICT img, int64_t W, int64_t C,
                              int64_t h0, int64_t h1, int64_t w0, int64_t w1, int64_t cn) {
    const T *first = img + (h0 * W + w0) * C;
    for (int64_t c = 0; c < cn; c++) m[c] = first[c];
    for (int64_t ih = h0; ih < h1; ih++) {
        for (int64_t iw = ih == h0 ? w0 + 1 : w0; iw < w1; iw++) {
            const T *x = img + (ih * W + iw) * C;
            for (int64_t c = 0; c < cn; c++) {
                const T v = x[c], cur = m[c];
                m[c] = FC_POOL_HIT_MAX(v, cur) ? v : cur;
            }
        }
    }
}

/* The max of a window's four cells in window order, NaN winning (window_max's rule). */
FC_INLINE T FN(max_of_4)(T a, T b, T e, T f) {
    T m;
    FC_POOL_MAX_OF_4(m, a, b, e, f);
    return m;
}

/* window_max of a whole 2 x 2 window at cell (h0, w0), in the same cell order: one pass over
   the channels with the running max in a register (window_max keeps it in m, a store and a
   reload per cell: 4x slower). */
FC_INLINE void FN(window_max_2x2)(T *FC_RESTRICT m, const T *FC_RESTRICT img, int64_t W,
                                  int64_t C, int64_t h0, int64_t w0) {
    const T *x00 = img + (h0 * W + w0) * C, *x01 = x00 + C, *x10 = x00 + W * C, *x11 = x10 + C;
    for (int64_t c = 0; c < C; c++) m[c] = FN(max_of_4)(x00[c], x01[c], x10[c], x11[c]);
}

/* One output row: out_row (OW, C) of image img (H, W, C). */
FC_INLINE void FC_CAT(FN(max_forward_row), body)(T *FC_RESTRICT out_row, const T *FC_RESTRICT img,
                                        const fc_pool_dims *d, int64_t oh) {
    int64_t h0, h1;
    window_span(oh, d->SH, d->PT, d->KH, d->H, &h0, &h1);
    for (int64_t ow = 0; ow < d->OW; ow++) {
        int64_t w0, w1;
        window_span(ow, d->SW, d->PL, d->KW, d->W, &w0, &w1);
        T *o = out_row + ow * d->C;
        if (h0 >= h1 || w0 >= w1) {
            for (int64_t c = 0; c < d->C; c++) o[c] = 0;
            continue;
        }
        if (h1 - h0 == 2 && w1 - w0 == 2)
            FN(window_max_2x2)(o, img, d->W, d->C, h0, w0);
        else
            FN(window_max)(o, img, d->W, d->C, h0, h1, w0, w1, d->C);
    }
}

FC_INLINE void FC_CAT(FN(avg_forward_row), body)(T *FC_RESTRICT out_row, const T *FC_RESTRICT img,
                                        const fc_pool_dims *d, int64_t oh) {
    int64_t h0, h1;
    window_span(oh, d->SH, d->PT, d->KH, d->H, &h0, &h1);
    for (int64_t ow = 0; ow < d->OW; ow++) {
        int64_t w0, w1;
        window_span(ow, d->SW, d->PL, d->KW, d->W, &w0, &w1);
        T *o = out_row + ow * d->C;
        for (int64_t c = 0; c < d->C; c++) o[c] = 0;
        if (h0 >= h1 || w0 >= w1) continue;
        for (int64_t ih = h0; ih < h1; ih++) {
            for (int64_t iw = w0; iw < w1; iw++) {
                const T *x = img + (ih * d->W + iw) * d->C;
                for (int64_t c = 0; c < d->C; c++) o[c] += x[c];
            }
        }
        const T count = (T)((h1 - h0) * (w1 - w0));
        for (int64_t c = 0; c < d->C; c++) o[c] = o[c] / count;
    }
}

/* The gradient of one whole 2 x 2 window at cell (h0, w0) of a pooling whose windows share no
   cell: max_backward_unit's rule (the first cell equal to the max, or the first NaN, takes dy;
   with relu, nothing unless the max is > 0), written straight into its four cells. */
FC_INLINE void FN(max_backward_2x2)(T *FC_RESTRICT dimg, const T *FC_RESTRICT dy,
                                    const T *FC_RESTRICT img, int64_t W, int64_t C, int64_t h0,
                                    int64_t w0, int relu) {
    const int64_t at = (h0 * W + w0) * C;
    const T *x00 = img + at, *x01 = x00 + C, *x10 = x00 + W * C, *x11 = x10 + C;
    T *d00 = dimg + at, *d01 = d00 + C, *d10 = d00 + W * C, *d11 = d10 + C;
    for (int64_t c = 0; c < C; c++) {
        const T a = x00[c], b = x01[c], e = x10[c], f = x11[c];
        FC_POOL_2X2_BACKWARD(T, d00[c], d01[c], d10[c], d11[c], a, b, e, f, dy[c], relu);
    }
}

/* Zeroes input rows [r0, r1) of dimg, which this unit owns, then adds the gradient of output
   rows [oh0, oh1), whose windows lie inside the owned rows. Per window and channel block: the
   max is recomputed, then the first cell equal to it (or the first NaN when the max is NaN)
   takes the gradient, found without branches by zeroing g once it has been given. With relu,
   a window whose max is not > 0 gives 0: ReLU's gradient at that cell. */
FC_INLINE void FC_CAT(FN(max_backward_unit), body)(T *FC_RESTRICT dimg, const T *FC_RESTRICT dout_img,
                                          const T *FC_RESTRICT img, const fc_pool_dims *d,
                                          int64_t oh0, int64_t oh1, int64_t r0, int64_t r1,
                                          int relu) {
    const int64_t W = d->W, C = d->C;
    /* 2 x 2 windows at stride 2 never share a cell: each writes its cells' gradients outright. */
    const int disjoint_2x2 = d->KH == 2 && d->KW == 2 && d->SH == 2 && d->SW == 2;
    T m[FC_POOL_CHANNEL_BLOCK], g[FC_POOL_CHANNEL_BLOCK];
    if (!disjoint_2x2 || d->PT != 0 || d->PL != 0 || d->H != 2 * d->OH || d->W != 2 * d->OW)
        memset(dimg + r0 * W * C, 0, (size_t)((r1 - r0) * W * C) * sizeof(T));
    for (int64_t oh = oh0; oh < oh1; oh++) {
        int64_t h0, h1;
        window_span(oh, d->SH, d->PT, d->KH, d->H, &h0, &h1);
        for (int64_t ow = 0; ow < d->OW; ow++) {
            int64_t w0, w1;
            window_span(ow, d->SW, d->PL, d->KW, d->W, &w0, &w1);
            if (h0 >= h1 || w0 >= w1) continue;
            const T *dy = dout_img + (oh * d->OW + ow) * C;
            if (disjoint_2x2 && h1 - h0 == 2 && w1 - w0 == 2) {
                /* relu as a constant in each inlined copy: a run-time flag in the loop keeps
                   GCC from vectorizing it for AVX2 */
                if (relu)
                    FN(max_backward_2x2)(dimg, dy, img, W, C, h0, w0, 1);
                else
                    FN(max_backward_2x2)(dimg, dy, img, W, C, h0, w0, 0);
                continue;
            }
            for (int64_t c0 = 0; c0 < C; c0 += FC_POOL_CHANNEL_BLOCK) {
                const int64_t cn = C - c0 < FC_POOL_CHANNEL_BLOCK ? C - c0 : FC_POOL_CHANNEL_BLOCK;
                FN(window_max)(m, img + c0, W, C, h0, h1, w0, w1, cn);
                if (relu)
                    for (int64_t c = 0; c < cn; c++) g[c] = m[c] > 0 ? dy[c0 + c] : (T)0;
                else
                    for (int64_t c = 0; c < cn; c++) g[c] = dy[c0 + c];
                for (int64_t ih = h0; ih < h1; ih++) {
                    for (int64_t iw = w0; iw < w1; iw++) {
                        const T *x = img + (ih * W + iw) * C + c0;
                        T *dx = dimg + (ih * W + iw) * C + c0;
                        for (int64_t c = 0; c < cn; c++) {
                            const T v = x[c], best = m[c], grad = g[c];
                            const int hit = FC_POOL_TAKES(v, best);
                            const T give = hit ? grad : (T)0, keep = hit ? (T)0 : grad;
                            /* dx is never -0 (it starts at +0), so adding +0 changes nothing. */
                            dx[c] += give;
                            g[c] = keep;
                        }
                    }
                }
            }
        }
    }
}

/* Adds (first: stores 0 +) one window's term dy * scale to the cells [w0, w1) of drow. */
FC_INLINE void FN(avg_backward_term)(T *FC_RESTRICT drow, const T *FC_RESTRICT dy, T scale,
                                     int64_t C, int64_t w0, int64_t w1, int first) {
    for (int64_t iw = w0; iw < w1; iw++) {
        T *dx = drow + iw * C;
        if (first) /* 0 + the first term, as a sum from zero rounds it */
            for (int64_t c = 0; c < C; c++) dx[c] = (T)0 + dy[c] * scale;
        else
            for (int64_t c = 0; c < C; c++) dx[c] += dy[c] * scale;
    }
}

/* One input row: drow (W, C) = the sum, over the windows covering each cell in output order,
   of dout / (real cells in the window). Gathering keeps the writes owned by this row. */
FC_INLINE void FC_CAT(FN(avg_backward_row), body)(T *FC_RESTRICT drow, const T *FC_RESTRICT dout_img,
                                         const fc_pool_dims *d, int64_t ih) {
    int64_t oh_lo = 0, oh_hi = 0;
    advance_covering_windows(ih, d->SH, d->PT, d->KH, d->OH, &oh_lo, &oh_hi);
    if (oh_lo >= oh_hi) { /* no window covers the row */
        for (int64_t i = 0; i < d->W * d->C; i++) drow[i] = 0;
        return;
    }
    if (d->SW >= d->KW) {
        /* Windows side by side: the cells of a window's columns share their covering windows,
           so each window's terms are written to its cells in one go (looked up per cell, the
           windows cost more than the sums: AMD Zen 3, 2x2 pools of 32 channels). */
        int64_t done = 0; /* columns [0, done) are written */
        for (int64_t ow = 0; ow < d->OW; ow++) {
            int64_t w0, w1;
            window_span(ow, d->SW, d->PL, d->KW, d->W, &w0, &w1);
            if (w0 >= w1) continue;
            for (int64_t i = done * d->C; i < w0 * d->C; i++) drow[i] = 0;
            for (int64_t oh = oh_lo; oh < oh_hi; oh++) {
                int64_t h0, h1;
                window_span(oh, d->SH, d->PT, d->KH, d->H, &h0, &h1);
                const T scale = (T)1 / (T)((h1 - h0) * (w1 - w0));
                FN(avg_backward_term)(drow, dout_img + (oh * d->OW + ow) * d->C, scale, d->C, w0,
                                      w1, oh == oh_lo);
            }
            done = w1;
        }
        for (int64_t i = done * d->C; i < d->W * d->C; i++) drow[i] = 0;
        return;
    }
    /* Overlapping windows: the columns' covering windows advance with iw, and a window's scale
       is divided out only when its cell count changes. */
    int64_t ow_lo = 0, ow_hi = 0, count = 0;
    T scale = 0;
    for (int64_t iw = 0; iw < d->W; iw++) {
        advance_covering_windows(iw, d->SW, d->PL, d->KW, d->OW, &ow_lo, &ow_hi);
        T *dx = drow + iw * d->C;
        int first = 1;
        for (int64_t oh = oh_lo; oh < oh_hi; oh++) {
            int64_t h0, h1;
            window_span(oh, d->SH, d->PT, d->KH, d->H, &h0, &h1);
            for (int64_t ow = ow_lo; ow < ow_hi; ow++) {
                int64_t w0, w1;
                window_span(ow, d->SW, d->PL, d->KW, d->W, &w0, &w1);
                if ((h1 - h0) * (w1 - w0) != count)
                    count = (h1 - h0) * (w1 - w0), scale = (T)1 / (T)count;
                FN(avg_backward_term)(dx, dout_img + (oh * d->OW + ow) * d->C, scale, d->C, 0, 1,
                                      first);
                first = 0;
            }
        }
        if (first)
            for (int64_t c = 0; c < d->C; c++) dx[c] = 0;
    }
}

FC_ISA_VARIANTS(FN(max_forward_row), (T *out_row, const T *img, const fc_pool_dims *d, int64_t oh),
                 (out_row, img, d, oh))
FC_ISA_VARIANTS(FN(avg_forward_row), (T *out_row, const T *img, const fc_pool_dims *d, int64_t oh),
                 (out_row, img, d, oh))
FC_ISA_VARIANTS(FN(max_backward_unit),
                 (T *dimg, const T *dout_img, const T *img, const fc_pool_dims *d, int64_t oh0,
                  int64_t oh1, int64_t r0, int64_t r1, int relu),
                 (dimg, dout_img, img, d, oh0, oh1, r0, r1, relu))
FC_ISA_VARIANTS(FN(avg_backward_row), (T *drow, const T *dout_img, const fc_pool_dims *d, int64_t ih),
                 (drow, dout_img, d, ih))

/* Runs a row kernel over the N*OH output rows. */
static void FN(forward_rows)(void (*row)(T *, const T *, const fc_pool_dims *, int64_t), T *out,
                             const T *inp, const fc_pool_dims *d, int nthreads) {
    const int64_t rows = d->N * d->OH;
    (void)nthreads;
#ifdef _OPENMP
#pragma omp parallel num_threads(nthreads) if (parallel_worth_it(d))
#endif
    {
        const fc_fp_state fp = fc_fp_fast();
#ifdef _OPENMP
#pragma omp for schedule(static)
#endif
        for (int64_t r = 0; r < rows; r++) {
            const int64_t n = r / d->OH, oh = r % d->OH;
            row(out + r * d->OW * d->C, inp + n * d->H * d->W * d->C, d, oh);
        }
        fc_fp_restore(fp);
    }
}

void FN(max_pool2d_forward)(T *out, const T *inp, int64_t N, int64_t H, int64_t W, int64_t C,
                            int64_t OH, int64_t OW, int64_t KH, int64_t KW, int64_t SH, int64_t SW,
                            int64_t PT, int64_t PL, int nthreads) {
    const fc_pool_dims d = {N, H, W, C, OH, OW, KH, KW, SH, SW, PT, PL};
    FN(forward_rows)(FC_ISA_PICK(FN(max_forward_row)), out, inp, &d, nthreads);
}

void FN(avg_pool2d_forward)(T *out, const T *inp, int64_t N, int64_t H, int64_t W, int64_t C,
                            int64_t OH, int64_t OW, int64_t KH, int64_t KW, int64_t SH, int64_t SW,
                            int64_t PT, int64_t PL, int nthreads) {
    const fc_pool_dims d = {N, H, W, C, OH, OW, KH, KW, SH, SW, PT, PL};
    FN(forward_rows)(FC_ISA_PICK(FN(avg_forward_row)), out, inp, &d, nthreads);
}

void FN(max_pool2d_backward)(T *dinp, const T *dout, const T *inp, int64_t N, int64_t H,
                             int64_t W, int64_t C, int64_t OH, int64_t OW, int64_t KH, int64_t KW,
                             int64_t SH, int64_t SW, int64_t PT, int64_t PL, int relu,
                             int nthreads) {
    const fc_pool_dims d = {N, H, W, C, OH, OW, KH, KW, SH, SW, PT, PL};
    void (*unit)(T *, const T *, const T *, const fc_pool_dims *, int64_t, int64_t, int64_t,
                 int64_t, int) = FC_ISA_PICK(FN(max_backward_unit));
    /* When windows do not overlap vertically, output row oh owns input rows
       [oh*SH - PT, (oh+1)*SH - PT) (the first and last rows also own the margins); otherwise a
       unit is a whole image. */
    const int by_rows = SH >= KH;
    const int64_t per_image = by_rows ? OH : 1, units = N * per_image;
    const int64_t image = H * W * C;
    (void)nthreads;
#ifdef _OPENMP
#pragma omp parallel num_threads(nthreads) if (parallel_worth_it(&d))
#endif
    {
        const fc_fp_state fp = fc_fp_fast();
#ifdef _OPENMP
#pragma omp for schedule(static)
#endif
        for (int64_t u = 0; u < units; u++) {
            const int64_t n = u / per_image;
            int64_t oh0 = 0, oh1 = OH, r0 = 0, r1 = H;
            if (by_rows) {
                oh0 = u % per_image;
                oh1 = oh0 + 1;
                r0 = oh0 == 0 ? 0 : oh0 * SH - PT;
                r1 = oh1 == OH ? H : oh1 * SH - PT;
                r0 = r0 < 0 ? 0 : r0 > H ? H : r0;
                r1 = r1 < r0 ? r0 : r1 > H ? H : r1;
            }
            unit(dinp + n * image, dout + n * OH * OW * C, inp + n * image, &d, oh0, oh1, r0, r1,
                 relu);
        }
        fc_fp_restore(fp);
    }
}

void FN(avg_pool2d_backward)(T *dinp, const T *dout, int64_t N, int64_t H, int64_t W, int64_t C,
                             int64_t OH, int64_t OW, int64_t KH, int64_t KW, int64_t SH,
                             int64_t SW, int64_t PT, int64_t PL, int nthreads) {
    const fc_pool_dims d = {N, H, W, C, OH, OW, KH, KW, SH, SW, PT, PL};
    void (*row)(T *, const T *, const fc_pool_dims *, int64_t) = FC_ISA_PICK(FN(avg_backward_row));
    const int64_t rows = N * H;
    (void)nthreads;
#ifdef _OPENMP
#pragma omp parallel num_threads(nthreads) if (parallel_worth_it(&d))
#endif
    {
        const fc_fp_state fp = fc_fp_fast();
#ifdef _OPENMP
#pragma omp for schedule(static)
#endif
        for (int64_t r = 0; r < rows; r++) {
            const int64_t n = r / H, ih = r % H;
            row(dinp + r * W * C, dout + n * OH * OW * C, &d, ih);
        }
        fc_fp_restore(fp);
    }
}

/* ---- Plain loop twins: per output element, bounds tested per cell, no shared helpers. ---- */

/* Flat index of the first maximal real cell of window (n, oh, ow) at channel c (the first NaN
   when there is one), or -1 when the window has no real cell. */
static int64_t FN(naive_argmax)(const T *inp, const fc_pool_dims *d, int64_t n, int64_t oh,
                                int64_t ow, int64_t c) {
    int64_t best = -1;
    T best_value = 0;
    for (int64_t kh = 0; kh < d->KH; kh++) {
        for (int64_t kw = 0; kw < d->KW; kw++) {
            const int64_t ih = oh * d->SH - d->PT + kh, iw = ow * d->SW - d->PL + kw;
            if (ih < 0 || ih >= d->H || iw < 0 || iw >= d->W) continue;
            const int64_t at = ((n * d->H + ih) * d->W + iw) * d->C + c;
            const T v = inp[at];
            const int nan_first = v != v && best_value == best_value;
            if (best < 0 || v > best_value || nan_first) {
                best = at;
                best_value = v;
            }
        }
    }
    return best;
}

void FN(max_pool2d_forward_naive)(T *out, const T *inp, int64_t N, int64_t H, int64_t W,
                                  int64_t C, int64_t OH, int64_t OW, int64_t KH, int64_t KW,
                                  int64_t SH, int64_t SW, int64_t PT, int64_t PL) {
    const fc_pool_dims d = {N, H, W, C, OH, OW, KH, KW, SH, SW, PT, PL};
    for (int64_t n = 0; n < N; n++)
        for (int64_t oh = 0; oh < OH; oh++)
            for (int64_t ow = 0; ow < OW; ow++)
                for (int64_t c = 0; c < C; c++) {
                    const int64_t at = FN(naive_argmax)(inp, &d, n, oh, ow, c);
                    out[((n * OH + oh) * OW + ow) * C + c] = at < 0 ? 0 : inp[at];
                }
}

void FN(max_pool2d_backward_naive)(T *dinp, const T *dout, const T *inp, int64_t N, int64_t H,
                                   int64_t W, int64_t C, int64_t OH, int64_t OW, int64_t KH,
                                   int64_t KW, int64_t SH, int64_t SW, int64_t PT, int64_t PL) {
    const fc_pool_dims d = {N, H, W, C, OH, OW, KH, KW, SH, SW, PT, PL};
    for (int64_t i = 0; i < N * H * W * C; i++) dinp[i] = 0;
    for (int64_t n = 0; n < N; n++)
        for (int64_t oh = 0; oh < OH; oh++)
            for (int64_t ow = 0; ow < OW; ow++)
                for (int64_t c = 0; c < C; c++) {
                    const int64_t at = FN(naive_argmax)(inp, &d, n, oh, ow, c);
                    if (at >= 0) dinp[at] += dout[((n * OH + oh) * OW + ow) * C + c];
                }
}

void FN(avg_pool2d_forward_naive)(T *out, const T *inp, int64_t N, int64_t H, int64_t W,
                                  int64_t C, int64_t OH, int64_t OW, int64_t KH, int64_t KW,
                                  int64_t SH, int64_t SW, int64_t PT, int64_t PL) {
    for (int64_t n = 0; n < N; n++)
        for (int64_t oh = 0; oh < OH; oh++)
            for (int64_t ow = 0; ow < OW; ow++)
                for (int64_t c = 0; c < C; c++) {
                    T sum = 0;
                    int64_t count = 0;
                    for (int64_t kh = 0; kh < KH; kh++)
                        for (int64_t kw = 0; kw < KW; kw++) {
                            const int64_t ih = oh * SH - PT + kh, iw = ow * SW - PL + kw;
                            if (ih < 0 || ih >= H || iw < 0 || iw >= W) continue;
                            sum += inp[((n * H + ih) * W + iw) * C + c];
                            count++;
                        }
                    out[((n * OH + oh) * OW + ow) * C + c] = count ? sum / (T)count : 0;
                }
}

void FN(avg_pool2d_backward_naive)(T *dinp, const T *dout, int64_t N, int64_t H, int64_t W,
                                   int64_t C, int64_t OH, int64_t OW, int64_t KH, int64_t KW,
                                   int64_t SH, int64_t SW, int64_t PT, int64_t PL) {
    for (int64_t i = 0; i < N * H * W * C; i++) dinp[i] = 0;
    for (int64_t n = 0; n < N; n++)
        for (int64_t oh = 0; oh < OH; oh++)
            for (int64_t ow = 0; ow < OW; ow++) {
                int64_t count = 0;
                for (int64_t kh = 0; kh < KH; kh++)
                    for (int64_t kw = 0; kw < KW; kw++) {
                        const int64_t ih = oh * SH - PT + kh, iw = ow * SW - PL + kw;
                        count += ih >= 0 && ih < H && iw >= 0 && iw < W;
                    }
                if (count == 0) continue;
                const T scale = (T)1 / (T)count;
                for (int64_t kh = 0; kh < KH; kh++)
                    for (int64_t kw = 0; kw < KW; kw++) {
                        const int64_t ih = oh * SH - PT + kh, iw = ow * SW - PL + kw;
                        if (ih < 0 || ih >= H || iw < 0 || iw >= W) continue;
                        for (int64_t c = 0; c < C; c++)
                            dinp[((n * H + ih) * W + iw) * C + c] +=
                                dout[((n * OH + oh) * OW + ow) * C + c] * scale;
                    }
            }
}
