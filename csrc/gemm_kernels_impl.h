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
    for (int i = 0; i < FC_MR; i++)
        for (int j = 0; j < NR; j++) {
            T v = tile[i][j];
            if (flags & FC_ACCUMULATE)
                v += c[i * ldc + j];
            else if (bias)
                v += bias[j];
            if ((flags & FC_RELU) && v < 0) v = 0;
            c[i * ldc + j] = v;
        }
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
#undef ROW
#undef OUT
#endif

#undef FC_CAT
#undef FC_CAT_
