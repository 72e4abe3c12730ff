/* Winograd F(2x2, 3x3) convolution for 3x3 kernels at stride 1 and dilation 1, one group: the
   forward pass (which the input gradient also runs, on the rotated kernel) and the weight
   gradient. Transforms: winograd.h. Included by conv2d_impl.h once per (type, geometry).
   Shapes: inp (N x H x W x C), weight (3 x 3 x C x OC), out (N x OH x OW x OC). The output
   splits into 2x2 tiles (TH x TW per image, the last row and column of tiles cut at odd sizes);
   tile (n, th, tw) reads the 4x4 input cells from (2*th - PT, 2*tw - PL).
   Forward, per block of tiles and block of output channels:
     V[xi] (tiles x C)  = input transform of each tile, one row per tile;
     M[xi] (tiles x OC) = V[xi] * U[xi], U[xi] (C x OC) the transformed filters, packed once;
     out               = output transform of M's 16 points per tile, then bias and ReLU.
   The 16 GEMMs do 16*C*OC multiply-adds per 4 outputs where the direct sum does 36*C*OC.
   Sums over C run in fc_k_step(C) chunks, each output is written by one task, and the
   transforms round alike at every SIMD level: the results do not depend on the thread count or
   the SIMD level (the tile geometry only sets the forward pass's block sizes). */

#ifndef FC_WINOGRAD_CONSTANTS
#define FC_WINOGRAD_CONSTANTS
/* Fewest input channels for the transforms to pay for themselves. The rule ignores OC, so a
   subset of the filters takes the same path and gives the same bits. */
#define FC_WINOGRAD_MIN_CHANNELS 16
/* Bytes of one forward task's V and M blocks: kept within L2 while the 16 GEMMs re-read them. */
#define FC_WINOGRAD_BLOCK_BYTES (640 * 1024)
/* Most tiles in a forward block, in register tiles (MR rows each). */
#define FC_WINOGRAD_MAX_SLIVERS 4
/* Bytes of a row of M or Z: the output channels one task computes. */
#define FC_WINOGRAD_FILTER_BLOCK_BYTES 512
/* Weight gradient: bytes of a block's V and Z, and the fewest and most tiles in a block. The
   tiles are the steps of each micro-kernel call, so longer blocks amortize its loads and stores
   of the sums. The block length decides how the sums are cut, so it is computed from the shape
   and the type alone, never from the tile geometry. */
#define FC_WINOGRAD_WGRAD_BLOCK_BYTES (1280 * 1024)
#define FC_WINOGRAD_MIN_BLOCK_TILES 8
#define FC_WINOGRAD_MAX_BLOCK_TILES 128
#endif

/* Whether the shape admits Winograd's kernels: also every side of the input and the output at
   least 3, so that an image holds at least 2 x 2 tiles. A thinner one wastes half of each tile
   where the GEMM kernels skip the taps that read its padding, and a one-tile image leaves the
   filter transform nothing to amortize over (the rule ignores N, so a sample's result does not
   depend on its batch). */
static int FN(winograd_shape)(const fc_conv2d_dims *d) {
    return d->G == 1 && d->KH == 3 && d->KW == 3 && d->SH == 1 && d->SW == 1 && d->DH == 1 &&
           d->DW == 1 && d->C >= FC_WINOGRAD_MIN_CHANNELS && d->N >= 1 && d->H >= 3 &&
           d->W >= 3 && d->OH >= 3 && d->OW >= 3;
}

/* Whether it takes them (unless conv2d_set_winograd turned them off). */
static int FN(winograd_applies)(const fc_conv2d_dims *d) {
    return winograd_enabled() && FN(winograd_shape)(d);
}

/* Tile t's image and first output cell: tiles are numbered image by image, row by row. */
static void FN(winograd_tile)(const fc_conv2d_dims *d, int64_t t, int64_t *n, int64_t *oh,
                              int64_t *ow) {
    const int64_t TH = (d->OH + 1) / 2, TW = (d->OW + 1) / 2;
    *n = t / (TH * TW);
    *oh = t / TW % TH * 2;
    *ow = t % TW * 2;
}

static int64_t FN(winograd_tiles)(const fc_conv2d_dims *d) {
    return d->N * ((d->OH + 1) / 2) * ((d->OW + 1) / 2);
}

/* Row strides of V (channels) and M or Z (output channels of a block), in whole cache lines; a
   row of V also holds whole register tiles of channels (the weight gradient reads MR at a
   time). */
static int64_t FN(winograd_ldv)(const fc_conv2d_dims *d) {
    return fc_round_up(fc_round_up(d->C, MR), 64 / (int64_t)sizeof(T));
}
_Static_assert(FC_WINOGRAD_FILTER_BLOCK_BYTES / sizeof(T) >= NR,
               "a block of filters holds at least one register tile's width");
static int64_t FN(winograd_filter_block)(const fc_conv2d_dims *d) {
    const int64_t most = FC_WINOGRAD_FILTER_BLOCK_BYTES / (int64_t)sizeof(T) / NR * NR;
    return fc_round_up(d->OC, NR) < most ? fc_round_up(d->OC, NR) : most;
}

/* Tiles whose 16 points of `row` elements each fit in `bytes`. */
static int64_t FN(winograd_tiles_fitting)(int64_t bytes, int64_t row) {
    return bytes / ((int64_t)sizeof(T) * FC_WINOGRAD_POINTS * row);
}

static int64_t FN(winograd_forward_block_tiles)(const fc_conv2d_dims *d) {
    int64_t slivers = FN(winograd_tiles_fitting)(
        FC_WINOGRAD_BLOCK_BYTES, FN(winograd_ldv)(d) + FN(winograd_filter_block)(d)) / MR;
    if (slivers < 1) slivers = 1;
    return (slivers < FC_WINOGRAD_MAX_SLIVERS ? slivers : FC_WINOGRAD_MAX_SLIVERS) * MR;
}

static int64_t FN(winograd_wgrad_block_tiles)(const fc_conv2d_dims *d) {
    const int64_t filters = FC_WINOGRAD_FILTER_BLOCK_BYTES / (int64_t)sizeof(T);
    const int64_t tiles = FN(winograd_tiles_fitting)(FC_WINOGRAD_WGRAD_BLOCK_BYTES,
                                                     d->C + (d->OC < filters ? d->OC : filters));
    return tiles < FC_WINOGRAD_MIN_BLOCK_TILES   ? FC_WINOGRAD_MIN_BLOCK_TILES
           : tiles > FC_WINOGRAD_MAX_BLOCK_TILES ? FC_WINOGRAD_MAX_BLOCK_TILES
                                                 : tiles;
}

/* Distance between the 16 points' blocks of a task's buffers: a whole, odd number of cache
   lines, so that the 16 streams a transform reads or writes fall in different cache sets (at a
   multiple of 4 KiB they share one, which cost 10% of a weight gradient). */
static int64_t FN(winograd_point_stride)(int64_t elements) {
    const int64_t line = 64 / (int64_t)sizeof(T), lines = (elements + line - 1) / line;
    return (lines | 1) * line;
}

/* Elements of a task's buffers: V (tiles x ldv) and M or Z (tiles x fb) per point. */
static int64_t FN(winograd_task_size)(int64_t tiles, int64_t ldv, int64_t fb) {
    return FC_WINOGRAD_POINTS *
           (FN(winograd_point_stride)(tiles * ldv) + FN(winograd_point_stride)(tiles * fb));
}

/* The calling thread's task buffers in `scratch`: V, then M or Z (*second) after its 16 points;
   *vpoint and *mpoint are the distances between their points. */
static T *FN(winograd_thread_buffers)(T *scratch, int64_t tiles, int64_t ldv, int64_t fb,
                                      T **second, int64_t *vpoint, int64_t *mpoint) {
    T *v = scratch + (size_t)FN(thread_id)() * FN(winograd_task_size)(tiles, ldv, fb);
    *vpoint = FN(winograd_point_stride)(tiles * ldv);
    *mpoint = FN(winograd_point_stride)(tiles * fb);
    *second = v + FC_WINOGRAD_POINTS * *vpoint;
    return v;
}

/* Offsets of the first channel of tile t's four outputs (row-major in the 2x2 tile) in an
   N x OH x OW x OC array; -1 for those past the image's edge. */
static void FN(winograd_outputs)(const fc_conv2d_dims *d, int64_t t, int64_t at[4]) {
    int64_t n, oh0, ow0;
    FN(winograd_tile)(d, t, &n, &oh0, &ow0);
    for (int q = 0; q < 4; q++) {
        const int64_t oh = oh0 + q / 2, ow = ow0 + q % 2;
        at[q] = oh < d->OH && ow < d->OW ? ((n * d->OH + oh) * d->OW + ow) * d->OC : -1;
    }
}

/* Elements of U: 16 packed C x OC panels. */
static int FN(winograd_u_size)(const fc_conv2d_dims *d, size_t *elements) {
    return fc_mul_size((size_t)FC_WINOGRAD_POINTS * (size_t)d->C,
                       (size_t)fc_round_up(d->OC, NR), elements);
}

/* U, a run of zeros for padding cells, then each thread's V and M. */
static int FN(winograd_workspace_size)(const fc_conv2d_dims *d, int nthreads, size_t *elements) {
    const int64_t tiles = FN(winograd_forward_block_tiles)(d);
    size_t shared, threads;
    if (!FN(winograd_u_size)(d, &shared) ||
        !fc_add_size(shared, (size_t)FN(winograd_ldv)(d), &shared) ||
        !fc_mul_size((size_t)FN(winograd_task_size)(tiles, FN(winograd_ldv)(d),
                                                    FN(winograd_filter_block)(d)),
                     (size_t)nthreads, &threads))
        return 0;
    return fc_add_size(shared, threads, elements);
}

/* Row i of v (row stride ld, point stride vstride) = the input transform of channels
   [c0, c0 + len) of tile t0 + i, for i < tb; padding cells read `zeros` (len long). */
static void FN(winograd_input_block)(T *v, int64_t vstride, int64_t ld, const T *inp,
                                     const fc_conv2d_dims *d, int64_t t0, int64_t tb,
                                     int64_t c0, int64_t len, const T *zeros) {
    for (int64_t i = 0; i < tb; i++) {
        int64_t n, oh, ow;
        FN(winograd_tile)(d, t0 + i, &n, &oh, &ow);
        const T *x = inp + n * d->H * d->W * d->C + c0, *cells[FC_WINOGRAD_POINTS];
        for (int cell = 0; cell < FC_WINOGRAD_POINTS; cell++) {
            const int64_t ih = oh - d->PT + cell / 4, iw = ow - d->PL + cell % 4;
            cells[cell] = ih >= 0 && ih < d->H && iw >= 0 && iw < d->W
                              ? x + (ih * d->W + iw) * d->C : zeros;
        }
        FC_CAT(winograd_input_tile, TSFX)(v + i * ld, vstride, cells, len);
    }
}

/* U[xi] packed as fc_pack_b would pack a C x OC matrix (NR-column slivers, k-major, zeros past
   OC): the filter transform runs across each sliver's output channels. */
static void FN(winograd_pack_filters)(T *u, const T *weight, const fc_conv2d_dims *d,
                                      int nthreads) {
    const int64_t C = d->C, OC = d->OC, slivers = (OC + NR - 1) / NR;
    const int64_t usize = C * fc_round_up(OC, NR); /* one point's panel */
#ifdef _OPENMP
#pragma omp parallel num_threads(nthreads)
#else
    (void)nthreads;
#endif
    {
        const fc_fp_state fp = fc_fp_fast();
#ifdef _OPENMP
#pragma omp for schedule(static)
#endif
        for (int64_t c = 0; c < C; c++) {
            for (int64_t s = 0; s < slivers; s++) {
                const int64_t f0 = s * NR, nr = OC - f0 < NR ? OC - f0 : NR;
                const T *taps[9];
                for (int tap = 0; tap < 9; tap++) taps[tap] = weight + (tap * C + c) * OC + f0;
                T *dst = u + (s * C + c) * NR;
                FC_CAT(winograd_filter_tile, TSFX)(dst, usize, taps, nr);
                for (int xi = 0; xi < FC_WINOGRAD_POINTS; xi++)
                    for (int64_t f = nr; f < NR; f++) dst[xi * usize + f] = 0;
            }
        }
        fc_fp_restore(fp);
    }
}

/* out = conv(inp, weight) + bias, then ReLU (relu) or taken through the ReLU whose outputs are
   relu_mask (out's layout; NULL: none); gemm_forward's contract for the shapes
   winograd_applies admits. With pooled instead of out (no mask), the 2 x 2, stride-2, valid max
   pool of that: each whole tile is one pool window, and tiles past the edge belong to none. */
static void FN(winograd_forward_into)(T *out, T *pooled, const T *inp, const T *weight,
                                      const T *bias, const T *relu_mask, const fc_conv2d_dims *d,
                                      int relu, T *workspace, int nthreads) {
    const int64_t C = d->C, OC = d->OC, ldv = FN(winograd_ldv)(d), tiles = FN(winograd_tiles)(d);
    const int64_t fb_max = FN(winograd_filter_block)(d);
    const int64_t tiles_max = FN(winograd_forward_block_tiles)(d);
    const int64_t usize = C * fc_round_up(OC, NR), kstep = fc_k_step(C);
    const int64_t blocks = (tiles + tiles_max - 1) / tiles_max;
    const int64_t fblocks = (OC + fb_max - 1) / fb_max;
    T *u = workspace, *zeros = u + FC_WINOGRAD_POINTS * usize, *scratch = zeros + ldv;
    for (int64_t c = 0; c < ldv; c++) zeros[c] = 0;
    FN(winograd_pack_filters)(u, weight, d, nthreads);
#ifdef _OPENMP
#pragma omp parallel num_threads(nthreads)
#endif
    {
        const fc_fp_state fp = fc_fp_fast();
        int64_t vpoint, mpoint;
        T *m, *v = FN(winograd_thread_buffers)(scratch, tiles_max, ldv, fb_max, &m, &vpoint,
                                               &mpoint);
        const T *rows[FC_WINOGRAD_MAX_SLIVERS * MR];
#ifdef _OPENMP
#pragma omp for schedule(dynamic)
#endif
        for (int64_t task = 0; task < blocks * fblocks; task++) {
            const int64_t t0 = (task / fblocks) * tiles_max, f0 = (task % fblocks) * fb_max;
            const int64_t tb = tiles - t0 < tiles_max ? tiles - t0 : tiles_max;
            const int64_t fb = OC - f0 < fb_max ? OC - f0 : fb_max;
            FN(winograd_input_block)(v, vpoint, ldv, inp, d, t0, tb, 0, C, zeros);
            for (int xi = 0; xi < FC_WINOGRAD_POINTS; xi++) {
                const T *vxi = v + xi * vpoint;
                for (int64_t k0 = 0; k0 < C; k0 += kstep) {
                    const int64_t kc = C - k0 < kstep ? C - k0 : kstep;
                    for (int64_t i = 0; i < fc_round_up(tb, MR); i++)
                        rows[i] = i < tb ? vxi + i * ldv + k0 : FC_CAT(fc_zero_run, TSFX);
                    FN(fc_indirect_macro_kernel)(tb, fb, 1, rows, &kc,
                                                 u + xi * usize + f0 * C + k0 * NR, C * NR,
                                                 m + xi * mpoint, fb_max,
                                                 k0 > 0 ? FC_ACCUMULATE : 0, NULL);
                }
            }
            for (int64_t i = 0; i < tb; i++) {
                int64_t at[4];
                T *y[4] = {NULL, NULL, NULL, NULL}, *window = NULL;
                const T *mask[4];
                FN(winograd_outputs)(d, t0 + i, at);
                if (pooled) {
                    int64_t n, oh0, ow0;
                    if (at[3] < 0) continue; /* a tile past the edge: no window of the pool */
                    FN(winograd_tile)(d, t0 + i, &n, &oh0, &ow0);
                    window = pooled + ((n * (d->OH / 2) + oh0 / 2) * (d->OW / 2) + ow0 / 2) * OC + f0;
                }
                for (int q = 0; q < 4 && !pooled; q++) {
                    y[q] = at[q] >= 0 ? out + at[q] + f0 : NULL;
                    mask[q] = at[q] >= 0 && relu_mask ? relu_mask + at[q] + f0 : NULL;
                }
                FC_CAT(winograd_output_tile, TSFX)(y, m + i * fb_max, mpoint, fb,
                                                   bias ? bias + f0 : NULL, relu,
                                                   relu_mask ? mask : NULL, window);
            }
        }
        fc_fp_restore(fp);
    }
}

static void FN(winograd_forward)(T *out, const T *inp, const T *weight, const T *bias,
                                 const T *relu_mask, const fc_conv2d_dims *d, int relu,
                                 T *workspace, int nthreads) {
    FN(winograd_forward_into)(out, NULL, inp, weight, bias, relu_mask, d, relu, workspace,
                              nthreads);
}

/* ---- The weight gradient: dweight = G^T [ sum over tiles V[xi]^T Z[xi] ] G per point xi,
   V (tiles x C) the input transform as above and Z (tiles x OC) the transform A dY A^T of each
   tile's 2x2 output gradient (zeros past the edge). The sums over tiles run in fixed segments
   of the tile list (sum_segments), each summed in blocks of tiles, in order, into its own
   partial S (16 x C x OC); the segments are added in order at the end. Tasks are (segment,
   block of filters, band of channels): the blocks and bands split the sums' rows and columns,
   never a sum, so the result depends on the shape alone. Within a block of tiles the strided
   micro-kernel reads V and Z where the transforms wrote them (MR channels of a tile's V row,
   NR of its Z row per step). ---- */

static int64_t FN(winograd_segments)(const fc_conv2d_dims *d) {
    return FN(sum_segments)(FN(winograd_tiles)(d), FC_WINOGRAD_POINTS * d->C * d->OC);
}

static int FN(winograd_backward_weight_workspace_size)(const fc_conv2d_dims *d, int nthreads,
                                                       size_t *elements) {
    const int64_t ldv = FN(winograd_ldv)(d), fb = FN(winograd_filter_block)(d);
    const int64_t tiles = FN(winograd_wgrad_block_tiles)(d);
    size_t shared, threads;
    if (!fc_mul_size((size_t)FN(winograd_segments)(d),
                     (size_t)FC_WINOGRAD_POINTS * (size_t)d->C * (size_t)d->OC, &shared) ||
        !fc_add_size(shared, (size_t)(ldv > fb ? ldv : fb), &shared) ||
        !fc_mul_size((size_t)FN(winograd_task_size)(tiles, ldv, fb), (size_t)nthreads, &threads))
        return 0;
    return fc_add_size(shared, threads, elements);
}

/* Writes dweight (3 x 3 x C x OC); the bias gradient is the caller's. */
static void FN(winograd_backward_weight)(T *dweight, const T *dout, const T *inp,
                                         const fc_conv2d_dims *d, T *workspace, int nthreads) {
    const int64_t C = d->C, OC = d->OC, ldv = FN(winograd_ldv)(d), tiles = FN(winograd_tiles)(d);
    const int64_t fb_max = FN(winograd_filter_block)(d), tb_max = FN(winograd_wgrad_block_tiles)(d);
    const int64_t segments = FN(winograd_segments)(d), partial = FC_WINOGRAD_POINTS * C * OC;
    const int64_t fblocks = (OC + fb_max - 1) / fb_max, slivers = (C + MR - 1) / MR;
    /* Bands of channels only to feed idle threads when segments and filter blocks are few. */
    int64_t bands = (2 * nthreads + segments * fblocks - 1) / (segments * fblocks);
    if (bands > slivers) bands = slivers;
    const int64_t zeros_len = ldv > fb_max ? ldv : fb_max;
    T *partials = workspace, *zeros = partials + segments * partial;
    T *scratch = zeros + zeros_len;
    for (int64_t i = 0; i < zeros_len; i++) zeros[i] = 0;
#ifdef _OPENMP
#pragma omp parallel num_threads(nthreads)
#endif
    {
        const fc_fp_state fp = fc_fp_fast();
        int64_t vpoint, zpoint;
        T *z, *v = FN(winograd_thread_buffers)(scratch, tb_max, ldv, fb_max, &z, &vpoint, &zpoint);
        /* Edge tiles read the channels and filters past the last band's and block's end and
           never store them: set them once, so that no uninitialized memory is read. */
        const int64_t last_band = C - MR * (slivers * (bands - 1) / bands);
        const int64_t last_block = OC - (fblocks - 1) * fb_max;
        for (int64_t r = 0; r < FC_WINOGRAD_POINTS * tb_max; r++) {
            T *vrow = v + r / tb_max * vpoint + r % tb_max * ldv;
            T *zrow = z + r / tb_max * zpoint + r % tb_max * fb_max;
            for (int64_t c = last_band; c < ldv; c++) vrow[c] = 0;
            for (int64_t f = last_block; f < fb_max; f++) zrow[f] = 0;
        }
#ifdef _OPENMP
#pragma omp for schedule(dynamic)
#endif
        for (int64_t task = 0; task < segments * fblocks * bands; task++) {
            const int64_t segment = task / (fblocks * bands);
            const int64_t f0 = (task / bands % fblocks) * fb_max, band = task % bands;
            const int64_t fb = OC - f0 < fb_max ? OC - f0 : fb_max;
            const int64_t c0 = MR * (slivers * band / bands);
            const int64_t c1 = MR * (slivers * (band + 1) / bands) < C
                                   ? MR * (slivers * (band + 1) / bands) : C;
            const int64_t t_begin = tiles * segment / segments;
            const int64_t t_end = tiles * (segment + 1) / segments;
            /* blocks of equal length: a short last one would cost a full one's loads and
               stores of the sums */
            const int64_t count = t_end - t_begin, blocks = (count + tb_max - 1) / tb_max;
            const int64_t tb_even = (count + blocks - 1) / blocks;
            T *s = partials + segment * partial + c0 * OC + f0;
            for (int64_t t0 = t_begin; t0 < t_end; t0 += tb_even) {
                const int64_t tb = t_end - t0 < tb_even ? t_end - t0 : tb_even;
                FN(winograd_input_block)(v, vpoint, ldv, inp, d, t0, tb, c0, c1 - c0, zeros);
                for (int64_t i = 0; i < tb; i++) {
                    int64_t at[4];
                    const T *dy[4];
                    FN(winograd_outputs)(d, t0 + i, at);
                    for (int q = 0; q < 4; q++) dy[q] = at[q] >= 0 ? dout + at[q] + f0 : zeros;
                    FC_CAT(winograd_dout_tile, TSFX)(z + i * fb_max, zpoint, dy, fb);
                }
                for (int xi = 0; xi < FC_WINOGRAD_POINTS; xi++) {
                    const T *a = v + xi * vpoint;
                    for (int64_t j0 = 0; j0 < fb; j0 += NR) {
                        const T *b = z + xi * zpoint + j0;
                        FN(fc_strided_macro_kernel)(c1 - c0, fb - j0 < NR ? fb - j0 : NR, 1, &a,
                                                    &b, &tb, ldv, fb_max, s + xi * C * OC + j0,
                                                    OC, t0 > t_begin ? FC_ACCUMULATE : 0);
                    }
                }
            }
        }
        /* Segments added in order, then G^T S G, channel by channel. */
#ifdef _OPENMP
#pragma omp for schedule(static)
#endif
        for (int64_t c = 0; c < C; c++) {
            for (int64_t seg = 1; seg < segments; seg++)
                for (int xi = 0; xi < FC_WINOGRAD_POINTS; xi++)
                    FN(add_row)(partials + (xi * C + c) * OC,
                                partials + seg * partial + (xi * C + c) * OC, OC);
            FC_CAT(winograd_weight_tile, TSFX)(dweight + c * OC, C * OC, partials + c * OC,
                                               C * OC, OC);
        }
        fc_fp_restore(fp);
    }
}
