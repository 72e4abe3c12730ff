/* Direct forward kernel for first layers: a few input channels (G == 1, C <= 3), where an im2col
   row is only KH*KW*C long and packing it would cost more than the arithmetic. It reads a
   zero-padded NHWC copy of the images (xpad: N x Hp x Wp x C, conv2d_impl.h; the images
   themselves when they need no padding), so every window cell is in bounds, and computes PX
   pixels x two vectors of output channels in registers: out[p, f] = bias[f] + sum over taps
   t = (kh, kw, c), in weight order, of x[p + offset[t]] * weight[t, f], fused multiply-adds
   from the bias, so it rounds like the GEMM tiles do. The SIMD kernels read the weights from a
   copy packed per block of filters (pack_blocks), each tap's vectors contiguous and aligned.
   Included by conv2d.c once per type and ISA level with T, SFX, NAME, TARGET and, for a SIMD
   body, the vector macros of vec_*.h. */
#include "loop_hints.h"
#define FC_CAT3_(a, b, c) a##_##b##_##c
#define FC_CAT3(a, b, c) FC_CAT3_(a, b, c)
#define KERNEL FC_CAT3(first_layer_forward, SFX, NAME)
#define ROW FC_CAT3(first_layer_row, SFX, NAME)
#define ROW_AT FC_CAT3(first_layer_row_at, SFX, NAME)
#define SLIDING_ROW FC_CAT3(first_layer_sliding_row, SFX, NAME)
#define PACK_BLOCKS FC_CAT3(first_layer_pack_blocks, SFX, NAME)

#ifdef VT
/* Pixels per step: 2*PX accumulators, 2 weight vectors and a broadcast fill the registers
   (14 pixels are also two steps of a 28-pixel row, which 8 would cover in four). */
#if VREGS >= 32
#define PX 14
#define FOR_PX(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8) X(9) X(10) X(11) X(12) X(13)
#else
#define PX 6
#define FOR_PX(X) X(0) X(1) X(2) X(3) X(4) X(5)
#endif
#define DECLARE(p) VT acc##p##0 = init0, acc##p##1 = init1;
#define STEP(p)                                                                                    \
    {                                                                                              \
        const VT xv = VSET1(px[(p) * step + offset[t]]);                                           \
        acc##p##0 = VFMA(xv, w0, acc##p##0);                                                       \
        acc##p##1 = VFMA(xv, w1, acc##p##1);                                                       \
    }
/* A row's channel masks and starting values (the bias, or zero). */
#define ROW_SETUP                                                                                  \
    const VM m0 = VMASK(OC - f0), m1 = VMASK(OC - f0 - VW);                                        \
    const int full = OC - f0 >= 2 * VW; /* plain stores: a masked one is slower when it splits */  \
    stream = stream && full;                                                                       \
    const VT init0 = bias ? VLOADM(bias + f0, m0) : VZERO;                                         \
    const VT init1 = bias ? VLOADM(bias + f0 + VW, m1) : VZERO;
#define STORE(p)                                                                                   \
    {                                                                                              \
        T *o = orow + (ow + (p)) * ostep;                                                          \
        if (relu) acc##p##0 = VMAX(VZERO, acc##p##0), acc##p##1 = VMAX(VZERO, acc##p##1);          \
        if (stream) {                                                                              \
            VSTREAM(o, acc##p##0);                                                                 \
            VSTREAM(o + VW, acc##p##1);                                                            \
        } else if (full) {                                                                         \
            VSTORE(o, acc##p##0);                                                                  \
            VSTORE(o + VW, acc##p##1);                                                             \
        } else {                                                                                   \
            VSTOREM(o, m0, acc##p##0);                                                             \
            VSTOREM(o + VW, m1, acc##p##1);                                                        \
        }                                                                                          \
    }
#endif

/* One output row at channels [f0, f0 + fblock): orow's pixels `ostep` apart (out's row, or a row
   of the pooled kernel's buffer), from xrow, the padded copy's first row of its windows, whose
   pixels are `step` (SW * C) values apart. `weight`: the block's packed taps (SIMD kernels), or
   the weights (the portable one). `stream`: full blocks are written with streaming stores (see
   KERNEL). */
TARGET static FC_ALWAYS_INLINE void ROW_AT(T *orow, int64_t ostep, const T *xrow, const T *weight,
                                           const T *bias, const int64_t *offset,
                                           const fc_conv2d_dims *d, int64_t f0, int relu,
                                           int64_t step, int stream) {
    const int64_t OC = d->OC, taps = d->KH * d->KW * d->C;
#ifdef VT
    ROW_SETUP
    int64_t ow = 0;
    for (; d->OW >= PX && ow < d->OW; ow += PX) {
        /* The row's last step overlaps the one before (those pixels are computed twice, the
           same values rewritten): one at a time, each pixel would wait on its own chain of
           multiply-adds, twice as long as a whole step. */
        if (ow + PX > d->OW) ow = d->OW - PX;
        const T *px = xrow + ow * step;
        FOR_PX(DECLARE)
        for (int64_t t = 0; t < taps; t++) {
            const VT w0 = VLOAD(weight + t * 2 * VW), w1 = VLOAD(weight + t * 2 * VW + VW);
            FOR_PX(STEP)
        }
        FOR_PX(STORE)
    }
    for (; ow < d->OW; ow++) { /* rows narrower than a step: one pixel at a time */
        const T *px = xrow + ow * step;
        DECLARE(0)
        for (int64_t t = 0; t < taps; t++) {
            const VT w0 = VLOAD(weight + t * 2 * VW), w1 = VLOAD(weight + t * 2 * VW + VW);
            STEP(0)
        }
        STORE(0)
    }
#else
    (void)f0, (void)stream;
    for (int64_t ow = 0; ow < d->OW; ow++) {
        const T *px = xrow + ow * step;
        T *o = orow + ow * ostep;
        for (int64_t f = 0; f < OC; f++) o[f] = bias ? bias[f] : 0;
        for (int64_t t = 0; t < taps; t++) {
            const T x = px[offset[t]];
            const T *w = weight + t * OC;
            FC_SIMD
            for (int64_t f = 0; f < OC; f++) o[f] += x * w[f];
        }
        if (relu)
            for (int64_t f = 0; f < OC; f++) o[f] = o[f] < 0 ? 0 : o[f];
    }
#endif
}

#if defined(VT) && VREGS < 32
/* ROW_AT for one input channel, windows 3 columns wide, stride and dilation 1 in the row (the
   MNIST-style first layer), on 16 registers: an input cell is broadcast once for the 3 pixels
   whose windows hold it, each taking it with its own column's weights (6 vectors per window row
   stay in registers), so 4 pixels take 6 broadcasts per window row instead of 12. Whole blocks
   of filters only: the masks of a partial one would take 2 more registers and push accumulators
   to the stack. ROW passes KH = 3 as a constant, so that the window rows' loop unrolls. Every
   pixel still adds its taps in ROW_AT's order: bit-identical (AMD Zen 3, 28 x 28 x 1 -> 32
   float32: 1.03-1.32x ROW_AT's speed). */
#define TAKE(p, kw)                                                                                \
    acc##p##0 = VFMA(xv, w##kw##0, acc##p##0);                                                     \
    acc##p##1 = VFMA(xv, w##kw##1, acc##p##1);
#define CELL(j, takes)                                                                             \
    {                                                                                              \
        const VT xv = VSET1(cells[j]);                                                             \
        takes                                                                                      \
    }
TARGET static FC_ALWAYS_INLINE void SLIDING_ROW(T *orow, int64_t ostep, const T *xrow,
                                                const T *weight, const T *bias,
                                                const int64_t *offset, const fc_conv2d_dims *d,
                                                int64_t KH, int64_t f0, int relu, int stream) {
    const int64_t OC = d->OC;
    ROW_SETUP
    for (int64_t ow = 0; ow < d->OW; ow += 4) {
        if (ow + 4 > d->OW) ow = d->OW - 4; /* as in ROW_AT: OW >= 4 */
        DECLARE(0) DECLARE(1) DECLARE(2) DECLARE(3)
        for (int64_t kh = 0; kh < KH; kh++) {
            const T *cells = xrow + ow + offset[3 * kh], *w = weight + 3 * kh * 2 * VW;
            const VT w00 = VLOAD(w), w01 = VLOAD(w + VW);
            const VT w10 = VLOAD(w + 2 * VW), w11 = VLOAD(w + 3 * VW);
            const VT w20 = VLOAD(w + 4 * VW), w21 = VLOAD(w + 5 * VW);
            CELL(0, TAKE(0, 0))
            CELL(1, TAKE(1, 0) TAKE(0, 1))
            CELL(2, TAKE(2, 0) TAKE(1, 1) TAKE(0, 2))
            CELL(3, TAKE(3, 0) TAKE(2, 1) TAKE(1, 2))
            CELL(4, TAKE(3, 1) TAKE(2, 2))
            CELL(5, TAKE(3, 2))
        }
        STORE(0) STORE(1) STORE(2) STORE(3)
    }
}
#undef TAKE
#undef CELL
#endif

/* ROW_AT with the common pixel steps as constants: a step's broadcasts then read at fixed
   displacements from one pointer, where a run-time step made them a chain of 14 dependent
   pointer additions per tap, as long as the tap's multiply-adds. */
TARGET static void ROW(T *orow, int64_t ostep, const T *xrow, const T *weight, const T *bias,
                       const int64_t *offset, const fc_conv2d_dims *d, int64_t f0, int relu,
                       int stream) {
    const int64_t step = d->SW * d->C;
#if defined(VT) && VREGS < 32
    if (step == 1 && d->KW == 3 && d->DW == 1 && d->OW >= 4 && d->OC - f0 >= 2 * VW) {
        if (d->KH == 3) /* a constant: AMD Zen 3, 28 x 28 x 1 -> 32: 1.1x */
            SLIDING_ROW(orow, ostep, xrow, weight, bias, offset, d, 3, f0, relu, stream);
        else
            SLIDING_ROW(orow, ostep, xrow, weight, bias, offset, d, d->KH, f0, relu, stream);
        return;
    }
#endif
    if (step == 1)
        ROW_AT(orow, ostep, xrow, weight, bias, offset, d, f0, relu, 1, stream);
    else if (step == 3)
        ROW_AT(orow, ostep, xrow, weight, bias, offset, d, f0, relu, 3, stream);
    else
        ROW_AT(orow, ostep, xrow, weight, bias, offset, d, f0, relu, step, stream);
}

#ifdef VT
/* packed (blocks x taps x 2*VW) = weight (taps x OC) by blocks of 2*VW filters, the last block
   padded with zeros: a tap's two vectors are then one aligned stretch (packed is, conv2d_impl.h),
   read at constant distances. From the weights in place (rows OC apart, not aligned to the
   vector) the one-channel kernel ran at 0.7-0.9x on AMD Zen 3. */
TARGET static void PACK_BLOCKS(T *packed, const T *weight, int64_t taps, int64_t OC) {
    for (int64_t f0 = 0; f0 < OC; f0 += 2 * VW)
        for (int64_t t = 0; t < taps; t++, packed += 2 * VW)
            for (int64_t f = 0; f < 2 * VW; f++)
                packed[f] = f0 + f < OC ? weight[t * OC + f0 + f] : 0;
}
#endif

/* out (N x OH x OW x OC) = the convolution, or, with pooled (N x OH/2 x OW/2 x OC) instead, its
   2 x 2, stride-2, valid max pool (pool_rule.h): a task then computes a window row's two output
   rows into the thread's rows (2 x OW x fblock, conv2d_impl.h) and writes only their pool.
   packed: room for the SIMD kernels' packed weights (taps x OC rounded up to whole blocks). */
TARGET static void KERNEL(T *out, T *pooled, T *rows, T *packed, const T *xpad, const T *weight,
                          const T *bias, const fc_conv2d_dims *d, int64_t Hp, int64_t Wp,
                          int relu, int nthreads) {
    const int64_t OC = d->OC, C = d->C, taps = d->KH * d->KW * C;
    int64_t offset[FC_KC]; /* of each tap's cell from its window's origin; taps <= FC_KC */
    for (int64_t t = 0; t < taps; t++) {
        const int64_t tap = t / C;
        offset[t] = ((tap / d->KW) * d->DH * Wp + (tap % d->KW) * d->DW) * C + t % C;
    }
#ifdef VT
    const int64_t fblock = 2 * VW;
    PACK_BLOCKS(packed, weight, taps, OC);
#define BLOCK_WEIGHTS(f0) (packed + (f0) * taps)
#else
    const int64_t fblock = OC;
    (void)packed;
#define BLOCK_WEIGHTS(f0) weight
#endif
    const int64_t fblocks = (OC + fblock - 1) / fblock, PH = d->OH / 2, PW = d->OW / 2;
    const int64_t units = pooled ? d->N * PH : d->N * d->OH; /* window rows, or output rows */
    /* A large call streams its output straight from the accumulators (stream_store.h; AMD
       Zen 3, RGB layers of 20-41 MiB: 1.05-1.15x). */
    const int stream = !pooled && fc_stream_conv_output(out, d, sizeof(T), nthreads);
    (void)nthreads;
#ifdef _OPENMP
#pragma omp parallel num_threads(nthreads)
#endif
    {
        const fc_fp_state fp = fc_fp_fast();
#ifdef _OPENMP
        T *buffer = pooled ? rows + (size_t)omp_get_thread_num() * 2 * d->OW * fblock : NULL;
#else
        T *buffer = rows;
#endif
#ifdef _OPENMP
#pragma omp for schedule(static)
#endif
        for (int64_t task = 0; task < units * fblocks; task++) {
            const int64_t unit = task / fblocks, f0 = (task % fblocks) * fblock;
            if (!pooled) {
                const int64_t n = unit / d->OH, oh = unit % d->OH;
                ROW(out + unit * d->OW * OC + f0, OC, xpad + ((n * Hp + oh * d->SH) * Wp) * C,
                    BLOCK_WEIGHTS(f0), bias, offset, d, f0, relu, stream);
                continue;
            }
            const int64_t n = unit / PH, oh = unit % PH * 2;
            const int64_t nf = OC - f0 < fblock ? OC - f0 : fblock;
            for (int r = 0; r < 2; r++)
                ROW(buffer + r * d->OW * fblock, fblock,
                    xpad + ((n * Hp + (oh + r) * d->SH) * Wp) * C, BLOCK_WEIGHTS(f0), bias,
                    offset, d, f0, relu, 0);
            T *prow = pooled + unit * PW * OC + f0;
            for (int64_t pw = 0; pw < PW; pw++) {
                const T *x00 = buffer + 2 * pw * fblock, *x01 = x00 + fblock;
                const T *x10 = x00 + d->OW * fblock, *x11 = x10 + fblock;
                FC_SIMD
                for (int64_t c = 0; c < nf; c++) {
                    T m;
                    FC_POOL_MAX_OF_4(m, x00[c], x01[c], x10[c], x11[c]);
                    prow[pw * OC + c] = m;
                }
            }
        }
        if (stream) fc_stream_fence();
        fc_fp_restore(fp);
    }
}

#undef BLOCK_WEIGHTS
#undef PACK_BLOCKS
#undef PX
#undef FOR_PX
#undef DECLARE
#undef STEP
#undef STORE
#undef KERNEL
#undef ROW
#undef ROW_AT
#undef SLIDING_ROW
#undef ROW_SETUP
#undef FC_CAT3
#undef FC_CAT3_
