/* Type- and geometry-generic body of conv2d.c; included once per (type, geometry) with T, TSFX
   (type suffix), SFX (e.g. f32_wide), MR, NR and MC defined.
   GEMM views (per image n and group g, P = OH*OW pixels, Kg = KH*KW*C/G, Fg = OC/G):
     forward          out (P x Fg)    = im2col(inp) (P x Kg) * weight (Kg x Fg)
     backward input   dcol (P x Kg)   = dout (P x Fg) * weight^T (Fg x Kg), then col2im into dinp
     backward weight  dweight (Kg x Fg) = sum over images of im2col(inp)^T (Kg x P) * dout (P x Fg)
   im2col column k is the tap (kh, kw) = divmod(k / (C/G), KW) at input channel k % (C/G). */
#define FC_CAT_(a, b) a##_##b
#define FC_CAT(a, b) FC_CAT_(a, b)
#define FN(name) FC_CAT(name, SFX)

#ifndef FC_CONV2D_RUNS
#define FC_CONV2D_RUNS
/* A run of im2col columns that come from one kernel tap: `len` consecutive input channels
   starting at channel `src`, read at offset (dh, dw) from a pixel's window origin, landing at
   column `col` of the block. Precomputed per block so the packers' inner loops do no division. */
typedef struct {
    int64_t dh, dw, src, len, col;
} fc_tap_run;

/* Splits im2col columns [k0, k0 + kc) of group g into runs; returns how many (<= kc). */
static int64_t fc_tap_runs(fc_tap_run *runs, const fc_conv2d_dims *d, int64_t g, int64_t k0,
                           int64_t kc) {
    const int64_t Cg = d->C / d->G;
    int64_t count = 0, col = 0, tap = k0 / Cg, c = k0 % Cg;
    while (col < kc) {
        fc_tap_run *run = &runs[count++];
        run->dh = (tap / d->KW) * d->DH;
        run->dw = (tap % d->KW) * d->DW;
        run->src = g * Cg + c;
        run->len = Cg - c < kc - col ? Cg - c : kc - col;
        run->col = col;
        col += run->len;
        c = 0;
        tap++;
    }
    return count;
}
#endif

/* Gathers rows [m0, m0+mc) x the columns covered by `runs` of image `x`'s im2col matrix into
   MR-row slivers (kc columns), as fc_pack_a would from a materialized matrix. */
static void FN(pack_im2col)(T *dst, const T *x, const fc_conv2d_dims *d, const fc_tap_run *runs,
                            int64_t nruns, int64_t m0, int64_t mc, int64_t kc) {
    const int64_t mpad = fc_round_up(mc, MR);
    for (int64_t r = 0; r < mpad; r++) {
        T *row = dst + (r / MR) * kc * MR + r % MR;
        if (r >= mc) {
            for (int64_t k = 0; k < kc; k++) row[k * MR] = 0;
            continue;
        }
        const int64_t p = m0 + r;
        const int64_t ih0 = (p / d->OW) * d->SH - d->PT, iw0 = (p % d->OW) * d->SW - d->PL;
        for (const fc_tap_run *run = runs; run < runs + nruns; run++) {
            const int64_t ih = ih0 + run->dh, iw = iw0 + run->dw;
            T *o = row + run->col * MR;
            if (ih >= 0 && ih < d->H && iw >= 0 && iw < d->W) {
                const T *src = x + (ih * d->W + iw) * d->C + run->src;
                if (run->len == 1) /* one channel per tap: skip the loop's set-up */
                    o[0] = src[0];
                else
                    for (int64_t t = 0; t < run->len; t++) o[t * MR] = src[t];
            } else {
                for (int64_t t = 0; t < run->len; t++) o[t * MR] = 0;
            }
        }
    }
}

/* Gathers rows [p0, p0+pc) x the (<= NR) columns covered by `runs` of image `x`'s im2col
   matrix into one NR-column sliver, as fc_pack_b would from a materialized matrix. */
static void FN(pack_im2col_sliver)(T *dst, const T *x, const fc_conv2d_dims *d,
                                   const fc_tap_run *runs, int64_t nruns, int64_t nr, int64_t p0,
                                   int64_t pc) {
    int64_t oh = p0 / d->OW, ow = p0 % d->OW;
    if (nruns == 1 && nr == NR) { /* the common case: NR channels of one tap, a fixed-size copy */
        const int64_t dh = runs[0].dh, dw = runs[0].dw, src = runs[0].src;
        for (int64_t q = 0; q < pc; q++, dst += NR) {
            const int64_t ih = oh * d->SH - d->PT + dh, iw = ow * d->SW - d->PL + dw;
            if (ih >= 0 && ih < d->H && iw >= 0 && iw < d->W) {
                const T *from = x + (ih * d->W + iw) * d->C + src;
                for (int64_t j = 0; j < NR; j++) dst[j] = from[j];
            } else {
                for (int64_t j = 0; j < NR; j++) dst[j] = 0;
            }
            if (++ow == d->OW) ow = 0, oh++;
        }
        return;
    }
    for (int64_t q = 0; q < pc; q++, dst += NR) {
        const int64_t ih0 = oh * d->SH - d->PT, iw0 = ow * d->SW - d->PL;
        for (const fc_tap_run *run = runs; run < runs + nruns; run++) {
            const int64_t ih = ih0 + run->dh, iw = iw0 + run->dw;
            T *o = dst + run->col;
            if (ih >= 0 && ih < d->H && iw >= 0 && iw < d->W) {
                const T *src = x + (ih * d->W + iw) * d->C + run->src;
                for (int64_t t = 0; t < run->len; t++) o[t] = src[t];
            } else {
                for (int64_t t = 0; t < run->len; t++) o[t] = 0;
            }
        }
        for (int64_t j = nr; j < NR; j++) dst[j] = 0;
        if (++ow == d->OW) ow = 0, oh++;
    }
}

/* With at least this many channels per group, the forward pass reads im2col rows in place
   through pointers (fc_ukri) instead of packing them: each tap's run of channels is long enough
   to stream. A k-chunk then holds at most FC_INDIRECT_MAX_RUNS runs. */
#ifndef FC_INDIRECT_MIN_CHANNELS
#define FC_INDIRECT_MIN_CHANNELS 8
#define FC_INDIRECT_MAX_RUNS (FC_KC / FC_INDIRECT_MIN_CHANNELS + 2)
#endif

/* Row pointers of rows [m0, m0+mc) x the runs of image `x`'s im2col matrix, in fc_ukri's layout
   (per MR-row sliver, per run, MR pointers); padding and rows past the block read zeros. */
static void FN(im2col_rows)(const T **rows, const T *x, const fc_conv2d_dims *d,
                            const fc_tap_run *runs, int64_t nruns, int64_t m0, int64_t mc) {
    const int64_t mpad = fc_round_up(mc, MR);
    for (int64_t r = 0; r < mpad; r++) {
        const T **row = rows + (r / MR) * nruns * MR + r % MR;
        if (r >= mc) {
            for (int64_t k = 0; k < nruns; k++) row[k * MR] = FC_CAT(fc_zero_run, TSFX);
            continue;
        }
        const int64_t p = m0 + r;
        const int64_t ih0 = (p / d->OW) * d->SH - d->PT, iw0 = (p % d->OW) * d->SW - d->PL;
        for (int64_t k = 0; k < nruns; k++) {
            const int64_t ih = ih0 + runs[k].dh, iw = iw0 + runs[k].dw;
            row[k * MR] = ih >= 0 && ih < d->H && iw >= 0 && iw < d->W
                                 ? x + (ih * d->W + iw) * d->C + runs[k].src
                                 : FC_CAT(fc_zero_run, TSFX);
        }
    }
}

/* ---- first layers: direct kernels (conv2d_direct_impl.h, conv2d_first_layer_impl.h) over a
   zero-padded copy of the input, or the input itself when a valid convolution reads all of
   it ---- */

#ifndef FC_FIRST_LAYER_MAX_C
#define FC_FIRST_LAYER_MAX_C 3
#endif

/* A few input channels: the direct weight gradient. */
static int FN(direct_weight_applies)(const fc_conv2d_dims *d) {
    return d->G == 1 && d->C <= FC_FIRST_LAYER_MAX_C;
}

/* The direct forward pass too (its tap offsets fit one FC_KC table). */
static int FN(is_first_layer)(const fc_conv2d_dims *d) {
    return d->G == 1 && d->C <= FC_FIRST_LAYER_MAX_C && d->KH * d->KW * d->C <= FC_KC;
}

/* Rows and columns of the padded copy: exactly the cells some output window reads. */
static int64_t FN(padded_rows)(const fc_conv2d_dims *d) { return (d->OH - 1) * d->SH + (d->KH - 1) * d->DH + 1; }
static int64_t FN(padded_cols)(const fc_conv2d_dims *d) { return (d->OW - 1) * d->SW + (d->KW - 1) * d->DW + 1; }

static int FN(padded_workspace)(const fc_conv2d_dims *d, size_t *elements) {
    size_t size;
    if (!fc_mul_size((size_t)d->N, (size_t)FN(padded_rows)(d), &size) ||
        !fc_mul_size(size, (size_t)FN(padded_cols)(d), &size) ||
        !fc_mul_size(size, (size_t)d->C, &size))
        return 0;
    *elements = size;
    return 1;
}

/* xpad (N x Hp x Wp x C) = inp with its padding written out as zeros. */
static void FN(pad_input)(T *xpad, const T *inp, const fc_conv2d_dims *d, int nthreads) {
    const int64_t Hp = FN(padded_rows)(d), Wp = FN(padded_cols)(d), C = d->C;
    (void)nthreads;
#ifdef _OPENMP
#pragma omp parallel for schedule(static) num_threads(nthreads)
#endif
    for (int64_t row = 0; row < d->N * Hp; row++) {
        const int64_t n = row / Hp, ih = row % Hp - d->PT;
        T *dst = xpad + row * Wp * C;
        /* input columns [lo, hi) land at padded columns [lo + PL, hi + PL); the rest is zeros */
        const int64_t lo = d->PL < 0 ? -d->PL : 0;
        const int64_t hi = d->W < Wp - d->PL ? d->W : Wp - d->PL;
        if (ih < 0 || ih >= d->H || lo >= hi) {
            memset(dst, 0, (size_t)(Wp * C) * sizeof(T));
            continue;
        }
        memset(dst, 0, (size_t)((lo + d->PL) * C) * sizeof(T));
        memcpy(dst + (lo + d->PL) * C, inp + ((n * d->H + ih) * d->W + lo) * C,
               (size_t)((hi - lo) * C) * sizeof(T));
        memset(dst + (hi + d->PL) * C, 0, (size_t)((Wp - hi - d->PL) * C) * sizeof(T));
    }
}

/* The padded copy of inp: inp itself when it has no padding and every row and column is read
   (a valid convolution whose windows tile it exactly), else written into xpad. */
static const T *FN(padded_input)(T *xpad, const T *inp, const fc_conv2d_dims *d, int nthreads) {
    if (d->PT == 0 && d->PL == 0 && FN(padded_rows)(d) == d->H && FN(padded_cols)(d) == d->W)
        return inp;
    FN(pad_input)(xpad, inp, d, nthreads);
    return xpad;
}

/* Runs of row blocks of the direct weight gradient (conv2d.c): fewer for small inputs. */
static int64_t FN(direct_segments)(const fc_conv2d_dims *d) {
    const int64_t blocks = (d->N * d->OH + FC_DIRECT_ROWS - 1) / FC_DIRECT_ROWS;
    return blocks < FC_DIRECT_SEGMENTS ? blocks : FC_DIRECT_SEGMENTS;
}

/* The widest block of filters a direct kernel (conv2d_direct_impl.h, conv2d_first_layer_impl.h)
   keeps per thread in the buffers sized below: two AVX-512 vectors. */
static size_t FN(widest_filter_block)(void) { return FC_WIDE_NR_F32 * sizeof(float) / sizeof(T); }

/* The first-layer forward kernel's workspace: the padded copy, then from a cache line its packed
   weights (taps x OC rounded up to the widest block of filters). *weights_at: their offset. */
static int FN(first_layer_workspace)(const fc_conv2d_dims *d, size_t *elements,
                                     size_t *weights_at) {
    const int64_t line = 64 / (int64_t)sizeof(T);
    const int64_t filters = fc_round_up(d->OC, (int64_t)FN(widest_filter_block)());
    size_t padded, packed;
    if (!FN(padded_workspace)(d, &padded) ||
        !fc_mul_size((size_t)(d->KH * d->KW * d->C), (size_t)filters, &packed))
        return 0;
    *weights_at = (size_t)fc_round_up((int64_t)padded, line);
    return fc_add_size(*weights_at, (size_t)fc_round_up((int64_t)packed, line), elements);
}

/* The workspace of the direct weight gradient: the padded copy, then the segments' partial
   sums (kernel and bias) on a cache line, then, with `pooled`, each thread's gradient rows
   (3 + FC_DIRECT_ROWS rows of OW x NR: conv2d_direct_impl.h's gradient_row builds a window row
   in the first 3, and a row block is kept in the rest). Returns 0 on overflow; *partials and
   *rows are offsets into it. */
static int FN(direct_weight_layout)(const fc_conv2d_dims *d, int pooled, int nthreads,
                                    size_t *partials, size_t *rows, size_t *elements) {
    const size_t line = 64 / sizeof(T);
    size_t padded, sums, per_thread, buffers = 0;
    if (!FN(padded_workspace)(d, &padded) ||
        !fc_mul_size((size_t)((d->KH * d->KW * d->C + 1) * d->OC), (size_t)FN(direct_segments)(d),
                     &sums) ||
        !fc_mul_size((size_t)((3 + FC_DIRECT_ROWS) * d->OW), FN(widest_filter_block)(),
                     &per_thread) ||
        (pooled && !fc_mul_size(per_thread, (size_t)nthreads, &buffers)))
        return 0;
    *partials = (size_t)fc_round_up((int64_t)padded, (int64_t)line);
    if (!fc_add_size(*partials, sums, rows)) return 0;
    *rows = (size_t)fc_round_up((int64_t)*rows, (int64_t)line);
    return fc_add_size(*rows, buffers, elements);
}

static int FN(direct_weight_workspace)(const fc_conv2d_dims *d, int pooled, int nthreads,
                                       size_t *elements) {
    size_t partials, rows;
    return FN(direct_weight_layout)(d, pooled, nthreads, &partials, &rows, elements);
}

/* dout is the conv output's gradient, or with act (the ReLU output of the conv) the gradient of
   a 2 x 2, stride-2, valid max pool over act (conv2d_backward_weight_pooled). */
static void FN(direct_weight_backward)(T *dweight, T *dbias, const T *dout, const T *act,
                                       const T *inp, const fc_conv2d_dims *d, T *workspace,
                                       int nthreads) {
    size_t partials = 0, rows = 0, elements;
    FN(direct_weight_layout)(d, act != NULL, nthreads, &partials, &rows, &elements);
    const T *xpad = FN(padded_input)(workspace, inp, d, nthreads);
    FC_CAT(direct_backward_weight, TSFX)(
        dweight, dbias, xpad, dout, act, d, FN(padded_rows)(d), FN(padded_cols)(d),
        FN(direct_segments)(d), workspace + partials, workspace + rows, nthreads);
}

/* dst[i] += src[i]; the buffers never overlap, which lets the compiler vectorize. */
static inline void FN(add_row)(T *restrict dst, const T *restrict src, int64_t n) {
    for (int64_t i = 0; i < n; i++) dst[i] += src[i];
}

static int FN(thread_id)(void) {
#ifdef _OPENMP
    return omp_get_thread_num();
#else
    return 0;
#endif
}

static int64_t FN(kg)(const fc_conv2d_dims *d) { return d->KH * d->KW * (d->C / d->G); }

/* FLOPs of one pass (forward, input gradient or weight gradient: they are equal). */
static double FN(pass_flops)(const fc_conv2d_dims *d) {
    return 2.0 * (double)d->N * (double)d->OH * (double)d->OW * (double)FN(kg)(d) * (double)d->OC;
}


static int FN(gemm_forward_workspace_size)(const fc_conv2d_dims *d, int nthreads,
                                           size_t *elements) {
    size_t packed_weights, panels;
    if (!fc_mul_size((size_t)FN(kg)(d), (size_t)fc_round_up(d->OC / d->G, NR), &packed_weights) ||
        !fc_mul_size(packed_weights, (size_t)d->G, &packed_weights) ||
        !fc_mul_size((size_t)MC * FC_KC, (size_t)nthreads, &panels))
        return 0;
    return fc_add_size(packed_weights, panels, elements);
}

/* The weight gradients sum over their items (images, or Winograd's tiles) in this many fixed
   segments, fewer for few items or when the partial sums would exceed FC_WGRAD_PARTIAL_MAX
   elements: threads share the work without sharing a sum, and the segments are added in order,
   so the result depends on the shape alone, never on the thread count. */
#define FC_WGRAD_SEGMENTS 8
#define FC_WGRAD_PARTIAL_MAX ((int64_t)1 << 20)

static int64_t FN(sum_segments)(int64_t items, int64_t partial) {
    int64_t segments = items < FC_WGRAD_SEGMENTS ? items : FC_WGRAD_SEGMENTS;
    while (segments > 1 && segments * partial > FC_WGRAD_PARTIAL_MAX) segments--;
    return segments;
}

static void FN(gemm_forward)(T *out, const T *inp, const T *weight, const T *bias,
                             const T *relu_mask, const fc_conv2d_dims *d, int relu, T *workspace,
                             int nthreads);

#include "conv2d_winograd_impl.h"

/* A forward convolution of many channels (the forward pass, or the input gradient's rotated
   one) by the fastest kernel that takes its shape: Winograd, else the GEMM. Its workspace fits
   either kernel when the shape admits Winograd's, so that the switch (conv2d_set_winograd) can
   never leave a kernel a workspace sized for the other. */
static int FN(convolution_workspace_size)(const fc_conv2d_dims *d, int nthreads,
                                          size_t *elements) {
    size_t winograd = 0;
    if (!FN(gemm_forward_workspace_size)(d, nthreads, elements) ||
        (FN(winograd_shape)(d) && !FN(winograd_workspace_size)(d, nthreads, &winograd)))
        return 0;
    if (winograd > *elements) *elements = winograd;
    return 1;
}

static void FN(convolution)(T *out, const T *inp, const T *weight, const T *bias,
                            const T *relu_mask, const fc_conv2d_dims *d, int relu, T *workspace,
                            int nthreads) {
    (FN(winograd_applies)(d) ? FN(winograd_forward) : FN(gemm_forward))(
        out, inp, weight, bias, relu_mask, d, relu, workspace, nthreads);
}

static int FN(conv2d_forward_workspace_size)(const fc_conv2d_dims *d, int nthreads,
                                             size_t *elements) {
    size_t weights_at;
    if (FN(is_first_layer)(d)) return FN(first_layer_workspace)(d, elements, &weights_at);
    return FN(convolution_workspace_size)(d, nthreads, elements);
}

static void FN(conv2d_forward)(T *out, const T *inp, const T *weight, const T *bias,
                        const fc_conv2d_dims *d, int relu, T *workspace, int nthreads) {
    nthreads = fc_threads_for(FN(pass_flops)(d), nthreads);
    if (FN(is_first_layer)(d)) {
        /* A few input channels: im2col rows are only KH*KW*C long, so packing them would cost
           more than the arithmetic; the direct kernel reads a zero-padded copy instead (or the
           input itself, when it needs no padding). */
        size_t size, weights_at;
        FN(first_layer_workspace)(d, &size, &weights_at);
        FC_CAT(first_layer_forward, TSFX)(out, NULL, NULL, workspace + weights_at,
                                          FN(padded_input)(workspace, inp, d, nthreads), weight,
                                          bias, d, FN(padded_rows)(d), FN(padded_cols)(d), relu,
                                          nthreads);
        return;
    }
    FN(convolution)(out, inp, weight, bias, NULL, d, relu, workspace, nthreads);
}

/* out = conv(inp, weight) + bias, then ReLU (relu) or taken through the ReLU whose outputs are
   relu_mask (out's layout; NULL: none), block by block while each is in cache. */
static void FN(gemm_forward)(T *out, const T *inp, const T *weight, const T *bias,
                             const T *relu_mask, const fc_conv2d_dims *d, int relu, T *workspace,
                             int nthreads) {
    const int64_t Kg = FN(kg)(d), Fg = d->OC / d->G, P = d->OH * d->OW;
    const int64_t wsize = Kg * fc_round_up(Fg, NR);
    T *wpack = workspace, *panels = workspace + d->G * wsize;
    for (int64_t g = 0; g < d->G; g++)
        FN(fc_pack_b)(wpack + g * wsize, weight + g * Fg, d->OC, 1, Kg, Fg);

    const int64_t mtiles = (P + MC - 1) / MC, tasks = d->N * d->G * mtiles;
    const int64_t kstep = fc_k_step(Kg);
    const int indirect = d->C / d->G >= FC_INDIRECT_MIN_CHANNELS;
    /* A large call's tiles stream their output (stream_store.h) when one k-chunk makes them:
       with more, the last chunk would read each line back first. Not under relu_mask, whose
       rows are read again at once. Each group's columns start on a line. */
    const int stream = !relu_mask && Kg <= kstep && (size_t)Fg * sizeof(T) % 64 == 0 &&
                       fc_stream_conv_output(out, d, sizeof(T), nthreads);
    (void)nthreads;
#ifdef _OPENMP
#pragma omp parallel num_threads(nthreads)
#endif
    {
        const fc_fp_state fp = fc_fp_fast();
        T *apack = panels + (size_t)FN(thread_id)() * MC * FC_KC;
#ifdef _OPENMP
#pragma omp for schedule(dynamic)
#endif
        for (int64_t t = 0; t < tasks; t++) {
            const int64_t n = t / (d->G * mtiles), g = (t / mtiles) % d->G, m0 = (t % mtiles) * MC;
            const int64_t mc = P - m0 < MC ? P - m0 : MC;
            const T *x = inp + n * d->H * d->W * d->C;
            T *y = out + (n * P + m0) * d->OC + g * Fg;
            for (int64_t k0 = 0; k0 < Kg; k0 += kstep) {
                const int64_t kc = Kg - k0 < kstep ? Kg - k0 : kstep;
                fc_tap_run runs[FC_KC];
                const int64_t nruns = fc_tap_runs(runs, d, g, k0, kc);
                /* The bias enters with the first panel, the ReLU with the last. */
                const int flags = (k0 > 0 ? FC_ACCUMULATE : 0) |
                                  (relu && k0 + kc == Kg ? FC_RELU : 0) | (stream ? FC_STREAM : 0);
                const T *wpanel = wpack + g * wsize + k0 * NR, *gbias = bias ? bias + g * Fg : NULL;
                if (indirect) {
                    const T *rows[MC * FC_INDIRECT_MAX_RUNS];
                    int64_t lens[FC_INDIRECT_MAX_RUNS];
                    for (int64_t r = 0; r < nruns; r++) lens[r] = runs[r].len;
                    FN(im2col_rows)(rows, x, d, runs, nruns, m0, mc);
                    FN(fc_indirect_macro_kernel)(mc, Fg, nruns, rows, lens, wpanel, Kg * NR, y,
                                                 d->OC, flags, gbias);
                    continue;
                }
                FN(pack_im2col)(apack, x, d, runs, nruns, m0, mc, kc);
                FN(fc_macro_kernel)(mc, Fg, kc, apack, wpanel, Kg * NR, y, d->OC, flags, gbias);
            }
            if (relu_mask)
                FC_CAT(relu_backward_rows, TSFX)(y, y, relu_mask + (y - out), mc, Fg, d->OC);
        }
        if (stream) fc_stream_fence();
        fc_fp_restore(fp);
    }
}

/* With stride 1 the input gradient is a forward convolution of dout with the kernel rotated by
   180 degrees and its channel axes swapped,
     dinp[n, ih, iw, c] = sum dout[n, ih + PT - kh*DH, iw + PL - kw*DW, f] * weight[kh, kw, c, f],
   i.e. weight'[kh, kw, f, c] = weight[KH-1-kh, KW-1-kw, c, f] with padding (KH-1)*DH - PT on top
   and (KW-1)*DW - PL on the left. That reduction runs KH*KW*OC/G deep in the forward kernels
   with no col2im pass, where GEMM + col2im reduces only OC/G deep and then scatters; it needs
   enough channels on both sides to fill the register tiles. */
#ifndef FC_ROTATED_MIN_CHANNELS
#define FC_ROTATED_MIN_CHANNELS 8
#endif

static int FN(rotated_input_gradient)(const fc_conv2d_dims *d) {
    return d->SH == 1 && d->SW == 1 && d->OC / d->G >= FC_INDIRECT_MIN_CHANNELS &&
           d->C / d->G >= FC_ROTATED_MIN_CHANNELS;
}

static fc_conv2d_dims FN(rotated_dims)(const fc_conv2d_dims *d) {
    fc_conv2d_dims r = *d;
    r.H = d->OH, r.W = d->OW, r.C = d->OC;
    r.OH = d->H, r.OW = d->W, r.OC = d->C;
    r.PT = (d->KH - 1) * d->DH - d->PT;
    r.PL = (d->KW - 1) * d->DW - d->PL;
    return r;
}

/* Elements of the rotated kernel, rounded up so the forward workspace after it stays 64-byte
   aligned. */
static int64_t FN(rotated_kernel_size)(const fc_conv2d_dims *d) {
    return fc_round_up(d->KH * d->KW * (d->C / d->G) * d->OC, 64 / (int64_t)sizeof(T));
}

static void FN(rotated_input_gradient_pass)(T *dinp, const T *dout, const T *weight,
                                            const T *relu_mask, const fc_conv2d_dims *d,
                                            T *workspace, int nthreads) {
    const fc_conv2d_dims r = FN(rotated_dims)(d);
    const int64_t Fg = d->OC / d->G, Cg = d->C / d->G;
    T *rotated = workspace;
    for (int64_t tap = 0; tap < d->KH * d->KW; tap++) {
        const int64_t from = (d->KH - 1 - tap / d->KW) * d->KW + (d->KW - 1 - tap % d->KW);
        for (int64_t g = 0; g < d->G; g++)
            for (int64_t f = 0; f < Fg; f++)
                for (int64_t c = 0; c < Cg; c++)
                    rotated[(tap * Fg + f) * d->C + g * Cg + c] =
                        weight[(from * Cg + c) * d->OC + g * Fg + f];
    }
    FN(convolution)(dinp, dout, rotated, NULL, relu_mask, &r, 0,
                    workspace + FN(rotated_kernel_size)(d), nthreads);
}

static int FN(conv2d_backward_input_workspace_size)(const fc_conv2d_dims *d, int nthreads,
                                             size_t *elements) {
    size_t packed_weights, per_thread, threads, total;
    if (FN(rotated_input_gradient)(d)) {
        const fc_conv2d_dims r = FN(rotated_dims)(d);
        return FN(convolution_workspace_size)(&r, nthreads, &total) &&
               fc_add_size(total, (size_t)FN(rotated_kernel_size)(d), elements);
    }
    const int64_t Kg = FN(kg)(d);
    if (!fc_mul_size((size_t)(d->OC / d->G), (size_t)fc_round_up(Kg, NR), &packed_weights) ||
        !fc_mul_size(packed_weights, (size_t)d->G, &packed_weights) ||
        !fc_mul_size((size_t)MC, (size_t)Kg, &per_thread) ||
        !fc_mul_size(per_thread, (size_t)nthreads, &threads) ||
        !fc_add_size(packed_weights, threads, &total))
        return 0;
    *elements = total;
    return 1;
}

/* The output columns [lo, hi) of a row whose tap at offset `off` lands inside the input,
   0 <= ow*stride + off < size, clipped to [0, count]. */
static void FN(tap_span)(int64_t off, int64_t stride, int64_t size, int64_t count, int64_t *lo,
                         int64_t *hi) {
    int64_t a = off >= 0 ? 0 : (-off + stride - 1) / stride;
    int64_t b = size - off <= 0 ? 0 : (size - off + stride - 1) / stride;
    *lo = a < count ? a : count;
    *hi = b < count ? b : count;
}

/* col2im of output pixels [m0, m0 + mc) of group g (dcol rows of Kg columns) into image dx:
   pixel (oh, ow)'s tap (kh, kw) adds into input (oh*SH - PT + kh*DH, ow*SW - PL + kw*DW). Each
   input element takes its terms in pixel order, as a scatter pixel by pixel would: within one
   output row a descending kw means an ascending ow, and taps outside the input are cut off per
   row instead of tested per term. */
static void FN(col2im_block)(T *dx, const T *dcol, const fc_conv2d_dims *d, int64_t g,
                             int64_t m0, int64_t mc) {
    const int64_t Cg = d->C / d->G, Kg = FN(kg)(d), step = d->SW * d->C;
    for (int64_t p = m0; p < m0 + mc;) {
        const int64_t oh = p / d->OW, ow0 = p % d->OW;
        const int64_t ow1 = d->OW - ow0 < m0 + mc - p ? d->OW : ow0 + (m0 + mc - p);
        const T *row = dcol + (p - m0) * Kg; /* dcol row of pixel (oh, ow0) */
        for (int64_t kh = 0; kh < d->KH; kh++) {
            const int64_t ih = oh * d->SH - d->PT + kh * d->DH;
            if (ih < 0 || ih >= d->H) continue;
            T *dx_row = dx + ih * d->W * d->C + g * Cg;
            for (int64_t kw = d->KW - 1; kw >= 0; kw--) {
                const int64_t off = kw * d->DW - d->PL;
                int64_t lo, hi;
                FN(tap_span)(off, d->SW, d->W, d->OW, &lo, &hi);
                if (lo < ow0) lo = ow0;
                if (hi > ow1) hi = ow1;
                if (lo >= hi) continue;
                const T *src = row + (lo - ow0) * Kg + (kh * d->KW + kw) * Cg;
                T *dst = dx_row + (lo * d->SW + off) * d->C;
                if (Cg == 1)
                    for (int64_t ow = lo; ow < hi; ow++, src += Kg, dst += step) dst[0] += src[0];
                else
                    for (int64_t ow = lo; ow < hi; ow++, src += Kg, dst += step)
                        FN(add_row)(dst, src, Cg);
            }
        }
        p += ow1 - ow0;
    }
}

static void FN(conv2d_backward_input)(T *dinp, const T *dout, const T *weight,
                                      const T *relu_mask, const fc_conv2d_dims *d, T *workspace,
                                      int nthreads) {
    nthreads = fc_threads_for(FN(pass_flops)(d), nthreads);
    if (FN(rotated_input_gradient)(d)) {
        FN(rotated_input_gradient_pass)(dinp, dout, weight, relu_mask, d, workspace, nthreads);
        return;
    }
    const int64_t Kg = FN(kg)(d), Fg = d->OC / d->G, P = d->OH * d->OW;
    const int64_t wsize = Fg * fc_round_up(Kg, NR), image = d->H * d->W * d->C;
    const int64_t fstep = fc_k_step(Fg);
    T *wpack = workspace, *scratch = workspace + d->G * wsize;
    /* weight^T of group g: element (f, k) is weight[k * OC + g * Fg + f]. */
    for (int64_t g = 0; g < d->G; g++)
        FN(fc_pack_b)(wpack + g * wsize, weight + g * Fg, 1, d->OC, Fg, Kg);

    (void)nthreads;
    /* One image per task: col2im scatters overlapping windows, so an image has one writer. */
#ifdef _OPENMP
#pragma omp parallel num_threads(nthreads)
#endif
    {
        const fc_fp_state fp = fc_fp_fast();
        T *dcol = scratch + (size_t)FN(thread_id)() * MC * Kg;
#ifdef _OPENMP
#pragma omp for schedule(dynamic)
#endif
        for (int64_t n = 0; n < d->N; n++) {
            T *dx = dinp + n * image;
            for (int64_t i = 0; i < image; i++) dx[i] = 0;
            for (int64_t g = 0; g < d->G; g++) {
                for (int64_t m0 = 0; m0 < P; m0 += MC) {
                    const int64_t mc = P - m0 < MC ? P - m0 : MC;
                    const T *dy = dout + (n * P + m0) * d->OC + g * Fg;
                    for (int64_t f0 = 0; f0 < Fg; f0 += fstep) {
                        const int64_t fc = Fg - f0 < fstep ? Fg - f0 : fstep;
                        /* dout's rows read in place; rows past mc read zeros, so all MR rows of
                           the last tile land in dcol, which has room: no edge path. */
                        const T *rows[MC];
                        for (int64_t r = 0; r < fc_round_up(mc, MR); r++)
                            rows[r] = r < mc ? dy + r * d->OC + f0 : FC_CAT(fc_zero_run, TSFX);
                        FN(fc_indirect_macro_kernel)(fc_round_up(mc, MR), Kg, 1, rows, &fc,
                                                     wpack + g * wsize + f0 * NR, Fg * NR, dcol,
                                                     Kg, f0 > 0 ? FC_ACCUMULATE : 0, NULL);
                    }
                    FN(col2im_block)(dx, dcol, d, g, m0, mc);
                }
            }
            if (relu_mask)
                FC_CAT(relu_backward_rows, TSFX)(dx, dx, relu_mask + n * image, 1, image, image);
        }
        fc_fp_restore(fp);
    }
}

/* Most channels per task of the bias gradient: each task reads that wide a slice of every dout
   row, contiguous, instead of one cache line per row (strided reads ran at 4 GB/s). */
#define FC_BIAS_BLOCK 256
/* Pixels summed into a chunk before it joins the running total: a two-level sum whose rounding
   error grows with the chunk and the chunk count, not with N*OH*OW. */
#define FC_BIAS_ROWS 256

/* dbias[f] = sum of dout over images and pixels, in pixel order, chunked; nothing when dbias is
   NULL.
   Threads split the channels into blocks (whole cache lines each); every channel's sum has the same
   order whatever the blocks, so the result never depends on the thread count. */
static void FN(bias_gradient)(T *dbias, const T *dout, const fc_conv2d_dims *d, int nthreads) {
    if (!dbias) return;
    const int64_t rows = d->N * d->OH * d->OW, OC = d->OC, line = 64 / (int64_t)sizeof(T);
    int64_t block = fc_round_up((OC + nthreads - 1) / nthreads, line);
    if (block > FC_BIAS_BLOCK) block = FC_BIAS_BLOCK;
    (void)nthreads;
#ifdef _OPENMP
#pragma omp parallel num_threads(nthreads)
#endif
    {
        const fc_fp_state fp = fc_fp_fast();
#ifdef _OPENMP
#pragma omp for schedule(static)
#endif
        for (int64_t f0 = 0; f0 < OC; f0 += block) {
            const int64_t fn = OC - f0 < block ? OC - f0 : block;
            /* local: blocks of dbias may share a cache line */
            T sum[FC_BIAS_BLOCK] = {0}, chunk[FC_BIAS_BLOCK];
            for (int64_t row0 = 0; row0 < rows; row0 += FC_BIAS_ROWS) {
                const int64_t row1 = rows - row0 < FC_BIAS_ROWS ? rows : row0 + FC_BIAS_ROWS;
                for (int64_t f = 0; f < fn; f++) chunk[f] = 0;
                for (int64_t row = row0; row < row1; row++)
                    FN(add_row)(chunk, dout + row * OC + f0, fn);
                FN(add_row)(sum, chunk, fn);
            }
            for (int64_t f = 0; f < fn; f++) dbias[f0 + f] = sum[f];
        }
        fc_fp_restore(fp);
    }
}

static int64_t FN(wgrad_segments)(const fc_conv2d_dims *d) {
    return FN(sum_segments)(d->N, d->OC * FN(kg)(d)); /* all groups' dweight^T */
}

static int FN(conv2d_backward_weight_workspace_size)(const fc_conv2d_dims *d, int nthreads,
                                              size_t *elements) {
    size_t partials, per_thread, threads, total;
    const int64_t Kg = FN(kg)(d), Fg = d->OC / d->G;
    size_t winograd = 0; /* either kernel's size, as in convolution_workspace_size */
    if (FN(direct_weight_applies)(d)) return FN(direct_weight_workspace)(d, 0, nthreads, elements);
    if (!fc_mul_size((size_t)Fg * (size_t)d->G, (size_t)Kg, &partials) ||
        !fc_mul_size(partials, (size_t)FN(wgrad_segments)(d), &partials) ||
        !fc_mul_size((size_t)fc_round_up(Fg, MR), (size_t)FC_KC, &per_thread) ||
        !fc_add_size(per_thread, (size_t)FC_KC * NR, &per_thread) ||
        !fc_mul_size(per_thread, (size_t)nthreads, &threads) ||
        !fc_add_size(partials, threads, &total) ||
        (FN(winograd_shape)(d) &&
         !FN(winograd_backward_weight_workspace_size)(d, nthreads, &winograd)))
        return 0;
    *elements = total > winograd ? total : winograd;
    return 1;
}

/* The weight gradient reads dout and the input where they lie (fc_ukrs, no packing) when every
   NR-column sliver of im2col is NR consecutive channels of one tap: dout rows give the tile's A
   values (MR filters of a pixel), input pixels its B vectors. Each tile then re-reads its dout
   rows from L2, where packing amortizes over the tiles: with many filters packing wins (measured
   on Emerald Rapids, 1 thread: 1.12-1.29x in place at 5-11 tiles, 1.01x at 22, 0.89-0.96x at
   19-43). */
#ifndef FC_IN_PLACE_MAX_TILES
#define FC_IN_PLACE_MAX_TILES 12
#endif
static int FN(in_place_weight_gradient)(const fc_conv2d_dims *d) {
    return (d->C / d->G) % NR == 0 && (d->OC / d->G + MR - 1) / MR <= FC_IN_PLACE_MAX_TILES;
}

/* Output columns [lo, hi) whose tap at column offset kw reads inside the image. */
static void FN(tap_columns)(const fc_conv2d_dims *d, int64_t kw, int64_t *lo, int64_t *hi) {
    const int64_t off = kw * d->DW - d->PL; /* input column = ow * SW + off */
    *lo = off < 0 ? (-off + d->SW - 1) / d->SW : 0;
    *hi = d->W - 1 - off < 0 ? 0 : (d->W - 1 - off) / d->SW + 1;
    if (*hi > d->OW) *hi = d->OW;
}

/* Adds image n's share of group g's dweight^T columns [j_begin, j_end) into c (Fg x Kg) in
   place. Per sliver (one tap, NR channels) and per chunk of pixels (fc_k_step(P), as the packed
   path sums them), one run per output row over the chunk's pixels whose tap lies inside the
   image, in pixel order: the packed path's sums without their zero terms. Tiles read MR filters
   of each dout row from their first (rows past Fg are read but never stored): that passes the
   end of dout only at its last pixel, read from `tail` instead (a zero-padded copy,
   round_up(Fg, MR) values). */
static void FN(wgrad_image_in_place)(T *c, const T *dout, const T *inp, const fc_conv2d_dims *d,
                                     int64_t n, int64_t g, int64_t j_begin, int64_t j_end,
                                     T *tail) {
    const int64_t Cg = d->C / d->G, Fg = d->OC / d->G, Kg = FN(kg)(d), OW = d->OW;
    const int64_t P = d->OH * OW, pstep = fc_k_step(P);
    const T *dout_n = dout + n * P * d->OC + g * Fg;
    const T *x_n = inp + n * d->H * d->W * d->C + g * Cg;
    const int padded_last = n == d->N - 1 && g * Fg + fc_round_up(Fg, MR) > d->OC;
    if (padded_last)
        for (int64_t f = 0; f < fc_round_up(Fg, MR); f++)
            tail[f] = f < Fg ? dout_n[(P - 1) * d->OC + f] : 0;
    const T *a_runs[FC_STRIDED_MAX_RUNS], *b_runs[FC_STRIDED_MAX_RUNS];
    int64_t lens[FC_STRIDED_MAX_RUNS];
    for (int64_t j0 = j_begin; j0 < j_end; j0 += NR) {
        const int64_t tap = j0 / Cg, kh = tap / d->KW, kw = tap % d->KW;
        int64_t lo, hi;
        FN(tap_columns)(d, kw, &lo, &hi);
        const int64_t col_offset = kw * d->DW - d->PL; /* input column = ow * SW + col_offset */
        for (int64_t p0 = 0; p0 < P && lo < hi; p0 += pstep) {
            const int64_t p1 = P - p0 < pstep ? P : p0 + pstep;
            int64_t nruns = 0;
            for (int64_t oh = p0 / OW; oh * OW < p1; oh++) {
                const int64_t ih = oh * d->SH - d->PT + kh * d->DH;
                const int64_t from = p0 - oh * OW > lo ? p0 - oh * OW : lo;
                const int64_t to = p1 - oh * OW < hi ? p1 - oh * OW : hi;
                if (ih < 0 || ih >= d->H || from >= to) continue;
                a_runs[nruns] = dout_n + (oh * OW + from) * d->OC;
                b_runs[nruns] = x_n + (ih * d->W + from * d->SW + col_offset) * d->C + j0 % Cg;
                lens[nruns] = to - from;
                if (padded_last && (oh + 1) * OW == P && to == OW) { /* the last pixel alone */
                    const T *b_last = b_runs[nruns] + (to - from - 1) * d->SW * d->C;
                    if (--lens[nruns] > 0) nruns++;
                    a_runs[nruns] = tail, b_runs[nruns] = b_last, lens[nruns] = 1;
                }
                nruns++;
            }
            if (nruns)
                FN(fc_strided_macro_kernel)(Fg, NR, nruns, a_runs, b_runs, lens, d->OC,
                                            d->SW * d->C, c + j0, Kg, FC_ACCUMULATE);
        }
    }
}

static void FN(conv2d_backward_weight)(T *dweight, T *dbias, const T *dout, const T *inp,
                                const fc_conv2d_dims *d, T *workspace, int nthreads) {
    nthreads = fc_threads_for(FN(pass_flops)(d), nthreads);
    /* Computed transposed, dweight^T (Fg x Kg) = dout^T (Fg x P) * im2col (P x Kg), so that both
       panels pack from contiguous runs. A task owns one image segment of one group and a band of
       Kg columns; it sums its images and pixels in order, in chunks fixed by P (fc_k_step), into
       the segment's partial sum. Bands exist only to feed idle threads on small batches: they
       split columns, which never changes a sum. */
    const int64_t Kg = FN(kg)(d), Fg = d->OC / d->G, P = d->OH * d->OW;
    const int64_t image = d->H * d->W * d->C;
    if (FN(direct_weight_applies)(d)) {
        FN(direct_weight_backward)(dweight, dbias, dout, NULL, inp, d, workspace, nthreads);
        return;
    }
    if (FN(winograd_applies)(d)) {
        FN(winograd_backward_weight)(dweight, dout, inp, d, workspace, nthreads);
        FN(bias_gradient)(dbias, dout, d, nthreads);
        return;
    }
    const int64_t slivers = (Kg + NR - 1) / NR, pstep = fc_k_step(P);
    const int64_t segments = FN(wgrad_segments)(d), units = d->G * segments;
    int64_t bands = (2 * nthreads + units - 1) / units;
    if (bands > slivers) bands = slivers;
    const int64_t tasks = units * bands, partial = d->G * Fg * Kg;
    const int in_place = FN(in_place_weight_gradient)(d);
    T *partials = workspace, *scratch = workspace + segments * partial;

#ifdef _OPENMP
#pragma omp parallel num_threads(nthreads)
#endif
    {
        const fc_fp_state fp = fc_fp_fast();
        T *apack = scratch + (size_t)FN(thread_id)() * (fc_round_up(Fg, MR) * FC_KC + FC_KC * NR);
        T *bpack = apack + fc_round_up(Fg, MR) * FC_KC;
#ifdef _OPENMP
#pragma omp for schedule(static)
#endif
        for (int64_t i = 0; i < segments * partial; i++) partials[i] = 0;
#ifdef _OPENMP
#pragma omp for schedule(dynamic)
#endif
        for (int64_t t = 0; t < tasks; t++) {
            const int64_t unit = t / bands, band = t % bands;
            const int64_t g = unit % d->G, segment = unit / d->G;
            const int64_t n_begin = d->N * segment / segments;
            const int64_t n_end = d->N * (segment + 1) / segments;
            const int64_t j_begin = (slivers * band / bands) * NR;
            int64_t j_end = (slivers * (band + 1) / bands) * NR;
            if (j_end > Kg) j_end = Kg;
            T *c = partials + segment * partial + g * Fg * Kg;
            for (int64_t n = n_begin; n < n_end; n++) {
                if (in_place) {
                    FN(wgrad_image_in_place)(c, dout, inp, d, n, g, j_begin, j_end, apack);
                    continue;
                }
                const T *x = inp + n * image;
                for (int64_t p0 = 0; p0 < P; p0 += pstep) {
                    const int64_t pc = P - p0 < pstep ? P - p0 : pstep;
                    /* dout^T chunk: row f, column p is dout[(n*P + p) * OC + g*Fg + f]. */
                    FN(fc_pack_a)(apack, dout + (n * P + p0) * d->OC + g * Fg, 1, d->OC, Fg, pc);
                    for (int64_t j0 = j_begin; j0 < j_end; j0 += NR) {
                        const int64_t nr = j_end - j0 < NR ? j_end - j0 : NR;
                        fc_tap_run runs[NR];
                        const int64_t nruns = fc_tap_runs(runs, d, g, j0, nr);
                        FN(pack_im2col_sliver)(bpack, x, d, runs, nruns, nr, p0, pc);
                        FN(fc_macro_kernel)(Fg, nr, pc, apack, bpack, 0, c + j0, Kg, FC_ACCUMULATE,
                                            NULL);
                    }
                }
            }
        }
        /* The segments added into the first in segment order (contiguous: the segments lie a
           multiple of 4 KiB apart, so reading them side by side would thrash cache sets), then
           transposed into dweight (Kg x OC). */
#ifdef _OPENMP
#pragma omp for schedule(static)
#endif
        for (int64_t i0 = 0; i0 < partial; i0 += FC_KC) {
            const int64_t len = partial - i0 < FC_KC ? partial - i0 : FC_KC;
            for (int64_t s = 1; s < segments; s++)
                FN(add_row)(partials + i0, partials + s * partial + i0, len);
        }
#ifdef _OPENMP
#pragma omp for schedule(static)
#endif
        for (int64_t k = 0; k < Kg; k++)
            for (int64_t g = 0; g < d->G; g++)
                for (int64_t f = 0; f < Fg; f++)
                    dweight[k * d->OC + g * Fg + f] = partials[(g * Fg + f) * Kg + k];
        fc_fp_restore(fp);
    }
    FN(bias_gradient)(dbias, dout, d, nthreads);
}

/* The forward pass into its 2 x 2, stride-2, valid max pool (conv2d_forward_pooled): first
   layers, whose kernel pools each pair of rows it computes, and Winograd's shapes, whose output
   tiles are the pool's windows. */
static int FN(pooled_forward_applies)(const fc_conv2d_dims *d) {
    return d->OH >= 2 && d->OW >= 2 && (FN(is_first_layer)(d) || FN(winograd_applies)(d));
}

/* First layers: the forward pass's workspace, then each thread's two output rows (2 x OW x the
   kernel's block of filters: all of them for the portable kernel, two vectors for the others). */
static int FN(conv2d_forward_pooled_workspace_size)(const fc_conv2d_dims *d, int nthreads,
                                                    size_t *elements) {
    const size_t block = FN(widest_filter_block)();
    size_t rows, first, weights_at;
    if (!FN(is_first_layer)(d)) return FN(convolution_workspace_size)(d, nthreads, elements);
    return FN(first_layer_workspace)(d, &first, &weights_at) &&
           fc_mul_size((size_t)(2 * d->OW) * (size_t)nthreads,
                       (size_t)d->OC > block ? (size_t)d->OC : block, &rows) &&
           fc_add_size(first, rows, elements);
}

static int FN(conv2d_forward_pooled)(T *pooled, const T *inp, const T *weight, const T *bias,
                                     const fc_conv2d_dims *d, int relu, T *workspace,
                                     int nthreads) {
    if (!FN(pooled_forward_applies)(d)) return 0;
    nthreads = fc_threads_for(FN(pass_flops)(d), nthreads);
    if (FN(is_first_layer)(d)) {
        size_t first, weights_at;
        FN(first_layer_workspace)(d, &first, &weights_at);
        const T *xpad = FN(padded_input)(workspace, inp, d, nthreads);
        FC_CAT(first_layer_forward, TSFX)(NULL, pooled, workspace + first, workspace + weights_at,
                                          xpad, weight, bias, d, FN(padded_rows)(d),
                                          FN(padded_cols)(d), relu, nthreads);
    } else {
        FN(winograd_forward_into)(NULL, pooled, inp, weight, bias, NULL, d, relu, workspace,
                                  nthreads);
    }
    return 1;
}

static int FN(conv2d_backward_weight_pooled_workspace_size)(const fc_conv2d_dims *d,
                                                            int nthreads, size_t *elements) {
    return FN(direct_weight_workspace)(d, 1, nthreads, elements);
}

static void FN(conv2d_backward_weight_pooled)(T *dweight, T *dbias, const T *dpool, const T *act,
                                              const T *inp, const fc_conv2d_dims *d,
                                              T *workspace, int nthreads) {
    FN(direct_weight_backward)(dweight, dbias, dpool, act, inp, d, workspace,
                               fc_threads_for(FN(pass_flops)(d), nthreads));
}

#undef FC_BIAS_BLOCK
#undef FC_BIAS_ROWS
#undef FC_WGRAD_SEGMENTS
#undef FC_WGRAD_PARTIAL_MAX

#undef FN
#undef FC_CAT
#undef FC_CAT_
