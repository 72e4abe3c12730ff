/* Packed, cache-blocked GEMM building blocks shared by the conv kernels.

   C (m x n, row stride ldc) = or += A (m x k) * B (k x n), computed as
   MR x NR register tiles by an ISA-specific micro-kernel over packed panels:
     packed A: consecutive slivers of MR rows, each stored k-major (kc x MR);
     packed B: consecutive slivers of NR columns, each stored k-major (kc x NR);
   rows/columns past the matrix edge are packed as zeros.
   reference: Goto & van de Geijn, "Anatomy of High-Performance Matrix Multiplication" (2008). */
#ifndef FASTCONV_GEMM_H
#define FASTCONV_GEMM_H

#include <stddef.h>
#include <stdint.h>

#include "cpu.h"

/* Register tiles come in two geometries, each with its own instantiation of the drivers (packers,
   macro-kernels, conv passes), so MR/NR/MC stay compile-time constants inside each:
     FC_GEOMETRY_NARROW: MR 6 x NR 16 float32 (6 x 8 float64), MC 72: 256-bit and 128-bit SIMD;
     FC_GEOMETRY_WIDE: MR 14 x NR 32 float32 (14 x 16 float64), MC 140: AVX-512 (28 of 32 zmm
   accumulate; MC a multiple of 14 keeps an A block in L2).
   The depth of a panel, FC_KC, is the same for both: its chunk boundaries fix the order of every
   reduction, so the geometries give the same float32 sums. */
#define FC_KC 256
#define FC_NARROW_MR 6
#define FC_NARROW_NR_F32 16
#define FC_NARROW_NR_F64 8
#define FC_NARROW_MC 72
#define FC_WIDE_MR 14
#define FC_WIDE_NR_F32 32
#define FC_WIDE_NR_F64 16
#define FC_WIDE_MC 140
#define FC_MR_MAX FC_WIDE_MR
#define FC_MC_MAX FC_WIDE_MC

typedef enum { FC_GEOMETRY_NARROW = 0, FC_GEOMETRY_WIDE = 1 } fc_geometry;


/* Chooses the kernel set of `isa`; called once when the extension loads. */
void fc_gemm_init(fc_isa isa);

/* The geometry of the kernel set in use. */
fc_geometry fc_gemm_geometry(void);

/* Blocking of the kernel set in use, for tests that pick shapes crossing its boundaries. */
void fc_gemm_blocking(int64_t *mr, int64_t *nr_f32, int64_t *nr_f64, int64_t *mc, int64_t *kc);

/* Epilogue flags of the micro- and macro-kernels. Without FC_ACCUMULATE, c = bias + a*b (bias
   NULL: zero); with it, c += a*b and bias is ignored. FC_RELU then clamps c at zero (NaN stays).
   FC_STREAM: full tiles are written with streaming stores where the kernel set has them (x86),
   each row of a tile then being whole cache lines: c and ldc on 64 bytes, tiles at multiples of
   NR (fc_stream_conv_output); the caller fences. */
enum { FC_ACCUMULATE = 1, FC_RELU = 2, FC_STREAM = 4 };

/* c[mr x nr] = epilogue(a (packed kc x MR) * b (packed kc x NR)), of a full MR x NR register tile
   whose first mr rows and nr columns are stored (edges are masked inside the kernel, and round
   exactly like full tiles: every tile starts from the bias). bias holds nr values or NULL. */
typedef void (*fc_ukr_f32)(int64_t kc, const float *a, const float *b, float *c, int64_t ldc,
                           int flags, const float *bias, int64_t mr, int64_t nr);
typedef void (*fc_ukr_f64)(int64_t kc, const double *a, const double *b, double *c, int64_t ldc,
                           int flags, const double *bias, int64_t mr, int64_t nr);

/* The indirect micro-kernel: the same tile, but A is read in place rather than packed. Row i of
   the tile takes, for each run r of consecutive k, lens[r] contiguous values at rows[r*MR + i]
   (an im2col row is one such run per kernel tap). b holds sum(lens) rows of NR values, sb apart:
   NR for a packed panel, or B's row stride when B is read in place. */
typedef void (*fc_ukri_f32)(int64_t nruns, const float *const *rows, const int64_t *lens,
                            const float *b, int64_t sb, float *c, int64_t ldc, int flags,
                            const float *bias, int64_t mr, int64_t nr);
typedef void (*fc_ukri_f64)(int64_t nruns, const double *const *rows, const int64_t *lens,
                            const double *b, int64_t sb, double *c, int64_t ldc, int flags,
                            const double *bias, int64_t mr, int64_t nr);

/* The strided micro-kernel: the same tile, with A and B read in place at fixed strides. In run r,
   step s reads the tile's MR A values (one per row) at a_runs[r] + s*sa and its NR B values at
   b_runs[r] + s*sb: the weight gradient's dout rows and input pixels, as they lie in memory.
   Every step must have MR values readable at A (rows past mr are read, never stored) and NR at
   B (columns past nr likewise). */
typedef void (*fc_ukrs_f32)(int64_t nruns, const float *const *a_runs, const float *const *b_runs,
                            const int64_t *lens, int64_t sa, int64_t sb, float *c, int64_t ldc,
                            int flags, const float *bias, int64_t mr, int64_t nr);
typedef void (*fc_ukrs_f64)(int64_t nruns, const double *const *a_runs,
                            const double *const *b_runs, const int64_t *lens, int64_t sa,
                            int64_t sb, double *c, int64_t ldc, int flags, const double *bias,
                            int64_t mr, int64_t nr);

/* Most runs one call of a strided macro-kernel takes: one per pixel of a KC-long chunk, and one
   more. */
#define FC_STRIDED_MAX_RUNS (FC_KC + 1)

/* The building blocks of one geometry's instantiation (SFX: f32_narrow, f64_wide, ...). */
#define FC_GEMM_DECLARE(T, SFX)                                                                    \
    /* Packs rows [0, m) x columns [0, kc) of the strided matrix a (row stride rs, column stride   \
       cs) into MR-row slivers. */                                                                 \
    void fc_pack_a_##SFX(T *dst, const T *a, int64_t rs, int64_t cs, int64_t m, int64_t kc);       \
    /* Packs rows [0, kc) x columns [0, n) of the strided matrix b into NR-column slivers. */      \
    void fc_pack_b_##SFX(T *dst, const T *b, int64_t rs, int64_t cs, int64_t kc, int64_t n);       \
    /* c (m x n) = epilogue(packed a (m x kc) * packed b (kc x n)) per the flags above, bias     \
       holding n values or NULL; b_sliver_stride is the distance between consecutive B slivers    \
       (kc*NR for a panel packed by fc_pack_b). */                                                 \
    void fc_macro_kernel_##SFX(int64_t m, int64_t n, int64_t kc, const T *a, const T *b,           \
                               int64_t b_sliver_stride, T *c, int64_t ldc, int flags,             \
                               const T *bias);                                                     \
    /* The same with A read through row pointers: rows holds ceil(m/MR) slivers of nruns*MR      \
       pointers (fc_ukri's layout); rows past m must point at lens[r] readable values. */       \
    void fc_indirect_macro_kernel_##SFX(int64_t m, int64_t n, int64_t nruns,                      \
                                        const T *const *rows, const int64_t *lens, const T *b,    \
                                        int64_t b_sliver_stride, T *c, int64_t ldc, int flags,    \
                                        const T *bias);                                            \
    /* c (m x nr, nr <= NR) = epilogue(sum over the steps of the runs of A column times B row)  \
       with fc_ukrs's strides, per MR-row tile (the A pointers shifted by the tile's first row);  \
       at most FC_STRIDED_MAX_RUNS runs. */                                                        \
    void fc_strided_macro_kernel_##SFX(int64_t m, int64_t nr, int64_t nruns,                       \
                                       const T *const *a_runs, const T *const *b_runs,            \
                                       const int64_t *lens, int64_t sa, int64_t sb, T *c,         \
                                       int64_t ldc, int flags);                                    \
    void fc_gemm_##SFX(T *c, const T *a, const T *b, int64_t m, int64_t n, int64_t k,              \
                       int64_t rsa, int64_t csa, int64_t rsb, int64_t csb, int64_t ldc,             \
                       int flags, const T *bias, T *workspace, int nthreads);                      \
    size_t fc_gemm_workspace_size_##SFX(int nthreads);

FC_GEMM_DECLARE(float, f32_narrow)
FC_GEMM_DECLARE(double, f64_narrow)
FC_GEMM_DECLARE(float, f32_wide)
FC_GEMM_DECLARE(double, f64_wide)

/* c (m x n, row stride ldc) = epilogue(a (m x k) * b (k x n)) per the flags above, a and b strided
   as in the packers, bias n values or NULL, on the kernel set in use. Threads split c into
   blocks; the k reduction runs in chunks fixed by k (fc_k_step), so results do not depend on
   nthreads. workspace: fc_gemm_workspace_size elements, 64-byte aligned. */
void fc_gemm_f32(float *c, const float *a, const float *b, int64_t m, int64_t n, int64_t k,
                 int64_t rsa, int64_t csa, int64_t rsb, int64_t csb, int64_t ldc, int flags,
                 const float *bias, float *workspace, int nthreads);
void fc_gemm_f64(double *c, const double *a, const double *b, int64_t m, int64_t n, int64_t k,
                 int64_t rsa, int64_t csa, int64_t rsb, int64_t csb, int64_t ldc, int flags,
                 const double *bias, double *workspace, int nthreads);

#define FC_NC_MAX 512 /* widest block of c columns one task packs B for */

/* Zeros that stand in for rows read in place that hold no data (rows past the edge of a block,
   padded cells of an image). The indirect macro-kernel skips the leading and trailing runs in
   which every row of a tile points here, so a tile over padding does no arithmetic on it. */
extern const float fc_zero_run_f32[FC_KC];
extern const double fc_zero_run_f64[FC_KC];

/* Workspace of fc_gemm_f32/f64 in elements; 0 when the size overflows (never for valid input). */
size_t fc_gemm_workspace_size(int nthreads);

/* Micro-kernels, named fc_ukr[i]_<kernels>_<type>: the portable C ones in both geometries, and
   one per SIMD level (gemm_kernels.c; NEON in gemm_kernels_neon.c; the test-only emulated sets
   in gemm_kernels_<isa>emu.c). */
#define FC_UKR_DECLARE(NAME, T, SFX)                                                               \
    void fc_ukr_##NAME##_##SFX(int64_t kc, const T *a, const T *b, T *c, int64_t ldc, int flags,   \
                               const T *bias, int64_t mr, int64_t nr);                             \
    void fc_ukri_##NAME##_##SFX(int64_t nruns, const T *const *rows, const int64_t *lens,          \
                                const T *b, int64_t sb, T *c, int64_t ldc, int flags,              \
                                const T *bias, int64_t mr, int64_t nr);                            \
    void fc_ukrs_##NAME##_##SFX(int64_t nruns, const T *const *a_runs, const T *const *b_runs,     \
                                const int64_t *lens, int64_t sa, int64_t sb, T *c, int64_t ldc,   \
                                int flags, const T *bias, int64_t mr, int64_t nr);
#define FC_UKR_DECLARE_BOTH(NAME) FC_UKR_DECLARE(NAME, float, f32) FC_UKR_DECLARE(NAME, double, f64)
FC_UKR_DECLARE_BOTH(generic)
FC_UKR_DECLARE_BOTH(generic_wide)
#ifdef FC_HAVE_X86
FC_UKR_DECLARE_BOTH(avx2)
FC_UKR_DECLARE_BOTH(avx512)
#endif
#ifdef FC_HAVE_AVX512EMU
FC_UKR_DECLARE_BOTH(avx512emu)
#endif
#ifdef FC_HAVE_NEON
FC_UKR_DECLARE_BOTH(neon)
#endif
#ifdef FC_HAVE_NEONEMU
FC_UKR_DECLARE_BOTH(neonemu)
#endif

/* Overflow-checked size arithmetic: returns 0 and leaves *out untouched on overflow. */
static inline int fc_mul_size(size_t a, size_t b, size_t *out) {
    if (a != 0 && b > SIZE_MAX / a) return 0;
    *out = a * b;
    return 1;
}
static inline int fc_add_size(size_t a, size_t b, size_t *out) {
    if (b > SIZE_MAX - a) return 0;
    *out = a + b;
    return 1;
}
static inline int64_t fc_round_up(int64_t x, int64_t to) { return (x + to - 1) / to * to; }

/* The chunk length that splits a reduction of `k` into the fewest chunks of at most FC_KC, as
   even as possible: a short last chunk would cost a whole pass over C for little arithmetic
   (288 = 144 + 144, not 256 + 32). It depends on k alone, never on the thread count. */
static inline int64_t fc_k_step(int64_t k) {
    const int64_t chunks = (k + FC_KC - 1) / FC_KC;
    return chunks > 1 ? (k + chunks - 1) / chunks : FC_KC;
}

/* Work below this many FLOPs per thread runs on fewer threads: waking a thread team costs
   microseconds, and far more when another process holds the other core. */
#define FC_FLOPS_PER_THREAD 4e6

/* How many of `nthreads` threads `flops` of work deserves (at least 1). */
static inline int fc_threads_for(double flops, int nthreads) {
    const double worth = flops / FC_FLOPS_PER_THREAD;
    return worth < 1 ? 1 : worth < nthreads ? (int)worth : nthreads;
}

#endif
