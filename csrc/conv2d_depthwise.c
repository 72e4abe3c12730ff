#include "conv2d_depthwise.h"

#include "gemm.h" /* fc_mul_size, fc_add_size, fc_threads_for */
#include "isa_variants.h"
#include "stream_store.h"

#include <string.h>

#ifdef _OPENMP
#include <omp.h>
#endif

/* Channel block of the widest kernel (avx512: four 64-byte vectors): workspaces fit every ISA. */
#define FC_DW_MAX_BLOCK_BYTES 256

/* Channels per group the direct kernels take; wider groups have enough depth for the GEMMs. */
#define FC_DW_MAX_GROUP_CHANNELS 4

int conv2d_depthwise_applies(const fc_conv2d_dims *d) {
    return d->G > 1 && d->C / d->G <= FC_DW_MAX_GROUP_CHANNELS;
}

/* Padded rows one output row reads (the ring's size) and padded columns of a row buffer:
   exactly the cells some output window reads. */
static int64_t fc_dw_ring_rows(const fc_conv2d_dims *d) { return (d->KH - 1) * d->DH + 1; }
static int64_t fc_dw_padded_cols(const fc_conv2d_dims *d) {
    return (d->OW - 1) * d->SW + (d->KW - 1) * d->DW + 1;
}

/* Whether the kernel is the 3x3 one of unit column dilation and column stride 1 or 2: the one
   whose cells dw_forward_3x3_cells reads at constant offsets. */
static int fc_dw_3x3_cells(const fc_conv2d_dims *d) {
    return d->KH == 3 && d->KW == 3 && d->SW <= 2 && d->DW == 1;
}

/* Bands of rows per unit (an image): enough tasks to balance the threads. The split
   never changes a result: every output element is computed whole by one task. */
static int64_t fc_dw_bands(int64_t units, int64_t rows, int nthreads) {
    const int64_t bands = (4 * (int64_t)nthreads + units - 1) / units;
    return bands < 1 ? 1 : bands > rows ? rows : bands;
}

/* Fixed segments of the N*OH output rows for the weight gradient, set by the shape alone: at
   least 8 (work for the threads), and small enough that a segment's input and dout rows (read
   once per channel block) stay in L2: about 2^18 elements. */
#define FC_DW_SEGMENTS 8
#define FC_DW_SEGMENT_ELEMENTS ((int64_t)1 << 18)
static int64_t fc_dw_segments(const fc_conv2d_dims *d) {
    const int64_t rows = d->N * d->OH, row = d->SH * d->W * d->C + d->OW * d->OC;
    int64_t segments = rows * row / FC_DW_SEGMENT_ELEMENTS;
    if (segments < FC_DW_SEGMENTS) segments = FC_DW_SEGMENTS;
    return rows < segments ? rows : segments;
}

/* With unit strides and padding within the kernel's extent, the input gradient is a forward
   convolution of dout with the kernel flipped and transposed within each group: dinp[ih, iw,
   g*Cg + c] = sum of dout[ih + PT - kh*DH, iw + PL - kw*DW, g*Fg + m] * weight[kh, kw, c, g*Fg + m],
   i.e. the forward pass over a (N, OH, OW, OC) input (Fg channels per group) with padding
   (KH-1)*DH - PT, (KW-1)*DW - PL, giving (N, H, W, C) (Cg outputs per group). It then gathers in
   registers instead of scattering through memory. Up to FC_DW_MAX_GROUP_CHANNELS outputs per
   group, the same bound as the forward kernels'. */
static int fc_dw_input_as_forward(const fc_conv2d_dims *d) {
    return d->OC / d->G <= FC_DW_MAX_GROUP_CHANNELS && d->SH == 1 && d->SW == 1 &&
           d->PT <= (d->KH - 1) * d->DH && d->PL <= (d->KW - 1) * d->DW;
}
static fc_conv2d_dims fc_dw_input_dims(const fc_conv2d_dims *d) {
    fc_conv2d_dims t = *d;
    t.H = d->OH, t.W = d->OW, t.C = d->OC, t.OH = d->H, t.OW = d->W, t.OC = d->C;
    t.PT = (d->KH - 1) * d->DH - d->PT, t.PL = (d->KW - 1) * d->DW - d->PL;
    return t;
}

static int fc_dw_thread_id(void) {
#ifdef _OPENMP
    return omp_get_thread_num();
#else
    return 0;
#endif
}

/* FLOPs of a pass, weighed for fc_threads_for, whose threshold suits the GEMMs: these kernels
   move a value per multiply-add and run about 8x fewer FLOP/s, so a pass worth one GEMM
   thread's wake-up has 8x fewer FLOPs (32x29x29x64 at stride 2, 7 MFLOP, ran on one thread of
   two, as slow as on one). */
#define FC_DW_FLOP_WEIGHT 8.0
static double fc_dw_flops(const fc_conv2d_dims *d) {
    return FC_DW_FLOP_WEIGHT * 2.0 * (double)d->N * (double)d->OH * (double)d->OW *
           (double)(d->KH * d->KW) * (double)d->OC;
}

/* Per-thread row buffers (`rows` padded rows of one channel block) plus `extra`, times nthreads,
   plus `shared`: the workspace in elements of `size`-byte values. */
static int fc_dw_workspace(const fc_conv2d_dims *d, int nthreads, size_t size, int64_t rows,
                           size_t extra, size_t shared, size_t *elements) {
    const size_t block = FC_DW_MAX_BLOCK_BYTES / size;
    size_t per_thread, total;
    if (!fc_mul_size((size_t)rows * block, (size_t)fc_dw_padded_cols(d), &per_thread) ||
        !fc_add_size(per_thread, extra * block, &per_thread) ||
        !fc_mul_size(per_thread, (size_t)nthreads, &total) || !fc_add_size(total, shared, &total))
        return 0;
    *elements = total;
    return 1;
}

/* Output channels whose rings the forward pass fills together, a multiple of the widest block:
   as many as fit FC_DW_RING_BYTES (half of the smallest L2 we run on, AMD Zen 3's), so that each
   input row is read whole, once, instead of once per channel block (Zen 3, 32x29x29x64 at stride
   2: a block's pass took 128 of each pixel's 256 bytes from memory, and the two passes ran 2.5x
   slower than one pass over C = 32). */
#define FC_DW_RING_BYTES ((int64_t)256 * 1024)
static int64_t fc_dw_ring_channels(const fc_conv2d_dims *d, size_t size) {
    const int64_t block = FC_DW_MAX_BLOCK_BYTES / (int64_t)size;
    const int64_t blocks = (d->OC + block - 1) / block;
    const int64_t block_bytes =
        fc_dw_ring_rows(d) * fc_dw_padded_cols(d) * (d->C / d->G) * FC_DW_MAX_BLOCK_BYTES;
    const int64_t fit = FC_DW_RING_BYTES / block_bytes;
    return (fit < 1 ? 1 : fit > blocks ? blocks : fit) * block;
}

/* The forward pass's rings, in rows of one widest block. */
static int64_t fc_dw_forward_rows(const fc_conv2d_dims *d, size_t size) {
    return fc_dw_ring_rows(d) * (d->C / d->G) * fc_dw_ring_channels(d, size) /
           (FC_DW_MAX_BLOCK_BYTES / (int64_t)size);
}

/* A thread's output row for the forward pass to stream out (fc_stream_conv_output), in
   elements, a whole number of widest blocks; 0 for a call too small to stream. */
static int64_t fc_dw_stage_elements(const fc_conv2d_dims *d, size_t size) {
    const int64_t block = FC_DW_MAX_BLOCK_BYTES / (int64_t)size;
    return fc_stream_conv_large(d, size) ? (d->OW * d->OC + block - 1) / block * block : 0;
}

/* Whether the rings' fill prefetches the next output row's input rows (dw_fill_span_row): a call
   whose input and output reach FC_DW_PREFETCH_BYTES, so that its input has left the caches by
   its next call. AMD Zen 3 (2026-12-03), 1 and 2 threads: inputs read from memory gained
   1.01-1.16x at every size; inputs left in the 32 MiB L3 by the call before, 0.98-1.27x at
   24-98 MiB and 0.90-0.94x at 8-16 MiB. */
#define FC_DW_PREFETCH_BYTES ((size_t)20 << 20)
static int fc_dw_prefetches(const fc_conv2d_dims *d, size_t size) {
    return fc_conv_call_bytes(d, size) >= FC_DW_PREFETCH_BYTES;
}

/* The forward pass's rings and staged output row, plus `shared`. */
static int fc_dw_forward_workspace(const fc_conv2d_dims *d, int nthreads, size_t size,
                                   size_t shared, size_t *elements) {
    const size_t stage_blocks =
        (size_t)fc_dw_stage_elements(d, size) / (FC_DW_MAX_BLOCK_BYTES / size);
    return fc_dw_workspace(d, nthreads, size, fc_dw_forward_rows(d, size), stage_blocks, shared,
                           elements);
}
static int fc_dw_backward_input_workspace(const fc_conv2d_dims *d, int nthreads, size_t size,
                                          size_t *elements) {
    if (fc_dw_input_as_forward(d)) { /* the flipped kernel, then the forward pass's buffers */
        const fc_conv2d_dims t = fc_dw_input_dims(d);
        return fc_dw_forward_workspace(&t, nthreads, size,
                                       (size_t)(d->KH * d->KW * (d->C / d->G) * d->OC), elements);
    }
    return fc_dw_workspace(d, nthreads, size, d->C / d->G, 0, 0, elements);
}
static int fc_dw_backward_weight_workspace(const fc_conv2d_dims *d, int nthreads, size_t size,
                                           size_t *elements) {
    /* Per thread: an image sum and a segment sum of dweight's rows + bias; shared: one slot per
       segment. */
    const size_t rows = (size_t)d->KH * (size_t)d->KW * (size_t)(d->C / d->G);
    size_t partials;
    if (!fc_mul_size((rows + 1) * (size_t)fc_dw_segments(d), (size_t)d->OC, &partials)) return 0;
    return fc_dw_workspace(d, nthreads, size, fc_dw_ring_rows(d) * (d->C / d->G), 2 * (rows + 1),
                           partials, elements);
}

/* The kernels once per type and ISA level, then the type's entry points. */
#define FC_ISA_IMPL "conv2d_depthwise_impl.h"
#define T float
#define SFX f32
#include "isa_levels.h"
#include "conv2d_depthwise_api_impl.h"
#undef T
#undef SFX
#define T double
#define SFX f64
#include "isa_levels.h"
#include "conv2d_depthwise_api_impl.h"
#undef T
#undef SFX
#undef FC_ISA_IMPL
