/* Type-generic micro-kernels; included by gemm_kernels.c once per type and ISA.
   Needs T, SFX, NR and, for a SIMD body, VT/VW/VZERO/VLOAD/VSTORE/VSET1/VFMA/VADD and
   TARGET (the function attribute that enables the ISA). */
#define FC_CAT_(a, b) a##_##b
#define FC_CAT(a, b) FC_CAT_(a, b)

#ifndef VT
/* Portable: plain loops over a local tile the compiler can keep in vector registers. */
void FC_CAT(fc_ukr_generic, SFX)(int64_t kc, const T *a, const T *b, T *c, int64_t ldc, int flags,
                                 const T *bias) {
    T tile[FC_MR][NR] = {{0}};
    for (int64_t k = 0; k < kc; k++, a += FC_MR, b += NR)
        for (int i = 0; i < FC_MR; i++)
            for (int j = 0; j < NR; j++) tile[i][j] += a[i] * b[j];
    FC_CAT(fc_store_tile, SFX)(&tile[0][0], NR, FC_MR, NR, c, ldc, flags, bias);
}

void FC_CAT(fc_ukri_generic, SFX)(int64_t nruns, const T *const *rows, const int64_t *lens,
                                  const T *b, T *c, int64_t ldc, int flags, const T *bias) {
    T tile[FC_MR][NR] = {{0}};
    for (int64_t r = 0; r < nruns; r++, rows += FC_MR)
        for (int64_t k = 0; k < lens[r]; k++, b += NR)
            for (int i = 0; i < FC_MR; i++)
                for (int j = 0; j < NR; j++) tile[i][j] += rows[i][k] * b[j];
    FC_CAT(fc_store_tile, SFX)(&tile[0][0], NR, FC_MR, NR, c, ldc, flags, bias);
}
#else
/* MR rows x two vectors: 12 accumulators, two B loads and one broadcast live per step. */
#define ROW(i)                                                                                     \
    {                                                                                              \
        VT ai = VSET1(a[i]);                                                                       \
        c##i##0 = VFMA(ai, b0, c##i##0);                                                           \
        c##i##1 = VFMA(ai, b1, c##i##1);                                                           \
    }
#define OUT(i)                                                                                     \
    {                                                                                              \
        T *ci = c + i * ldc;                                                                       \
        if (flags & FC_ACCUMULATE) {                                                               \
            c##i##0 = VADD(VLOAD(ci), c##i##0);                                                    \
            c##i##1 = VADD(VLOAD(ci + VW), c##i##1);                                               \
        }                                                                                          \
        if (flags & FC_RELU) { /* max(0, v) keeps a NaN v: the second operand wins on NaN */      \
            c##i##0 = VMAX(VZERO, c##i##0);                                                        \
            c##i##1 = VMAX(VZERO, c##i##1);                                                        \
        }                                                                                          \
        VSTORE(ci, c##i##0);                                                                       \
        VSTORE(ci + VW, c##i##1);                                                                  \
    }
TARGET void FC_CAT(FC_CAT(fc_ukr, ISA), SFX)(int64_t kc, const T *a, const T *b, T *c, int64_t ldc,
                                             int flags, const T *bias) {
    /* Starting from the bias folds the bias add into the accumulation for free. */
    const int with_bias = bias && !(flags & FC_ACCUMULATE);
    const VT init0 = with_bias ? VLOAD(bias) : VZERO, init1 = with_bias ? VLOAD(bias + VW) : VZERO;
    VT c00 = init0, c01 = init1, c10 = init0, c11 = init1, c20 = init0, c21 = init1;
    VT c30 = init0, c31 = init1, c40 = init0, c41 = init1, c50 = init0, c51 = init1;
    for (int64_t k = 0; k < kc; k++, a += FC_MR, b += NR) {
        VT b0 = VLOAD(b), b1 = VLOAD(b + VW);
        ROW(0) ROW(1) ROW(2) ROW(3) ROW(4) ROW(5)
    }
    OUT(0) OUT(1) OUT(2) OUT(3) OUT(4) OUT(5)
}

/* The same tile with row i's values read at rows[r*MR + i][k]: no packed copy of A. */
#define IROW(i)                                                                                    \
    {                                                                                              \
        VT ai = VSET1(a##i[k]);                                                                    \
        c##i##0 = VFMA(ai, b0, c##i##0);                                                           \
        c##i##1 = VFMA(ai, b1, c##i##1);                                                           \
    }
TARGET void FC_CAT(FC_CAT(fc_ukri, ISA), SFX)(int64_t nruns, const T *const *rows,
                                              const int64_t *lens, const T *b, T *c, int64_t ldc,
                                              int flags, const T *bias) {
    const int with_bias = bias && !(flags & FC_ACCUMULATE);
    const VT init0 = with_bias ? VLOAD(bias) : VZERO, init1 = with_bias ? VLOAD(bias + VW) : VZERO;
    VT c00 = init0, c01 = init1, c10 = init0, c11 = init1, c20 = init0, c21 = init1;
    VT c30 = init0, c31 = init1, c40 = init0, c41 = init1, c50 = init0, c51 = init1;
    for (int64_t r = 0; r < nruns; r++, rows += FC_MR) {
        const T *a0 = rows[0], *a1 = rows[1], *a2 = rows[2], *a3 = rows[3], *a4 = rows[4];
        const T *a5 = rows[5];
        const int64_t len = lens[r];
        for (int64_t k = 0; k < len; k++, b += NR) {
            VT b0 = VLOAD(b), b1 = VLOAD(b + VW);
            IROW(0) IROW(1) IROW(2) IROW(3) IROW(4) IROW(5)
        }
    }
    OUT(0) OUT(1) OUT(2) OUT(3) OUT(4) OUT(5)
}
#undef IROW
#undef ROW
#undef OUT
#endif

#undef FC_CAT
#undef FC_CAT_
