/* Type-generic body of conv2d.c; included once per type with T, SFX and NR defined.
   GEMM views (per image n and group g, P = OH*OW pixels, Kg = KH*KW*C/G, Fg = OC/G):
     forward          out (P x Fg)    = im2col(inp) (P x Kg) * weight (Kg x Fg)
     backward input   dcol (P x Kg)   = dout (P x Fg) * weight^T (Fg x Kg), then col2im into dinp
     backward weight  dweight (Kg x Fg) = sum over images of im2col(inp)^T (Kg x P) * dout (P x Fg)
   im2col column k is the tap (kh, kw) = divmod(k / (C/G), KW) at input channel k % (C/G). */
#include "conv2d_depthwise.h" /* depthwise and small groups (<= 4 channels): direct kernels */

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
    const int64_t mpad = fc_round_up(mc, FC_MR);
    for (int64_t r = 0; r < mpad; r++) {
        T *row = dst + (r / FC_MR) * kc * FC_MR + r % FC_MR;
        if (r >= mc) {
            for (int64_t k = 0; k < kc; k++) row[k * FC_MR] = 0;
            continue;
        }
        const int64_t p = m0 + r;
        const int64_t ih0 = (p / d->OW) * d->SH - d->PT, iw0 = (p % d->OW) * d->SW - d->PL;
        for (const fc_tap_run *run = runs; run < runs + nruns; run++) {
            const int64_t ih = ih0 + run->dh, iw = iw0 + run->dw;
            T *o = row + run->col * FC_MR;
            if (ih >= 0 && ih < d->H && iw >= 0 && iw < d->W) {
                const T *src = x + (ih * d->W + iw) * d->C + run->src;
                if (run->len == 1) /* one channel per tap: skip the loop's set-up */
                    o[0] = src[0];
                else
                    for (int64_t t = 0; t < run->len; t++) o[t * FC_MR] = src[t];
            } else {
                for (int64_t t = 0; t < run->len; t++) o[t * FC_MR] = 0;
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

/* Zeros that stand in for a padded cell's channels (a run is at most KC long). */
static const T FN(zero_run)[FC_KC];

/* Row pointers of rows [m0, m0+mc) x the runs of image `x`'s im2col matrix, in fc_ukri's layout
   (per MR-row sliver, per run, MR pointers); padding and rows past the block read zeros. */
static void FN(im2col_rows)(const T **rows, const T *x, const fc_conv2d_dims *d,
                            const fc_tap_run *runs, int64_t nruns, int64_t m0, int64_t mc) {
    const int64_t mpad = fc_round_up(mc, FC_MR);
    for (int64_t r = 0; r < mpad; r++) {
        const T **row = rows + (r / FC_MR) * nruns * FC_MR + r % FC_MR;
        if (r >= mc) {
            for (int64_t k = 0; k < nruns; k++) row[k * FC_MR] = FN(zero_run);
            continue;
        }
        const int64_t p = m0 + r;
        const int64_t ih0 = (p / d->OW) * d->SH - d->PT, iw0 = (p % d->OW) * d->SW - d->PL;
        for (int64_t k = 0; k < nruns; k++) {
            const int64_t ih = ih0 + runs[k].dh, iw = iw0 + runs[k].dw;
            row[k * FC_MR] = ih >= 0 && ih < d->H && iw >= 0 && iw < d->W
                                 ? x + (ih * d->W + iw) * d->C + runs[k].src
                                 : FN(zero_run);
        }
    }
}

/* ---- one input channel: direct kernels (conv2d_direct_impl.h) over a zero-padded copy ---- */

static int FN(is_single_channel)(const fc_conv2d_dims *d) { return d->C == 1 && d->G == 1; }

/* Rows and columns of the padded copy: exactly the cells some output window reads. */
static int64_t FN(padded_rows)(const fc_conv2d_dims *d) { return (d->OH - 1) * d->SH + (d->KH - 1) * d->DH + 1; }
static int64_t FN(padded_cols)(const fc_conv2d_dims *d) { return (d->OW - 1) * d->SW + (d->KW - 1) * d->DW + 1; }

static int FN(single_channel_workspace)(const fc_conv2d_dims *d, size_t *elements) {
    size_t size;
    if (!fc_mul_size((size_t)d->N, (size_t)FN(padded_rows)(d), &size) ||
        !fc_mul_size(size, (size_t)FN(padded_cols)(d), &size))
        return 0;
    *elements = size;
    return 1;
}

static void FN(pad_single_channel)(T *xpad, const T *inp, const fc_conv2d_dims *d, int nthreads) {
    const int64_t Hp = FN(padded_rows)(d), Wp = FN(padded_cols)(d);
    (void)nthreads;
#ifdef _OPENMP
#pragma omp parallel for schedule(static) num_threads(nthreads)
#endif
    for (int64_t row = 0; row < d->N * Hp; row++) {
        const int64_t n = row / Hp, ih = row % Hp - d->PT;
        T *dst = xpad + row * Wp;
        for (int64_t c = 0; c < Wp; c++) {
            const int64_t iw = c - d->PL;
            dst[c] = ih >= 0 && ih < d->H && iw >= 0 && iw < d->W ? inp[(n * d->H + ih) * d->W + iw] : 0;
        }
    }
}

/* The same geometry over the padded copy: no padding left, every window cell in bounds. */
static fc_conv2d_dims FN(padded_dims)(const fc_conv2d_dims *d) {
    fc_conv2d_dims padded = *d;
    padded.H = FN(padded_rows)(d);
    padded.W = FN(padded_cols)(d);
    padded.PT = padded.PL = 0;
    return padded;
}

static void FN(single_channel_backward_weight)(T *dweight, const T *dout, const T *inp,
                                               const fc_conv2d_dims *d, T *xpad, int nthreads) {
    FN(pad_single_channel)(xpad, inp, d, nthreads);
#ifdef FC_HAVE_X86
    if (fc_selected_isa() >= FC_ISA_AVX2) {
        FC_CAT(FN(direct_c1_backward_weight), avx2)(dweight, xpad, dout, d, FN(padded_rows)(d),
                                                    FN(padded_cols)(d), nthreads);
        return;
    }
#endif
    FC_CAT(FN(direct_c1_backward_weight), generic)(dweight, xpad, dout, d, FN(padded_rows)(d),
                                                   FN(padded_cols)(d), nthreads);
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
        !fc_mul_size((size_t)FC_MC * FC_KC, (size_t)nthreads, &panels))
        return 0;
    return fc_add_size(packed_weights, panels, elements);
}

int FN(conv2d_forward_workspace_size)(const fc_conv2d_dims *d, int nthreads, size_t *elements) {
    size_t gemm, padded;
    if (conv2d_depthwise_applies(d)) return FN(conv2d_depthwise_forward_workspace_size)(d, nthreads, elements);
    if (!FN(gemm_forward_workspace_size)(d, nthreads, &gemm)) return 0;
    if (!FN(is_single_channel)(d)) return (*elements = gemm), 1;
    return FN(single_channel_workspace)(d, &padded) && fc_add_size(gemm, padded, elements);
}

static void FN(gemm_forward)(T *out, const T *inp, const T *weight, const T *bias,
                             const fc_conv2d_dims *d, int relu, T *workspace, int nthreads);

/* Forward pass of one input channel over the padded copy `xpad` (d: its padding-free geometry,
   KH*KW <= KC). An im2col row is one value per tap, read at fixed offsets from the pixel's window
   origin, so packing needs no bounds checks and no run tables. Each task packs MC pixels of one
   image (across output rows, so only the image's last sliver is a partial tile) and runs the
   micro-kernels over all output channels with the whole kernel as one panel. */
static void FN(single_channel_forward)(T *out, const T *xpad, const T *weight, const T *bias,
                                       const fc_conv2d_dims *d, int relu, T *workspace,
                                       int nthreads) {
    const int64_t taps = d->KH * d->KW, OC = d->OC, P = d->OH * d->OW;
    const int64_t wsize = taps * fc_round_up(OC, NR);
    T *wpack = workspace, *panels = workspace + wsize;
    FN(fc_pack_b)(wpack, weight, OC, 1, taps, OC);
    const int64_t chunks = (P + FC_MC - 1) / FC_MC, tasks = d->N * chunks;
    int64_t offset[FC_KC]; /* of each tap's cell from its window's origin */
    for (int64_t tap = 0; tap < taps; tap++)
        offset[tap] = (tap / d->KW) * d->DH * d->W + (tap % d->KW) * d->DW;
    (void)nthreads;
#ifdef _OPENMP
#pragma omp parallel num_threads(nthreads)
#endif
    {
        T *apack = panels + (size_t)FN(thread_id)() * FC_MC * FC_KC;
#ifdef _OPENMP
#pragma omp for schedule(static)
#endif
        for (int64_t t = 0; t < tasks; t++) {
            const int64_t n = t / chunks, p0 = (t % chunks) * FC_MC;
            const int64_t mc = P - p0 < FC_MC ? P - p0 : FC_MC;
            const T *image = xpad + n * d->H * d->W;
            int64_t oh = p0 / d->OW, ow = p0 % d->OW;
            T *dst = apack;
            for (int64_t i0 = 0; i0 < mc; i0 += FC_MR, dst += taps * FC_MR) {
                const int64_t mr = mc - i0 < FC_MR ? mc - i0 : FC_MR;
                for (int64_t i = 0; i < FC_MR; i++) {
                    if (i >= mr) {
                        for (int64_t tap = 0; tap < taps; tap++) dst[tap * FC_MR + i] = 0;
                        continue;
                    }
                    const T *origin = image + oh * d->SH * d->W + ow * d->SW;
                    for (int64_t tap = 0; tap < taps; tap++) dst[tap * FC_MR + i] = origin[offset[tap]];
                    if (++ow == d->OW) ow = 0, oh++;
                }
            }
            FN(fc_macro_kernel)(mc, OC, taps, apack, wpack, taps * NR, out + (n * P + p0) * OC, OC,
                                relu ? FC_RELU : 0, bias);
        }
    }
}

void FN(conv2d_forward)(T *out, const T *inp, const T *weight, const T *bias,
                        const fc_conv2d_dims *d, int relu, T *workspace, int nthreads) {
    if (conv2d_depthwise_applies(d)) {
        FN(conv2d_depthwise_forward)(out, inp, weight, bias, d, relu, workspace, nthreads);
        return;
    }
    nthreads = fc_threads_for(FN(pass_flops)(d), nthreads);
    if (FN(is_single_channel)(d)) {
        /* One input channel: im2col rows are only KH*KW long, so bounds checks would dominate
           the packing; pack from a zero-padded copy instead. */
        const fc_conv2d_dims padded = FN(padded_dims)(d);
        T *gemm_workspace = workspace + padded.N * padded.H * padded.W;
        FN(pad_single_channel)(workspace, inp, d, nthreads);
        if (FN(kg)(d) <= FC_KC)
            FN(single_channel_forward)(out, workspace, weight, bias, &padded, relu, gemm_workspace,
                                       nthreads);
        else
            FN(gemm_forward)(out, workspace, weight, bias, &padded, relu, gemm_workspace, nthreads);
        return;
    }
    FN(gemm_forward)(out, inp, weight, bias, d, relu, workspace, nthreads);
}

static void FN(gemm_forward)(T *out, const T *inp, const T *weight, const T *bias,
                             const fc_conv2d_dims *d, int relu, T *workspace, int nthreads) {
    const int64_t Kg = FN(kg)(d), Fg = d->OC / d->G, P = d->OH * d->OW;
    const int64_t wsize = Kg * fc_round_up(Fg, NR);
    T *wpack = workspace, *panels = workspace + d->G * wsize;
    for (int64_t g = 0; g < d->G; g++)
        FN(fc_pack_b)(wpack + g * wsize, weight + g * Fg, d->OC, 1, Kg, Fg);

    const int64_t mtiles = (P + FC_MC - 1) / FC_MC, tasks = d->N * d->G * mtiles;
    const int64_t kstep = fc_k_step(Kg);
    const int indirect = d->C / d->G >= FC_INDIRECT_MIN_CHANNELS;
    (void)nthreads;
#ifdef _OPENMP
#pragma omp parallel num_threads(nthreads)
#endif
    {
        T *apack = panels + (size_t)FN(thread_id)() * FC_MC * FC_KC;
#ifdef _OPENMP
#pragma omp for schedule(dynamic)
#endif
        for (int64_t t = 0; t < tasks; t++) {
            const int64_t n = t / (d->G * mtiles), g = (t / mtiles) % d->G, m0 = (t % mtiles) * FC_MC;
            const int64_t mc = P - m0 < FC_MC ? P - m0 : FC_MC;
            const T *x = inp + n * d->H * d->W * d->C;
            T *y = out + (n * P + m0) * d->OC + g * Fg;
            for (int64_t k0 = 0; k0 < Kg; k0 += kstep) {
                const int64_t kc = Kg - k0 < kstep ? Kg - k0 : kstep;
                fc_tap_run runs[FC_KC];
                const int64_t nruns = fc_tap_runs(runs, d, g, k0, kc);
                /* The bias enters with the first panel, the ReLU with the last. */
                const int flags = (k0 > 0 ? FC_ACCUMULATE : 0) | (relu && k0 + kc == Kg ? FC_RELU : 0);
                const T *wpanel = wpack + g * wsize + k0 * NR, *gbias = bias ? bias + g * Fg : NULL;
                if (indirect) {
                    const T *rows[FC_MC * FC_INDIRECT_MAX_RUNS];
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
        }
    }
}

int FN(conv2d_backward_input_workspace_size)(const fc_conv2d_dims *d, int nthreads,
                                             size_t *elements) {
    size_t packed_weights, per_thread, threads, total;
    const int64_t Kg = FN(kg)(d);
    if (conv2d_depthwise_applies(d))
        return FN(conv2d_depthwise_backward_input_workspace_size)(d, nthreads, elements);
    if (!fc_mul_size((size_t)(d->OC / d->G), (size_t)fc_round_up(Kg, NR), &packed_weights) ||
        !fc_mul_size(packed_weights, (size_t)d->G, &packed_weights) ||
        !fc_mul_size((size_t)FC_MC, (size_t)Kg, &per_thread) ||
        !fc_add_size(per_thread, (size_t)FC_MC * FC_KC, &per_thread) ||
        !fc_mul_size(per_thread, (size_t)nthreads, &threads) ||
        !fc_add_size(packed_weights, threads, &total))
        return 0;
    *elements = total;
    return 1;
}

void FN(conv2d_backward_input)(T *dinp, const T *dout, const T *weight, const fc_conv2d_dims *d,
                               T *workspace, int nthreads) {
    if (conv2d_depthwise_applies(d)) {
        FN(conv2d_depthwise_backward_input)(dinp, dout, weight, d, workspace, nthreads);
        return;
    }
    nthreads = fc_threads_for(FN(pass_flops)(d), nthreads);
    const int64_t Kg = FN(kg)(d), Fg = d->OC / d->G, Cg = d->C / d->G, P = d->OH * d->OW;
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
        T *apack = scratch + (size_t)FN(thread_id)() * (FC_MC * FC_KC + FC_MC * Kg);
        T *dcol = apack + FC_MC * FC_KC;
#ifdef _OPENMP
#pragma omp for schedule(dynamic)
#endif
        for (int64_t n = 0; n < d->N; n++) {
            T *dx = dinp + n * image;
            for (int64_t i = 0; i < image; i++) dx[i] = 0;
            for (int64_t g = 0; g < d->G; g++) {
                for (int64_t m0 = 0; m0 < P; m0 += FC_MC) {
                    const int64_t mc = P - m0 < FC_MC ? P - m0 : FC_MC;
                    const T *dy = dout + (n * P + m0) * d->OC + g * Fg;
                    for (int64_t f0 = 0; f0 < Fg; f0 += fstep) {
                        const int64_t fc = Fg - f0 < fstep ? Fg - f0 : fstep;
                        FN(fc_pack_a)(apack, dy + f0, d->OC, 1, mc, fc);
                        /* All MR rows of the last sliver (zeros packed past mc) land in dcol,
                           which has room: full register tiles, no edge path. */
                        FN(fc_macro_kernel)(fc_round_up(mc, FC_MR), Kg, fc, apack,
                                            wpack + g * wsize + f0 * NR, Fg * NR, dcol, Kg,
                                            f0 > 0 ? FC_ACCUMULATE : 0, NULL);
                    }
                    for (int64_t r = 0; r < mc; r++) {
                        const int64_t oh = (m0 + r) / d->OW, ow = (m0 + r) % d->OW;
                        for (int64_t tap = 0; tap < d->KH * d->KW; tap++) {
                            const int64_t ih = oh * d->SH - d->PT + (tap / d->KW) * d->DH;
                            const int64_t iw = ow * d->SW - d->PL + (tap % d->KW) * d->DW;
                            if (ih < 0 || ih >= d->H || iw < 0 || iw >= d->W) continue;
                            FN(add_row)(dx + (ih * d->W + iw) * d->C + g * Cg, dcol + r * Kg + tap * Cg, Cg);
                        }
                    }
                }
            }
        }
    }
}

/* Channels per task of the bias gradient: one cache line of float. */
#define FC_BIAS_BLOCK 16

/* dbias[f] = sum of dout over images and pixels, in pixel order; nothing when dbias is NULL.
   Threads split the channels, so each sum's order is the same whatever the thread count. */
static void FN(bias_gradient)(T *dbias, const T *dout, const fc_conv2d_dims *d, int nthreads) {
    if (!dbias) return;
    const int64_t rows = d->N * d->OH * d->OW, OC = d->OC;
    (void)nthreads;
#ifdef _OPENMP
#pragma omp parallel for schedule(static) num_threads(nthreads)
#endif
    for (int64_t f0 = 0; f0 < OC; f0 += FC_BIAS_BLOCK) {
        const int64_t fn = OC - f0 < FC_BIAS_BLOCK ? OC - f0 : FC_BIAS_BLOCK;
        T sum[FC_BIAS_BLOCK] = {0}; /* local: blocks of dbias may share a cache line */
        for (int64_t row = 0; row < rows; row++) FN(add_row)(sum, dout + row * OC + f0, fn);
        for (int64_t f = 0; f < fn; f++) dbias[f0 + f] = sum[f];
    }
}

/* The weight gradient sums over images in this many fixed segments (fewer for small batches or
   when the partial sums would exceed FC_WGRAD_PARTIAL_MAX elements): threads share the work
   without sharing a sum, and the segments are added in order, so the result depends on the
   shape alone, never on the thread count. */
#define FC_WGRAD_SEGMENTS 8
#define FC_WGRAD_PARTIAL_MAX ((int64_t)1 << 20)

static int64_t FN(wgrad_segments)(const fc_conv2d_dims *d) {
    const int64_t per_segment = d->OC * FN(kg)(d); /* all groups' dweight^T */
    int64_t segments = d->N < FC_WGRAD_SEGMENTS ? d->N : FC_WGRAD_SEGMENTS;
    while (segments > 1 && segments * per_segment > FC_WGRAD_PARTIAL_MAX) segments--;
    return segments;
}

int FN(conv2d_backward_weight_workspace_size)(const fc_conv2d_dims *d, int nthreads,
                                              size_t *elements) {
    size_t partials, per_thread, threads, total;
    const int64_t Kg = FN(kg)(d), Fg = d->OC / d->G;
    if (conv2d_depthwise_applies(d))
        return FN(conv2d_depthwise_backward_weight_workspace_size)(d, nthreads, elements);
    if (FN(is_single_channel)(d)) return FN(single_channel_workspace)(d, elements);
    if (!fc_mul_size((size_t)Fg * (size_t)d->G, (size_t)Kg, &partials) ||
        !fc_mul_size(partials, (size_t)FN(wgrad_segments)(d), &partials) ||
        !fc_mul_size((size_t)fc_round_up(Fg, FC_MR), (size_t)FC_KC, &per_thread) ||
        !fc_add_size(per_thread, (size_t)FC_KC * NR, &per_thread) ||
        !fc_mul_size(per_thread, (size_t)nthreads, &threads) ||
        !fc_add_size(partials, threads, &total))
        return 0;
    *elements = total;
    return 1;
}

void FN(conv2d_backward_weight)(T *dweight, T *dbias, const T *dout, const T *inp,
                                const fc_conv2d_dims *d, T *workspace, int nthreads) {
    if (conv2d_depthwise_applies(d)) {
        FN(conv2d_depthwise_backward_weight)(dweight, dbias, dout, inp, d, workspace, nthreads);
        return;
    }
    nthreads = fc_threads_for(FN(pass_flops)(d), nthreads);
    /* Computed transposed, dweight^T (Fg x Kg) = dout^T (Fg x P) * im2col (P x Kg), so that both
       panels pack from contiguous runs. A task owns one image segment of one group and a band of
       Kg columns; it sums its images and pixels in order, in chunks fixed by P (fc_k_step), into
       the segment's partial sum. Bands exist only to feed idle threads on small batches: they
       split columns, which never changes a sum. */
    const int64_t Kg = FN(kg)(d), Fg = d->OC / d->G, P = d->OH * d->OW;
    const int64_t image = d->H * d->W * d->C;
    if (FN(is_single_channel)(d)) {
        FN(single_channel_backward_weight)(dweight, dout, inp, d, workspace, nthreads);
        FN(bias_gradient)(dbias, dout, d, nthreads);
        return;
    }
    const int64_t slivers = (Kg + NR - 1) / NR, pstep = fc_k_step(P);
    const int64_t segments = FN(wgrad_segments)(d), units = d->G * segments;
    int64_t bands = (2 * nthreads + units - 1) / units;
    if (bands > slivers) bands = slivers;
    const int64_t tasks = units * bands, partial = d->G * Fg * Kg;
    T *partials = workspace, *scratch = workspace + segments * partial;

#ifdef _OPENMP
#pragma omp parallel num_threads(nthreads)
#endif
    {
        T *apack = scratch + (size_t)FN(thread_id)() * (fc_round_up(Fg, FC_MR) * FC_KC + FC_KC * NR);
        T *bpack = apack + fc_round_up(Fg, FC_MR) * FC_KC;
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
    }
    FN(bias_gradient)(dbias, dout, d, nthreads);
}

#undef FC_BIAS_BLOCK
#undef FC_WGRAD_SEGMENTS
#undef FC_WGRAD_PARTIAL_MAX

/* ---- plain twins ---------------------------------------------------------------------------- */

/* Calls BODY for every (output pixel, output channel, tap, input channel) with in-bounds input,
   binding: o (out index), i (inp index), w (weight index), f (output channel). */
#define FOR_EACH_TERM(d, BODY)                                                                     \
    for (int64_t n = 0; n < d->N; n++)                                                             \
        for (int64_t oh = 0; oh < d->OH; oh++)                                                     \
            for (int64_t ow = 0; ow < d->OW; ow++)                                                 \
                for (int64_t f = 0; f < d->OC; f++) {                                              \
                    const int64_t Cg = d->C / d->G, g = f / (d->OC / d->G);                        \
                    const int64_t o = ((n * d->OH + oh) * d->OW + ow) * d->OC + f;                 \
                    for (int64_t kh = 0; kh < d->KH; kh++)                                         \
                        for (int64_t kw = 0; kw < d->KW; kw++) {                                   \
                            const int64_t ih = oh * d->SH - d->PT + kh * d->DH;                    \
                            const int64_t iw = ow * d->SW - d->PL + kw * d->DW;                    \
                            if (ih < 0 || ih >= d->H || iw < 0 || iw >= d->W) continue;            \
                            for (int64_t c = 0; c < Cg; c++) {                                     \
                                const int64_t i = ((n * d->H + ih) * d->W + iw) * d->C + g * Cg + c; \
                                const int64_t w = ((kh * d->KW + kw) * Cg + c) * d->OC + f;        \
                                BODY;                                                              \
                            }                                                                      \
                        }                                                                          \
                }

void FN(conv2d_forward_naive)(T *out, const T *inp, const T *weight, const T *bias,
                              const fc_conv2d_dims *d, int relu) {
    const int64_t size = d->N * d->OH * d->OW * d->OC;
    for (int64_t o = 0; o < size; o++) out[o] = bias ? bias[o % d->OC] : 0;
    FOR_EACH_TERM(d, out[o] += inp[i] * weight[w])
    if (relu)
        for (int64_t o = 0; o < size; o++) out[o] = out[o] < 0 ? 0 : out[o];
}

void FN(conv2d_backward_input_naive)(T *dinp, const T *dout, const T *weight,
                                     const fc_conv2d_dims *d) {
    for (int64_t i = 0; i < d->N * d->H * d->W * d->C; i++) dinp[i] = 0;
    FOR_EACH_TERM(d, dinp[i] += dout[o] * weight[w])
}

void FN(conv2d_backward_weight_naive)(T *dweight, T *dbias, const T *dout, const T *inp,
                                      const fc_conv2d_dims *d) {
    for (int64_t w = 0; w < FN(kg)(d) * d->OC; w++) dweight[w] = 0;
    FOR_EACH_TERM(d, dweight[w] += dout[o] * inp[i])
    if (dbias) {
        for (int64_t f = 0; f < d->OC; f++) dbias[f] = 0;
        for (int64_t o = 0; o < d->N * d->OH * d->OW * d->OC; o++) dbias[o % d->OC] += dout[o];
    }
}

#undef FOR_EACH_TERM
#undef FN
#undef FC_CAT
#undef FC_CAT_
