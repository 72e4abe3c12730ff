/* Depthwise and small-group kernels, the body of conv2d_depthwise.c. Included once per type and
   ISA with T, SFX, ISA, TARGET (the function attribute enabling the ISA) and VBYTES (the ISA's
   vector width in bytes) defined. Cg = C / G input and Fg = OC / G output channels per group.

   Output channel f reads input channels (f / Fg) * Cg + c, so in NHWC both run contiguously
   along the channel axis: every loop below is a plain loop over a block of at most BLK (four
   vectors) consecutive output channels that the compiler vectorizes; with constant block
   lengths the accumulators of a few output pixels stay in registers.

   Padding without bounds checks: the forward pass and the weight gradient read input rows through
   a small ring of padded, channel-expanded row buffers (cell p of a buffer holds input column
   p - PL of one row as Cg planes of the block's output channels, each plane holding input channel
   (f / Fg) * Cg + c for output channel f; zeros outside the image). The input gradient scatters
   into one such padded buffer per input row and then crops it (or, with unit strides and one
   output per channel, runs the forward pass with the flipped kernel). Every output element's sum
   runs in the same order on every ISA and thread count: the FMA ISAs (avx2, avx512) give
   bit-identical results; generic has no FMA on x86-64. */
#include "loop_hints.h"
#define FC_CAT3_(a, b, c) a##_##b##_##c
#define FC_CAT3(a, b, c) FC_CAT3_(a, b, c)
#define FNI(name) FC_CAT3(name, SFX, ISA)
#define BLK ((int64_t)(4 * VBYTES / sizeof(T)))

/* Zeros cells [0, p0) and [p1, Wp) of a padded row of `cell` values per cell: two calls, where a
   zeroing loop per cell became an inline `rep stos` per cell, whose start-up took a third of the
   fill's time (in cache, on AMD Zen 3). */
TARGET static FC_ALWAYS_INLINE void FNI(dw_zero_padding)(T *row, int64_t p0, int64_t p1,
                                                         int64_t Wp, int64_t cell) {
    memset(row, 0, (size_t)(p0 * cell) * sizeof(T));
    memset(row + p1 * cell, 0, (size_t)((Wp - p1) * cell) * sizeof(T));
}

/* Cells [p0, p1) of a padded row from input columns [0, p1 - p0) of input row `src` (output
   channels [f0, f0 + len)), and zeros in the other cells of [0, Wp) (p0 <= p1 <= Wp). A cell
   holds Cg planes of len values: plane c, value j = input channel ((f0 + j) / Fg) * Cg + c.
   For a multiplier or small groups: plain depthwise rows are dw_fill_span_row's. */
TARGET static FC_ALWAYS_INLINE void FNI(dw_fill_cells)(T *restrict dst, const T *restrict src,
                                                       int64_t C, int64_t Cg, int64_t Fg,
                                                       int64_t p0, int64_t p1, int64_t f0,
                                                       int64_t len, int64_t Wp) {
    int32_t first[BLK]; /* input channel of plane 0 for each output channel: a gather index */
    for (int64_t j = 0; j < len && Cg > 1; j++) first[j] = (int32_t)(((f0 + j) / Fg) * Cg);
    FNI(dw_zero_padding)(dst, p0, p1, Wp, Cg * len);
    for (int64_t p = p0; p < p1; p++) {
        T *cell = dst + p * Cg * len;
        const T *from = src + (p - p0) * C;
        if (Cg == 1 && Fg == 2) { /* multiplier 2 (f0 is even): each input value twice */
            const T *pair = from + f0 / 2;
            FC_SIMD
            for (int64_t j = 0; j < len; j++) cell[j] = pair[j / 2];
            continue;
        }
        if (Cg == 1) { /* depthwise with a multiplier: runs of Fg copies */
            int64_t i = f0 / Fg, m = f0 % Fg;
            for (int64_t j = 0; j < len; j++) {
                cell[j] = from[i];
                if (++m == Fg) m = 0, i++;
            }
            continue;
        }
        for (int64_t c = 0; c < Cg; c++) { /* small groups: a gather per plane */
            FC_SIMD
            for (int64_t j = 0; j < len; j++) cell[c * len + j] = from[first[j] + c];
        }
    }
}

/* Padded row `prow` (input row prow - PT) of image x, output channels [f0, f0 + len), in the
   cells of dw_fill_cells; zero outside the image. */
TARGET static void FNI(dw_fill_row)(T *restrict dst, const T *restrict x, const fc_conv2d_dims *d,
                                    int64_t prow, int64_t f0, int64_t len, int64_t Wp) {
    const int64_t ih = prow - d->PT, Cg = d->C / d->G, Fg = d->OC / d->G;
    int64_t p0 = d->PL < Wp ? d->PL : Wp, p1 = d->PL + d->W < Wp ? d->PL + d->W : Wp;
    if (ih < 0 || ih >= d->H) p0 = p1 = Wp; /* a padding row: all zeros */
    const T *src = ih < 0 || ih >= d->H ? x : x + ih * d->W * d->C;
    if (Cg == 1 && len == BLK)
        FNI(dw_fill_cells)(dst, src, d->C, 1, Fg, p0, p1, f0, BLK, Wp);
    else if (Cg == 1 && len == BLK / 2)
        FNI(dw_fill_cells)(dst, src, d->C, 1, Fg, p0, p1, f0, BLK / 2, Wp);
    else
        FNI(dw_fill_cells)(dst, src, d->C, Cg, Fg, p0, p1, f0, len, Wp);
}

/* Padded row `prow` of a depthwise layer without a multiplier (Cg == Fg == 1) in the rings of
   the blocks of channels [s0, s1) (block b's ring at rings + b * ring_block), in slot `slot`: one
   pass along the input row, each pixel's channels in order. Block by block, each pass read a
   slice of every pixel, a stride the hardware prefetcher followed badly. With `prefetch`
   (fc_dw_prefetches), each pixel's channels SH rows below are prefetched too: the next output
   row's first new row. The hardware prefetcher runs ahead of the copy, but not through the
   summing of the rows between two fills. */
TARGET static void FNI(dw_fill_span_row)(T *rings, const T *restrict x, const fc_conv2d_dims *d,
                                         int64_t prow, int64_t slot, int64_t s0, int64_t s1,
                                         int64_t Wp, int64_t ring_block, int prefetch) {
    const int64_t ih = prow - d->PT, full = (s1 - s0) / BLK * BLK, tail = s1 - s0 - full;
    int64_t p0 = d->PL < Wp ? d->PL : Wp, p1 = d->PL + d->W < Wp ? d->PL + d->W : Wp;
    if (ih < 0 || ih >= d->H) p0 = p1 = Wp; /* a padding row: all zeros */
    for (int64_t f = 0; f < s1 - s0; f += BLK) {
        const int64_t len = f < full ? BLK : tail;
        FNI(dw_zero_padding)(rings + f / BLK * ring_block + slot * Wp * len, p0, p1, Wp, len);
    }
    if (p0 == p1) return;
    const T *src = x + ih * d->W * d->C + s0;
    T *cells = rings + slot * Wp * BLK;
    T *tail_cells = rings + full / BLK * ring_block + slot * Wp * tail;
    const int64_t below = ih + d->SH < d->H ? d->SH * d->W * d->C : 0;
    for (int64_t p = p0; p < p1; p++) {
        const T *from = src + (p - p0) * d->C;
        if (prefetch && below)
            for (int64_t f = 0; f < s1 - s0; f += 64 / (int64_t)sizeof(T))
                FC_PREFETCH(from + below + f);
        T *cell = cells + p * BLK;
        for (int64_t f = 0; f < full; f += BLK, cell += ring_block) {
            FC_SIMD
            for (int64_t j = 0; j < BLK; j++) cell[j] = from[f + j];
        }
        FC_SIMD
        for (int64_t j = 0; j < tail; j++) tail_cells[p * tail + j] = from[full + j];
    }
}

/* Makes the rings of the blocks of channels [s0, s1) (block b's at rings + b * ring_block) hold
   padded rows [top, top + R) (slot = row % R), filling those above `*filled` (the last row
   filled so far), and returns the slot of row `top`. */
TARGET static int64_t FNI(dw_advance_rings)(T *rings, int64_t *filled, int64_t top, int64_t R,
                                            const T *x, const fc_conv2d_dims *d, int64_t s0,
                                            int64_t s1, int64_t Wp, int64_t ring_block,
                                            int prefetch) {
    const int64_t Cg = d->C / d->G;
    for (int64_t q = *filled + 1 > top ? *filled + 1 : top; q < top + R; q++) {
        if (Cg == 1 && d->OC == d->G) {
            FNI(dw_fill_span_row)(rings, x, d, q, q % R, s0, s1, Wp, ring_block, prefetch);
            continue;
        }
        for (int64_t f0 = s0; f0 < s1; f0 += BLK) {
            const int64_t len = s1 - f0 < BLK ? s1 - f0 : BLK;
            T *ring = rings + (f0 - s0) / BLK * ring_block;
            FNI(dw_fill_row)(ring + (q % R) * Wp * Cg * len, x, d, q, f0, len, Wp);
        }
    }
    *filled = top + R - 1;
    return top % R;
}

/* The input rows one output row reads, at channels [f0, f0 + len): from the ring, or in place
   from the image when every row of the window is inside it (depthwise without a multiplier,
   Cg == Fg == 1: the ring would only copy each pixel's channels). Kernel row kh reads slot
   slot0 + kh*DH (wrapped at `wrap`: the ring's size, or never in place), `row` elements after
   the previous slot; padded column q is at (q - skip) * cell within it. Pixels [ow_lo, ow_hi)
   read stored cells only; the others, in place at the image's left and right edges, are
   dw_forward_edge_pixel's. */
typedef struct {
    const T *base;
    int64_t slot0, wrap, row, cell, skip, ow_lo, ow_hi;
} FNI(dw_rows);

/* Padded column q of kernel row kh. */
TARGET static FC_ALWAYS_INLINE const T *FNI(dw_cells)(const FNI(dw_rows) *src, int64_t kh,
                                                      int64_t dh, int64_t q) {
    int64_t slot = src->slot0 + kh * dh;
    if (slot >= src->wrap) slot -= src->wrap;
    return src->base + slot * src->row + (q - src->skip) * src->cell;
}

/* The ring's rows: padded row `top` in `slot0`. */
TARGET static FNI(dw_rows) FNI(dw_ring_rows)(const T *ring, int64_t slot0, int64_t R, int64_t Wp,
                                            int64_t Cg, int64_t len, const fc_conv2d_dims *d) {
    const FNI(dw_rows) src = {ring, slot0, R, Wp * Cg * len, Cg * len, 0, 0, d->OW};
    return src;
}

/* Rows [ih0, ih0 + (KH-1)*DH] of image x, all inside it, read in place. */
TARGET static FNI(dw_rows) FNI(dw_image_rows)(const T *x, int64_t ih0, int64_t f0,
                                             const fc_conv2d_dims *d) {
    /* ow_lo: the first pixel whose window starts inside (ow*SW >= PL); ow_hi: past the last
       whose window ends inside (ow*SW - PL + (KW-1)*DW <= W - 1). */
    const int64_t last = d->W - 1 + d->PL - (d->KW - 1) * d->DW;
    int64_t lo = (d->PL + d->SW - 1) / d->SW, hi = last < 0 ? 0 : last / d->SW + 1;
    lo = lo < d->OW ? lo : d->OW;
    hi = hi < lo ? lo : hi > d->OW ? d->OW : hi;
    const FNI(dw_rows) src = {x + f0, ih0, INT64_MAX, d->W * d->C, d->C, d->PL, lo, hi};
    return src;
}

/* Output pixels [ow, ow + P) (P <= 4) of one output row, channels [f0, f0 + len), from `src`:
   the P pixels share each weight load. With P and len constants the accumulators (named arrays:
   the compiler keeps those in registers) are P * len / V vectors. y, weight and b start at
   channel f0. */
TARGET static FC_ALWAYS_INLINE void FNI(dw_forward_pixels)(T *restrict y, const FNI(dw_rows) *src,
                                                           const T *restrict weight,
                                                           const T *restrict b,
                                                           const fc_conv2d_dims *d, int relu,
                                                           int64_t ow, int64_t P, int64_t len,
                                                           int64_t Cg, int64_t KH, int64_t KW,
                                                           int64_t sw, int64_t dw) {
    const int64_t OC = d->OC, SW = sw * src->cell, DW = dw * src->cell;
    T a0[BLK], a1[BLK], a2[BLK], a3[BLK];
    FC_SIMD
    for (int64_t j = 0; j < len; j++) a0[j] = a1[j] = a2[j] = a3[j] = b[j];
    for (int64_t kh = 0; kh < KH; kh++) {
        const T *xk = FNI(dw_cells)(src, kh, d->DH, ow * sw);
        const T *wk = weight + kh * KW * Cg * OC;
        for (int64_t kw = 0; kw < KW; kw++, xk += DW, wk += Cg * OC) {
            for (int64_t c = 0; c < Cg; c++) { /* the taps in (kh, kw, c) order */
                const T *x = xk + c * len, *w = wk + c * OC;
                FC_SIMD
                for (int64_t j = 0; j < len; j++) {
                    a0[j] += x[j] * w[j];
                    if (P > 1) a1[j] += x[SW + j] * w[j];
                    if (P > 2) a2[j] += x[2 * SW + j] * w[j];
                    if (P > 3) a3[j] += x[3 * SW + j] * w[j];
                }
            }
        }
    }
    T *y0 = y + ow * OC;
    FC_SIMD
    for (int64_t j = 0; j < len; j++) {
        y0[j] = relu && a0[j] < 0 ? 0 : a0[j];
        if (P > 1) y0[OC + j] = relu && a1[j] < 0 ? 0 : a1[j];
        if (P > 2) y0[2 * OC + j] = relu && a2[j] < 0 ? 0 : a2[j];
        if (P > 3) y0[3 * OC + j] = relu && a3[j] < 0 ? 0 : a3[j];
    }
}

/* One output pixel read in place whose window crosses the image's left or right edge: the taps
   outside read zeros, so its sum is dw_forward_pixels' over a padded row (Cg == 1). */
TARGET static FC_ALWAYS_INLINE void FNI(dw_forward_edge_pixel)(T *restrict y,
                                                               const FNI(dw_rows) *src,
                                                               const T *restrict weight,
                                                               const T *restrict b,
                                                               const fc_conv2d_dims *d, int relu,
                                                               int64_t ow, int64_t len) {
    const int64_t OC = d->OC;
    T a[BLK];
    FC_SIMD
    for (int64_t j = 0; j < len; j++) a[j] = b[j];
    for (int64_t kh = 0; kh < d->KH; kh++) {
        for (int64_t kw = 0; kw < d->KW; kw++) {
            const int64_t q = ow * d->SW + kw * d->DW, iw = q - d->PL;
            const T *w = weight + (kh * d->KW + kw) * OC;
            if (iw >= 0 && iw < d->W) {
                const T *x = FNI(dw_cells)(src, kh, d->DH, q);
                FC_SIMD
                for (int64_t j = 0; j < len; j++) a[j] += x[j] * w[j];
            } else { /* a padding cell: (T)0 * w, as the ring's zeros give (NaN for an inf w) */
                FC_SIMD
                for (int64_t j = 0; j < len; j++) a[j] += (T)0 * w[j];
            }
        }
    }
    FC_SIMD
    for (int64_t j = 0; j < len; j++) y[ow * OC + j] = relu && a[j] < 0 ? 0 : a[j];
}

/* Pixels per step of the 3x3 kernel: each is one chain of 9 dependent FMAs, and hiding the
   FMA latency takes 8 chains per vector of channels. With avx2's 16 registers the 8 accumulators
   and 3 weights leave the cells to be read from memory by each multiply-add, which still beats
   4 chains (1.04-1.11x); the count never changes a result. */
#undef FC_DW_3X3_PIXELS
#define FC_DW_3X3_PIXELS 8

/* The same for a 3x3 kernel with unit dilation and stride sw (1 or 2, a constant): pixel p's
   taps read cells p*sw, p*sw + 1, p*sw + 2 of each row, so P pixels load (P - 1)*sw + 3 cells
   per row instead of 3P. One loop over the channels holds the whole window, so the accumulators
   are scalars (vector registers once vectorized). Each still takes its taps in (kh, kw) order,
   as in dw_forward_pixels: the results are identical. */
TARGET static FC_ALWAYS_INLINE void FNI(dw_forward_pixels_3x3)(T *restrict y,
                                                               const FNI(dw_rows) *src,
                                                               const T *restrict weight,
                                                               const T *restrict b,
                                                               const fc_conv2d_dims *d, int relu,
                                                               int64_t ow, int64_t P, int64_t len,
                                                               int64_t sw, int64_t cell) {
    const int64_t OC = d->OC;
    const T *rows[3];
    for (int64_t kh = 0; kh < 3; kh++) rows[kh] = FNI(dw_cells)(src, kh, d->DH, ow * sw);
    enum { VL = VBYTES / sizeof(T) };
    for (int64_t j0 = 0; j0 < len; j0 += VL) {
        const int64_t lanes = len - j0 < VL ? len - j0 : VL;
        const T *x0 = rows[0] + j0, *x1 = rows[1] + j0, *x2 = rows[2] + j0;
        const T *wj = weight + j0, *bj = b + j0;
        T *y0 = y + ow * OC + j0;
        FC_SIMD
        for (int64_t j = 0; j < lanes; j++) {
            T s[FC_DW_3X3_PIXELS];
            FC_UNROLL
            for (int64_t p = 0; p < P; p++) s[p] = bj[j];
            FC_UNROLL
            for (int64_t kh = 0; kh < 3; kh++) {
                const T *x = (kh == 0 ? x0 : kh == 1 ? x1 : x2) + j, *w = wj + kh * 3 * OC + j;
                const T w0 = w[0], w1 = w[OC], w2 = w[2 * OC];
                FC_UNROLL
                for (int64_t p = 0; p < P; p++) {
                    s[p] += x[p * sw * cell] * w0;
                    s[p] += x[(p * sw + 1) * cell] * w1;
                    s[p] += x[(p * sw + 2) * cell] * w2;
                }
            }
            FC_UNROLL
            for (int64_t p = 0; p < P; p++) y0[p * OC + j] = relu && s[p] < 0 ? 0 : s[p];
        }
    }
}

/* Pixels [ow, end) of one output row by dw_forward_pixels_3x3 at stride sw (a constant). */
TARGET static FC_ALWAYS_INLINE void FNI(dw_forward_3x3_span)(T *restrict y, const FNI(dw_rows) *src,
                                                             const T *restrict weight,
                                                             const T *restrict b,
                                                             const fc_conv2d_dims *d, int relu,
                                                             int64_t ow, int64_t end, int64_t len,
                                                             int64_t sw, int64_t cell) {
    for (; ow + FC_DW_3X3_PIXELS <= end; ow += FC_DW_3X3_PIXELS)
        FNI(dw_forward_pixels_3x3)(y, src, weight, b, d, relu, ow, FC_DW_3X3_PIXELS, len, sw, cell);
    if (ow + 6 <= end) /* the row's tail: 6, 4, 2, then 1 pixel */
        FNI(dw_forward_pixels_3x3)(y, src, weight, b, d, relu, ow, 6, len, sw, cell), ow += 6;
    if (ow + 4 <= end)
        FNI(dw_forward_pixels_3x3)(y, src, weight, b, d, relu, ow, 4, len, sw, cell), ow += 4;
    if (ow + 2 <= end)
        FNI(dw_forward_pixels_3x3)(y, src, weight, b, d, relu, ow, 2, len, sw, cell), ow += 2;
    if (ow < end) FNI(dw_forward_pixels_3x3)(y, src, weight, b, d, relu, ow, 1, len, sw, cell);
}

/* dw_forward_3x3_span at the layer's stride (1 or 2), `cell` values from one pixel's cells to the
   next (the ring's block, or C in place; a constant in each caller). */
TARGET static FC_ALWAYS_INLINE void FNI(dw_forward_3x3_cells)(T *restrict y, const FNI(dw_rows) *src,
                                                             const T *restrict weight,
                                                             const T *restrict b,
                                                             const fc_conv2d_dims *d, int relu,
                                                             int64_t ow, int64_t end, int64_t len,
                                                             int64_t cell) {
    if (d->SW == 1)
        FNI(dw_forward_3x3_span)(y, src, weight, b, d, relu, ow, end, len, 1, cell);
    else
        FNI(dw_forward_3x3_span)(y, src, weight, b, d, relu, ow, end, len, 2, cell);
}

/* One output row, channels [f0, f0 + len): its edge pixels one by one, the others P at a time,
   then one at a time. y, weight and b start at channel f0. The common 3x3 kernel with unit
   dilation and a stride of 1 or 2 has its own. */
TARGET static FC_ALWAYS_INLINE void FNI(dw_forward_row)(T *restrict y, const FNI(dw_rows) *src,
                                                        const T *restrict weight,
                                                        const T *restrict b,
                                                        const fc_conv2d_dims *d, int relu,
                                                        int64_t P, int64_t len, int64_t Cg) {
    const int64_t KH = d->KH, KW = d->KW, SW = d->SW, DW = d->DW, end = src->ow_hi;
    for (int64_t ow = 0; ow < src->ow_lo; ow++)
        FNI(dw_forward_edge_pixel)(y, src, weight, b, d, relu, ow, len);
    for (int64_t ow = end; ow < d->OW; ow++)
        FNI(dw_forward_edge_pixel)(y, src, weight, b, d, relu, ow, len);
    int64_t ow = src->ow_lo;
    if (Cg == 1 && fc_dw_3x3_cells(d)) {
        if (src->cell == len) {
            FNI(dw_forward_3x3_cells)(y, src, weight, b, d, relu, ow, end, len, len);
            return;
        }
        if (len == BLK && src->cell == 2 * BLK) {
            FNI(dw_forward_3x3_cells)(y, src, weight, b, d, relu, ow, end, BLK, 2 * BLK);
            return;
        }
        if (len == BLK && src->cell == 4 * BLK) {
            FNI(dw_forward_3x3_cells)(y, src, weight, b, d, relu, ow, end, BLK, 4 * BLK);
            return;
        }
    }
    for (; ow + P <= end; ow += P)
        FNI(dw_forward_pixels)(y, src, weight, b, d, relu, ow, P, len, Cg, KH, KW, SW, DW);
    for (; ow < end; ow++)
        FNI(dw_forward_pixels)(y, src, weight, b, d, relu, ow, 1, len, Cg, KH, KW, SW, DW);
}

/* dw_forward_row for small groups, with the common plane counts as constants. Kept out of line:
   inlined, its copies would crowd the depthwise loops of the caller out of registers. */
TARGET static FC_NOINLINE void FNI(dw_forward_row_groups)(T *restrict y, const FNI(dw_rows) *src,
                                                          const T *restrict weight,
                                                          const T *restrict b,
                                                          const fc_conv2d_dims *d, int relu,
                                                          int64_t len, int64_t Cg) {
    if (len == BLK && Cg == 2)
        FNI(dw_forward_row)(y, src, weight, b, d, relu, 2, BLK, 2);
    else if (len == BLK && Cg == 4)
        FNI(dw_forward_row)(y, src, weight, b, d, relu, 2, BLK, 4);
    else
        FNI(dw_forward_row)(y, src, weight, b, d, relu, 2, len, Cg);
}

/* One output row at channels [f0, f0 + len) by the variant for its block: constant trip counts
   keep the accumulators in registers (4 to 8 vectors). `relu` is a constant in each of the two
   functions below: a run-time flag made GCC write each AVX2 result twice, through two
   complementary blends (1.1-1.4x slower); inlined into the caller instead, the copies crowd
   the AVX-512 loops out of registers (4x slower). */
TARGET static FC_ALWAYS_INLINE void FNI(dw_forward_any_row)(T *restrict y, const FNI(dw_rows) *src,
                                                            const T *restrict w,
                                                            const T *restrict b,
                                                            const fc_conv2d_dims *d, int relu,
                                                            int64_t len, int64_t Cg) {
    if (Cg > 1)
        FNI(dw_forward_row_groups)(y, src, w, b, d, relu, len, Cg);
    else if (len == BLK)
        FNI(dw_forward_row)(y, src, w, b, d, relu, 2, BLK, 1);
    else if (len == BLK / 2)
        FNI(dw_forward_row)(y, src, w, b, d, relu, 4, BLK / 2, 1);
    else if (len == BLK / 4)
        FNI(dw_forward_row)(y, src, w, b, d, relu, 4, BLK / 4, 1);
    else
        FNI(dw_forward_row)(y, src, w, b, d, relu, 2, len, 1);
}

TARGET static FC_NOINLINE void FNI(dw_forward_relu_row)(T *restrict y, const FNI(dw_rows) *src,
                                                        const T *restrict w, const T *restrict b,
                                                        const fc_conv2d_dims *d, int64_t len,
                                                        int64_t Cg) {
    FNI(dw_forward_any_row)(y, src, w, b, d, 1, len, Cg);
}

TARGET static FC_NOINLINE void FNI(dw_forward_plain_row)(T *restrict y, const FNI(dw_rows) *src,
                                                         const T *restrict w, const T *restrict b,
                                                         const fc_conv2d_dims *d, int64_t len,
                                                         int64_t Cg) {
    FNI(dw_forward_any_row)(y, src, w, b, d, 0, len, Cg);
}

/* Whether the forward pass reads the input rows of windows inside the image in place, not
   through the ring: depthwise without a multiplier only (Cg == Fg == 1: the ring would copy each
   pixel's channels as they are). The 3x3 kernel of stride 1 or 2 reads cells at constant
   offsets (at a run-time cell width the compiler kept a pointer per cell and spilled: 0.6x), so
   in place only at the widths dw_forward_row has as constants (the block's own, two or four
   blocks), and only in calls small enough to find their input in cache (no prefetching fill).
   AMD Zen 3, float32, in place against the ring: at stride 2, 1.07-1.61x; at stride 1 with
   pixels of one block, 1.21-1.30x, but 0.84-1.02x for pixels of 2 or 4 blocks (each block's pass
   reads a slice of every pixel); calls that prefetch, 0.62-0.91x (0.86-0.89x at 128x56x56x32,
   one block; a software prefetch of the rows in place recovered only part). */
TARGET static int FNI(dw_reads_in_place)(const fc_conv2d_dims *d, int prefetch) {
    if (d->C / d->G != 1 || d->OC != d->G) return 0;
    if (!fc_dw_3x3_cells(d)) return 1;
    if (prefetch) return 0;
    const int one_block = d->C == BLK || d->C == BLK / 2 || d->C == BLK / 4;
    if (d->SW == 1) return one_block;
    return one_block || d->C == 2 * BLK || d->C == 4 * BLK;
}

/* Channels [s0, s1) of output row y from the staging row, with streaming stores. */
TARGET static void FNI(dw_stream_row)(T *y, const T *stage, const fc_conv2d_dims *d, int64_t s0,
                                      int64_t s1) {
    if (s1 - s0 == d->OC) { /* the whole row at once */
        FC_STREAM_AT(fc_stream_copy_, ISA)(y, stage, (size_t)(d->OW * d->OC) * sizeof(T));
        return;
    }
    for (int64_t ow = 0; ow < d->OW; ow++)
        FC_STREAM_AT(fc_stream_copy_, ISA)(y + ow * d->OC + s0, stage + ow * d->OC + s0,
                                           (size_t)(s1 - s0) * sizeof(T));
}

/* Forward: tasks are (image, band of output rows), whose rows each take every channel block of a
   span (fc_dw_ring_channels: usually all channels) in turn: threads running side by side then
   write different images, never neighbouring channels of the same pixels (cache lines the two
   cores would pass back and forth: with blocks as tasks, 2 threads ran 1.15x as fast as one on
   128x14x14x128), and each input row is read whole while it is in cache. Depthwise rows whose
   window lies inside the image are read in place (but by the 3x3 kernel of stride 1 or 2); the
   others through the ring. Every output element is bias + its taps in (kh, kw, c) order
   whatever the split or the path. A call that streams (fc_stream_conv_output) computes its
   output a row at a time into a staging row in cache and streams it out (stream_store.h; AMD
   Zen 3, calls of 24-98 MiB: 1.11-1.51x, the copy included). */
TARGET static void FNI(dw_forward)(T *out, const T *inp, const T *weight, const T *bias,
                                   const fc_conv2d_dims *d, int relu, T *workspace, int nthreads) {
    const int64_t R = fc_dw_ring_rows(d), Wp = fc_dw_padded_cols(d), Cg = d->C / d->G;
    const int64_t bands = fc_dw_bands(d->N, d->OH, nthreads), tasks = d->N * bands;
    const int64_t span = fc_dw_ring_channels(d, sizeof(T)), ring_block = R * Wp * Cg * BLK;
    const int prefetch = fc_dw_prefetches(d, sizeof(T));
    const int in_place = FNI(dw_reads_in_place)(d, prefetch);
    const int64_t stage_size = fc_dw_stage_elements(d, sizeof(T));
    const int stream = FC_STREAM_AT(FC_STREAMS_, ISA) && stage_size > 0 &&
                       fc_stream_conv_output(out, d, sizeof(T), nthreads);
    (void)nthreads;
#ifdef _OPENMP
#pragma omp parallel num_threads(nthreads)
#endif
    {
        const fc_fp_state fp = fc_fp_fast();
        T *rings = workspace + (size_t)fc_dw_thread_id() * (R * Wp * Cg * span + stage_size);
        T *stage = rings + R * Wp * Cg * span;
#ifdef _OPENMP
#pragma omp for schedule(dynamic)
#endif
        for (int64_t t = 0; t < tasks; t++) {
            const int64_t n = t / bands, band = t % bands;
            const int64_t oh0 = d->OH * band / bands, oh1 = d->OH * (band + 1) / bands;
            const T *x = inp + n * d->H * d->W * d->C;
            for (int64_t s0 = 0; s0 < d->OC; s0 += span) { /* one ring per block of the span */
                const int64_t s1 = d->OC - s0 < span ? d->OC : s0 + span;
                int64_t filled = oh0 * d->SH - 1; /* the rings' last row, the same in each */
                for (int64_t oh = oh0; oh < oh1; oh++) {
                    const int64_t ih0 = oh * d->SH - d->PT;
                    const int in_image = in_place && ih0 >= 0 && ih0 + (d->KH - 1) * d->DH < d->H;
                    const int64_t slot0 =
                        in_image ? 0
                                 : FNI(dw_advance_rings)(rings, &filled, oh * d->SH, R, x, d, s0,
                                                         s1, Wp, ring_block, prefetch);
                    for (int64_t f0 = s0; f0 < s1; f0 += BLK) {
                        const int64_t len = s1 - f0 < BLK ? s1 - f0 : BLK;
                        T b[BLK];
                        for (int64_t j = 0; j < len; j++) b[j] = bias ? bias[f0 + j] : 0;
                        const FNI(dw_rows) src =
                            in_image ? FNI(dw_image_rows)(x, ih0, f0, d)
                                     : FNI(dw_ring_rows)(rings + (f0 - s0) / BLK * ring_block,
                                                         slot0, R, Wp, Cg, len, d);
                        T *y = stream ? stage + f0 : out + (n * d->OH + oh) * d->OW * d->OC + f0;
                        (relu ? FNI(dw_forward_relu_row) : FNI(dw_forward_plain_row))(
                            y, &src, weight + f0, b, d, len, Cg);
                    }
                    if (stream) FNI(dw_stream_row)(out + (n * d->OH + oh) * d->OW * d->OC, stage,
                                                   d, s0, s1);
                }
            }
        }
        if (stream) fc_stream_fence();
        fc_fp_restore(fp);
    }
}

/* Scatters output row oh (image n, channels [f0, f0 + len)) through kernel row kh into the padded
   buffer of one input row (cells of Cg planes, as the ring's): buf[ow*SW + kw*DW, c] +=
   dout[oh, ow] * weight[kh, kw, c]. kw outer, so consecutive updates touch different cells. */
TARGET static FC_ALWAYS_INLINE void FNI(dw_scatter_row)(T *restrict buf, const T *restrict dy,
                                                        const T *restrict weight,
                                                        const fc_conv2d_dims *d, int64_t kh,
                                                        int64_t f0, int64_t len, int64_t Cg) {
    const int64_t OC = d->OC;
    for (int64_t kw = 0; kw < d->KW; kw++) {
        for (int64_t c = 0; c < Cg; c++) {
            const T *w = weight + ((kh * d->KW + kw) * Cg + c) * OC + f0;
            T *cell = buf + (kw * d->DW * Cg + c) * len;
            for (int64_t ow = 0; ow < d->OW; ow++, cell += d->SW * Cg * len) {
                const T *g = dy + ow * OC + f0;
                FC_SIMD
                for (int64_t j = 0; j < len; j++) cell[j] += g[j] * w[j];
            }
        }
    }
}

/* Input row ih of image n at the channels of groups [g0, g1): each sub-block of at most BLK
   output channels gathers its output rows in kh order into the padded buffer `buf`, which is
   then cropped into dx and, for Fg > 1 outputs per group, summed over the group's outputs in
   channel order. */
TARGET static void FNI(dw_input_row)(T *dinp, const T *dout, const T *weight,
                                     const fc_conv2d_dims *d, T *buf, int64_t n, int64_t ih,
                                     int64_t g0, int64_t g1) {
    const int64_t Wp = fc_dw_padded_cols(d), Cg = d->C / d->G, Fg = d->OC / d->G;
    T *dx = dinp + ((n * d->H + ih) * d->W) * d->C;
    if (Fg > 1)
        for (int64_t iw = 0; iw < d->W; iw++)
            for (int64_t c = g0 * Cg; c < g1 * Cg; c++) dx[iw * d->C + c] = 0;
    for (int64_t f0 = g0 * Fg; f0 < g1 * Fg; f0 += BLK) {
        const int64_t len = g1 * Fg - f0 < BLK ? g1 * Fg - f0 : BLK;
        for (int64_t i = 0; i < Wp * Cg * len; i++) buf[i] = 0;
        for (int64_t kh = 0; kh < d->KH; kh++) {
            const int64_t r = ih + d->PT - kh * d->DH; /* = oh * SH when oh exists */
            if (r < 0 || r % d->SH || r / d->SH >= d->OH) continue;
            const T *dy = dout + (n * d->OH + r / d->SH) * d->OW * d->OC;
            if (Cg > 1)
                FNI(dw_scatter_row)(buf, dy, weight, d, kh, f0, len, Cg);
            else if (len == BLK)
                FNI(dw_scatter_row)(buf, dy, weight, d, kh, f0, BLK, 1);
            else if (len == BLK / 2)
                FNI(dw_scatter_row)(buf, dy, weight, d, kh, f0, BLK / 2, 1);
            else if (len == BLK / 4)
                FNI(dw_scatter_row)(buf, dy, weight, d, kh, f0, BLK / 4, 1);
            else
                FNI(dw_scatter_row)(buf, dy, weight, d, kh, f0, len, 1);
        }
        /* Crop: input column iw is cell iw + PL (cells past Wp got no gradient). */
        const int64_t iw1 = Wp - d->PL < d->W ? Wp - d->PL : d->W;
        for (int64_t iw = 0; iw < d->W; iw++) {
            T *to = dx + iw * d->C;
            if (Cg == 1 && Fg == 1) { /* depthwise: the cell is the gradient, contiguous */
                const T *cell = buf + (iw + d->PL) * len;
                FC_SIMD
                for (int64_t j = 0; j < len; j++) to[f0 + j] = iw < iw1 ? cell[j] : 0;
                continue;
            }
            for (int64_t c = 0; c < Cg; c++) {
                const T *plane = buf + ((iw + d->PL) * Cg + c) * len;
                if (Fg == 1) { /* one output per group: the plane is the gradient */
                    T *dst = to + f0 * Cg + c;
                    for (int64_t j = 0; j < len; j++) dst[j * Cg] = iw < iw1 ? plane[j] : 0;
                } else if (iw < iw1) {
                    int64_t g = f0 / Fg, m = f0 % Fg;
                    for (int64_t j = 0; j < len; j++) {
                        to[g * Cg + c] += plane[j];
                        if (++m == Fg) m = 0, g++;
                    }
                }
            }
        }
    }
}

/* Input gradient. A forward pass with the flipped kernel when fc_dw_input_as_forward says so;
   otherwise tasks are (image, band of input rows), as in the forward pass, and each input row
   is gathered by dw_input_row, run of groups by run. An input element has one writer and one
   summation order whatever the split. */
TARGET static void FNI(dw_backward_input)(T *dinp, const T *dout, const T *weight,
                                          const fc_conv2d_dims *d, T *workspace, int nthreads) {
    const int64_t Wp = fc_dw_padded_cols(d), Cg = d->C / d->G, Fg = d->OC / d->G;
    const int64_t gpt = Fg <= BLK ? BLK / Fg : 1; /* groups per dw_input_row */
    if (fc_dw_input_as_forward(d)) {
        /* flipped[tap', m, g*Cg + c] = weight[taps - 1 - tap', c, g*Fg + m]: (KH, KW, Fg, C). */
        const fc_conv2d_dims t = fc_dw_input_dims(d);
        const int64_t taps = d->KH * d->KW;
        T *flipped = workspace;
        for (int64_t tap = 0; tap < taps; tap++)
            for (int64_t m = 0; m < Fg; m++)
                for (int64_t i = 0; i < d->C; i++)
                    flipped[(tap * Fg + m) * d->C + i] =
                        weight[((taps - 1 - tap) * Cg + i % Cg) * d->OC + (i / Cg) * Fg + m];
        FNI(dw_forward)(dinp, dout, flipped, NULL, &t, 0, workspace + taps * Fg * d->C, nthreads);
        return;
    }
    const int64_t runs = (d->G + gpt - 1) / gpt;
    const int64_t bands = fc_dw_bands(d->N, d->H, nthreads), tasks = d->N * bands;
    (void)nthreads;
#ifdef _OPENMP
#pragma omp parallel num_threads(nthreads)
#endif
    {
        const fc_fp_state fp = fc_fp_fast();
        T *buf = workspace + (size_t)fc_dw_thread_id() * Wp * Cg * BLK;
#ifdef _OPENMP
#pragma omp for schedule(dynamic)
#endif
        for (int64_t t = 0; t < tasks; t++) {
            const int64_t n = t / bands, band = t % bands;
            const int64_t ih0 = d->H * band / bands, ih1 = d->H * (band + 1) / bands;
            for (int64_t ih = ih0; ih < ih1; ih++)
                for (int64_t run = 0; run < runs; run++)
                    FNI(dw_input_row)(dinp, dout, weight, d, buf, n, ih, run * gpt,
                                      run * gpt + gpt < d->G ? run * gpt + gpt : d->G);
        }
        fc_fp_restore(fp);
    }
}

/* accb[j] += sum over ow of dout[oh, ow, f0 + j] (the row's sum first, then one add). */
TARGET static void FNI(dw_bias_row)(T *restrict accb, const T *restrict dy, const fc_conv2d_dims *d,
                                    int64_t f0, int64_t len) {
    T s0[BLK] = {0};
    for (int64_t ow = 0; ow < d->OW; ow++) {
        const T *g = dy + ow * d->OC + f0;
        FC_SIMD
        for (int64_t j = 0; j < len; j++) s0[j] += g[j];
    }
    FC_SIMD
    for (int64_t j = 0; j < len; j++) accb[j] += s0[j];
}

/* Sums one output row's contribution to every (tap, c) row of a channel block of dweight:
   acc[((kh*KW + kw)*Cg + c) * BLK + j] += sum over ow of x[tap cell of ow, plane c, j] *
   dout[oh, ow, f0 + j] (the row's sum first, then one add), and accb[j] += sum over ow of
   dout[oh, ow, f0 + j]. */
TARGET static FC_ALWAYS_INLINE void FNI(dw_weight_row)(T *restrict acc, T *restrict accb,
                                                       const T *restrict ring, int64_t slot0,
                                                       const T *restrict dy,
                                                       const fc_conv2d_dims *d, int64_t f0,
                                                       int64_t len, int64_t Cg, int64_t R,
                                                       int64_t Wp) {
    const int64_t OC = d->OC, SW = d->SW * Cg * len;
    for (int64_t kh = 0; kh < d->KH; kh++) {
        int64_t slot = slot0 + kh * d->DH;
        if (slot >= R) slot -= R;
        for (int64_t kwc = 0; kwc < d->KW * Cg; kwc++) {
            const int64_t kw = kwc / Cg, c = kwc % Cg;
            const T *x = ring + ((slot * Wp + kw * d->DW) * Cg + c) * len;
            const T *g = dy + f0;
            T s0[BLK] = {0}, s1[BLK] = {0};
            int64_t ow = 0;
            for (; ow + 2 <= d->OW; ow += 2, x += 2 * SW, g += 2 * OC) {
                FC_SIMD
                for (int64_t j = 0; j < len; j++) {
                    s0[j] += x[j] * g[j];
                    s1[j] += x[SW + j] * g[OC + j];
                }
            }
            if (ow < d->OW) {
                FC_SIMD
                for (int64_t j = 0; j < len; j++) s0[j] += x[j] * g[j];
            }
            T *a = acc + (kh * d->KW * Cg + kwc) * BLK;
            FC_SIMD
            for (int64_t j = 0; j < len; j++) a[j] += s0[j] + s1[j];
        }
    }
    if (accb) FNI(dw_bias_row)(accb, dy, d, f0, len);
}

/* Channels per sub-block of the 3x3 weight gradient: 9 taps x 2 vectors = 18 accumulators on
   avx512, 9 x 1 on the 16-register ISAs. */
#undef FC_DW_3X3_WEIGHT_BLOCK
#define FC_DW_3X3_WEIGHT_BLOCK (VBYTES >= 64 ? BLK / 2 : BLK / 4)

/* dw_weight_row for a 3x3 kernel with unit stride and dilation: one pass over the row feeds all
   nine taps (each dout vector is loaded once, not nine times). Each tap's row sum is one chain in
   pixel order. */
TARGET static FC_ALWAYS_INLINE void FNI(dw_weight_row_3x3)(T *restrict acc, const T *restrict ring,
                                                           int64_t cell, int64_t slot0,
                                                           const T *restrict dy,
                                                           const fc_conv2d_dims *d, int64_t f0,
                                                           int64_t len, int64_t R, int64_t Wp) {
    const int64_t OC = d->OC, OW = d->OW;
    const T *rows[3];
    for (int64_t kh = 0; kh < 3; kh++) {
        int64_t slot = slot0 + kh * d->DH;
        if (slot >= R) slot -= R;
        rows[kh] = ring + slot * Wp * cell;
    }
    const T *r0 = rows[0], *r1 = rows[1], *r2 = rows[2], *g = dy + f0;
    /* Named arrays with constant-length loops stay in registers (a zeroing loop would become a
       memset and push them to memory: the first pixel sets them instead). */
    T a0[BLK], a1[BLK], a2[BLK], a3[BLK], a4[BLK], a5[BLK], a6[BLK], a7[BLK], a8[BLK];
    FC_SIMD
    for (int64_t j = 0; j < len; j++) {
        const T gj = g[j];
        a0[j] = r0[j] * gj, a1[j] = r0[cell + j] * gj, a2[j] = r0[2 * cell + j] * gj;
        a3[j] = r1[j] * gj, a4[j] = r1[cell + j] * gj, a5[j] = r1[2 * cell + j] * gj;
        a6[j] = r2[j] * gj, a7[j] = r2[cell + j] * gj, a8[j] = r2[2 * cell + j] * gj;
    }
    for (int64_t ow = 1; ow < OW; ow++) {
        const T *x0 = r0 + ow * cell, *x1 = r1 + ow * cell, *x2 = r2 + ow * cell;
        const T *go = g + ow * OC;
        FC_SIMD
        for (int64_t j = 0; j < len; j++) {
            const T gj = go[j];
            a0[j] += x0[j] * gj, a1[j] += x0[cell + j] * gj, a2[j] += x0[2 * cell + j] * gj;
            a3[j] += x1[j] * gj, a4[j] += x1[cell + j] * gj, a5[j] += x1[2 * cell + j] * gj;
            a6[j] += x2[j] * gj, a7[j] += x2[cell + j] * gj, a8[j] += x2[2 * cell + j] * gj;
        }
    }
    FC_SIMD
    for (int64_t j = 0; j < len; j++) {
        acc[j] += a0[j], acc[BLK + j] += a1[j], acc[2 * BLK + j] += a2[j];
        acc[3 * BLK + j] += a3[j], acc[4 * BLK + j] += a4[j], acc[5 * BLK + j] += a5[j];
        acc[6 * BLK + j] += a6[j], acc[7 * BLK + j] += a7[j], acc[8 * BLK + j] += a8[j];
    }
}

/* dw_weight_row_3x3 over a ring block of `len` channels (the ring's cell width), in sub-blocks
   of at most FC_DW_3X3_WEIGHT_BLOCK, with constant widths and lengths in the common cases. Kept
   out of line, so that its copies do not crowd the caller's loop out of registers. */
TARGET static FC_NOINLINE void FNI(dw_weight_3x3_block)(T *restrict acc, const T *restrict ring,
                                                        int64_t slot0, const T *restrict dy,
                                                        const fc_conv2d_dims *d, int64_t f0,
                                                        int64_t len, int64_t R, int64_t Wp) {
    const int64_t width = FC_DW_3X3_WEIGHT_BLOCK;
    if (len == BLK) {
        for (int64_t j0 = 0; j0 < BLK; j0 += width)
            FNI(dw_weight_row_3x3)(acc + j0, ring + j0, BLK, slot0, dy, d, f0 + j0, width, R, Wp);
    } else if (len == width) {
        FNI(dw_weight_row_3x3)(acc, ring, width, slot0, dy, d, f0, width, R, Wp);
    } else {
        for (int64_t j0 = 0; j0 < len; j0 += width) {
            const int64_t sub = len - j0 < width ? len - j0 : width;
            FNI(dw_weight_row_3x3)(acc + j0, ring + j0, len, slot0, dy, d, f0 + j0, sub, R, Wp);
        }
    }
}

/* Weight (and bias) gradient. The N*OH output rows are cut into fc_dw_segments(d) fixed segments;
   a task owns one segment and one channel block and writes its partial sum (taps x block, then
   the bias block) into that segment's slot of `partials`; the slots are then added in segment
   order. Within a segment, sums are chunked: each output row is summed on its own, rows add into
   a per-image sum, images into the segment. The split and the order depend on the shape alone. */
TARGET static void FNI(dw_backward_weight)(T *dweight, T *dbias, const T *dout, const T *inp,
                                           const fc_conv2d_dims *d, T *workspace, int nthreads) {
    const int64_t R = fc_dw_ring_rows(d), Wp = fc_dw_padded_cols(d), Cg = d->C / d->G;
    const int64_t taps = d->KH * d->KW * Cg; /* rows of dweight */
    /* The 3x3 row keeps nine taps' accumulators in registers: it takes a block's ring in
       narrower sub-blocks (dw_weight_3x3_block: the width only splits the channels, never a
       sum). */
    const int is3x3 = Cg == 1 && d->KH == 3 && d->KW == 3 && d->SW == 1 && d->DW == 1;
    const int64_t blocks = (d->OC + BLK - 1) / BLK, segments = fc_dw_segments(d);
    const int64_t rows = d->N * d->OH, part = (taps + 1) * d->OC; /* one segment's slot */
    T *partials = workspace, *scratch = workspace + segments * part;
    const int64_t per_thread = R * Wp * Cg * BLK + 2 * (taps + 1) * BLK;
    const int prefetch = fc_dw_prefetches(d, sizeof(T));
    (void)nthreads;
#ifdef _OPENMP
#pragma omp parallel num_threads(nthreads)
#endif
    {
        const fc_fp_state fp = fc_fp_fast();
        T *ring = scratch + (size_t)fc_dw_thread_id() * per_thread;
        T *img = ring + R * Wp * Cg * BLK, *seg = img + (taps + 1) * BLK; /* taps, then the bias */
#ifdef _OPENMP
#pragma omp for schedule(dynamic)
#endif
        for (int64_t t = 0; t < segments * blocks; t++) {
            const int64_t s = t / blocks, f0 = (t % blocks) * BLK;
            const int64_t len = d->OC - f0 < BLK ? d->OC - f0 : BLK;
            const int64_t row0 = rows * s / segments, row1 = rows * (s + 1) / segments;
            T *accb = dbias ? img + taps * BLK : NULL;
            for (int64_t i = 0; i < (taps + 1) * BLK; i++) seg[i] = img[i] = 0;
            int64_t filled = -1;
            for (int64_t row = row0; row < row1; row++) {
                const int64_t n = row / d->OH, oh = row % d->OH;
                if (row == row0 || oh == 0) filled = oh * d->SH - 1; /* a new image: empty ring */
                const T *x = inp + n * d->H * d->W * d->C;
                const int64_t slot0 = FNI(dw_advance_rings)(ring, &filled, oh * d->SH, R, x, d, f0,
                                                            f0 + len, Wp, 0 /* one block */,
                                                            prefetch);
                const T *dy = dout + row * d->OW * d->OC;
                if (is3x3) {
                    FNI(dw_weight_3x3_block)(img, ring, slot0, dy, d, f0, len, R, Wp);
                    if (accb) FNI(dw_bias_row)(accb, dy, d, f0, len);
                } else if (Cg > 1)
                    FNI(dw_weight_row)(img, accb, ring, slot0, dy, d, f0, len, Cg, R, Wp);
                else if (len == BLK)
                    FNI(dw_weight_row)(img, accb, ring, slot0, dy, d, f0, BLK, 1, R, Wp);
                else if (len == BLK / 2)
                    FNI(dw_weight_row)(img, accb, ring, slot0, dy, d, f0, BLK / 2, 1, R, Wp);
                else if (len == BLK / 4)
                    FNI(dw_weight_row)(img, accb, ring, slot0, dy, d, f0, BLK / 4, 1, R, Wp);
                else
                    FNI(dw_weight_row)(img, accb, ring, slot0, dy, d, f0, len, 1, R, Wp);
                if (oh == d->OH - 1 || row == row1 - 1) { /* the image's rows end here */
                    for (int64_t i = 0; i < (taps + 1) * BLK; i++) seg[i] += img[i], img[i] = 0;
                }
            }
            T *slot = partials + s * part;
            for (int64_t tap = 0; tap <= taps; tap++)
                for (int64_t j = 0; j < len; j++) slot[tap * d->OC + f0 + j] = seg[tap * BLK + j];
        }
        /* dweight (taps x OC) then dbias (OC): the segments added in order. */
#ifdef _OPENMP
#pragma omp for schedule(static)
#endif
        for (int64_t i = 0; i < part; i++) {
            if (i >= taps * d->OC && !dbias) continue;
            T sum = partials[i];
            for (int64_t s = 1; s < segments; s++) sum += partials[s * part + i];
            if (i < taps * d->OC)
                dweight[i] = sum;
            else
                dbias[i - taps * d->OC] = sum;
        }
        fc_fp_restore(fp);
    }
}

#undef BLK
#undef FNI
#undef FC_CAT3
#undef FC_CAT3_
