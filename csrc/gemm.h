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

#define FC_MR 6
#define FC_NR_F32 16
#define FC_NR_F64 8
#define FC_KC 256 /* depth of a packed panel: one B sliver (KC x NR) fits L1 */
#define FC_MC 72  /* rows of a packed A block: it stays in L2 */

/* Chooses the micro-kernels for `isa`; called once when the extension loads. */
void fc_gemm_init(fc_isa isa);

/* c[MR x NR] (=, or += when accumulate) a (packed kc x MR) * b (packed kc x NR). */
typedef void (*fc_ukr_f32)(int64_t kc, const float *a, const float *b, float *c, int64_t ldc,
                           int accumulate);
typedef void (*fc_ukr_f64)(int64_t kc, const double *a, const double *b, double *c, int64_t ldc,
                           int accumulate);

#define FC_GEMM_DECLARE(T, SFX)                                                                    \
    /* Packs rows [0, m) x columns [0, kc) of the strided matrix a (row stride rs, column stride   \
       cs) into MR-row slivers. */                                                                 \
    void fc_pack_a_##SFX(T *dst, const T *a, int64_t rs, int64_t cs, int64_t m, int64_t kc);       \
    /* Packs rows [0, kc) x columns [0, n) of the strided matrix b into NR-column slivers. */      \
    void fc_pack_b_##SFX(T *dst, const T *b, int64_t rs, int64_t cs, int64_t kc, int64_t n);       \
    /* c (m x n) = or += packed a (m x kc) * packed b (kc x n); b_sliver_stride is the distance    \
       between consecutive B slivers (kc*NR for a panel packed by fc_pack_b). */                   \
    void fc_macro_kernel_##SFX(int64_t m, int64_t n, int64_t kc, const T *a, const T *b,           \
                               int64_t b_sliver_stride, T *c, int64_t ldc, int accumulate);

FC_GEMM_DECLARE(float, f32)
FC_GEMM_DECLARE(double, f64)

/* Micro-kernels per ISA (gemm_kernels.c). */
void fc_ukr_generic_f32(int64_t kc, const float *a, const float *b, float *c, int64_t ldc, int acc);
void fc_ukr_generic_f64(int64_t kc, const double *a, const double *b, double *c, int64_t ldc,
                        int acc);
#if defined(__x86_64__) || defined(_M_X64) || defined(__i386__) || defined(_M_IX86)
#define FC_HAVE_X86 1
#if defined(__GNUC__) || defined(__clang__)
#define FC_TARGET_AVX2 __attribute__((target("avx2,fma")))
#else
#define FC_TARGET_AVX2 /* MSVC compiles intrinsics without target flags */
#endif
void fc_ukr_avx2_f32(int64_t kc, const float *a, const float *b, float *c, int64_t ldc, int acc);
void fc_ukr_avx2_f64(int64_t kc, const double *a, const double *b, double *c, int64_t ldc, int acc);
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

#endif
