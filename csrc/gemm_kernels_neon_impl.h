/* Type-generic NEON micro-kernels; included by gemm_kernels_neon.c once per type.
   Needs T, SFX, MR (6), NR (four vectors of VW lanes), VT, VW, VZERO, VLOAD, VSTORE, VFMA
   (VFMA(acc, x, y) = acc + x*y, fused), VADD, VLESS (lane mask of x < y), VSELECT, VDUP,
   LOAD_A (loads the MR values of a packed A step at `a` into few registers) with A_0 ... A_5
   (row i's value broadcast from them), FC_SPLIT_LOADS (a compiler barrier), and FC_NEON_ISA
   (the name the kernels are exported under). */
#define FC_CAT_(a, b) a##_##b
#define FC_CAT(a, b) FC_CAT_(a, b)
#define UKR FC_CAT(FC_CAT(fc_ukr, FC_NEON_ISA), SFX)
#define UKRI FC_CAT(FC_CAT(fc_ukri, FC_NEON_ISA), SFX)
#define UKRS FC_CAT(FC_CAT(fc_ukrs, FC_NEON_ISA), SFX)

/* 24 accumulators (6 rows x 4 vectors), all starting from `init`. */
#define ACCUMULATORS(init)                                                                         \
    VT c00 = init##0, c01 = init##1, c02 = init##2, c03 = init##3;                                 \
    VT c10 = init##0, c11 = init##1, c12 = init##2, c13 = init##3;                                 \
    VT c20 = init##0, c21 = init##1, c22 = init##2, c23 = init##3;                                 \
    VT c30 = init##0, c31 = init##1, c32 = init##2, c33 = init##3;                                 \
    VT c40 = init##0, c41 = init##1, c42 = init##2, c43 = init##3;                                 \
    VT c50 = init##0, c51 = init##1, c52 = init##2, c53 = init##3;

/* As in the AVX2 kernel, the accumulators start from the bias: same rounding, no extra pass. */
#define INIT_FROM_BIAS                                                                             \
    const int with_bias = bias && !(flags & FC_ACCUMULATE);                                        \
    const VT init0 = with_bias ? VLOAD(bias) : VZERO;                                              \
    const VT init1 = with_bias ? VLOAD(bias + VW) : VZERO;                                         \
    const VT init2 = with_bias ? VLOAD(bias + 2 * VW) : VZERO;                                     \
    const VT init3 = with_bias ? VLOAD(bias + 3 * VW) : VZERO;                                     \
    ACCUMULATORS(init)

/* One k step of row i: 4 fused multiply-adds with ai, row i's A value in every lane. Fusing the
   broadcast into the FMA (vfmaq_f32(c, b, vdupq_laneq_f32(a, l)) becomes one by-element fmla)
   rather than calling vfmaq_laneq_f32 keeps SIMDe's emulation fused: it emulates the lane forms
   as a multiply then an add. */
#define ROW(i, bcast)                                                                              \
    {                                                                                              \
        const VT ai = bcast;                                                                       \
        c##i##0 = VFMA(c##i##0, b0, ai);                                                           \
        c##i##1 = VFMA(c##i##1, b1, ai);                                                           \
        c##i##2 = VFMA(c##i##2, b2, ai);                                                           \
        c##i##3 = VFMA(c##i##3, b3, ai);                                                           \
    }

#define LOAD_B                                                                                     \
    const VT b0 = VLOAD(b), b1 = VLOAD(b + VW), b2 = VLOAD(b + 2 * VW), b3 = VLOAD(b + 3 * VW);

/* ReLU as v < 0 ? 0 : v, the AVX2 kernel's max(0, v): NaN and -0 pass unchanged (vmaxq would
   turn -0 into +0). */
#define RELU(v) v = VSELECT(VLESS(v, VZERO), VZERO, v)

#define OUT(i)                                                                                     \
    {                                                                                              \
        T *ci = c + i * ldc;                                                                       \
        if (flags & FC_ACCUMULATE) {                                                               \
            c##i##0 = VADD(VLOAD(ci), c##i##0);                                                    \
            c##i##1 = VADD(VLOAD(ci + VW), c##i##1);                                               \
            c##i##2 = VADD(VLOAD(ci + 2 * VW), c##i##2);                                           \
            c##i##3 = VADD(VLOAD(ci + 3 * VW), c##i##3);                                           \
        }                                                                                          \
        if (flags & FC_RELU) {                                                                     \
            RELU(c##i##0);                                                                         \
            RELU(c##i##1);                                                                         \
            RELU(c##i##2);                                                                         \
            RELU(c##i##3);                                                                         \
        }                                                                                          \
        VSTORE(ci, c##i##0);                                                                       \
        VSTORE(ci + VW, c##i##1);                                                                  \
        VSTORE(ci + 2 * VW, c##i##2);                                                              \
        VSTORE(ci + 3 * VW, c##i##3);                                                              \
    }

/* Edge tiles (mr < MR or nr < NR): the kernel computes the full tile into a local MR x NR
   buffer, starting from a zero-padded copy of the bias (bias[nr..NR) may lie past the end of
   the array), then stores its first mr rows and nr columns with the full tiles' epilogue, so
   every tile rounds alike. NEON has no masked stores; edge tiles are a small share of the work. */
static const T *FC_CAT(edge_bias, SFX)(T padded[NR], const T *bias, int flags, int64_t nr) {
    if (bias == NULL || (flags & FC_ACCUMULATE)) return NULL;
    for (int64_t j = 0; j < NR; j++) padded[j] = j < nr ? bias[j] : 0;
    return padded;
}

/* The epilogue of OUT, lane by lane: c + tile, then v < 0 ? 0 : v. */
static void FC_CAT(store_edge, SFX)(const T tile[MR * NR], T *c, int64_t ldc, int flags,
                                    int64_t mr, int64_t nr) {
    for (int64_t i = 0; i < mr; i++)
        for (int64_t j = 0; j < nr; j++) {
            T v = tile[i * NR + j];
            if (flags & FC_ACCUMULATE) v = c[i * ldc + j] + v;
            if ((flags & FC_RELU) && v < 0) v = 0;
            c[i * ldc + j] = v;
        }
}

void UKR(int64_t kc, const T *a, const T *b, T *c, int64_t ldc, int flags, const T *bias,
         int64_t mr, int64_t nr) {
    if (mr != MR || nr != NR) {
        T tile[MR * NR], padded[NR];
        UKR(kc, a, b, tile, NR, 0, FC_CAT(edge_bias, SFX)(padded, bias, flags, nr), MR, NR);
        FC_CAT(store_edge, SFX)(tile, c, ldc, flags, mr, nr);
        return;
    }
    INIT_FROM_BIAS
    for (int64_t k = 0; k < kc; k++, a += MR, b += NR) {
        /* A in 2-3 registers rather than 6 broadcasts: 24 accumulators + 4 B + A fit the 32. */
        LOAD_A
        LOAD_B
        ROW(0, A_0) ROW(1, A_1) ROW(2, A_2) ROW(3, A_3) ROW(4, A_4) ROW(5, A_5)
    }
    OUT(0) OUT(1) OUT(2) OUT(3) OUT(4) OUT(5)
}

/* The same tile with row i's values read at rows[r*MR + i][k]: no packed copy of A. */
void UKRI(int64_t nruns, const T *const *rows, const int64_t *lens, const T *b, int64_t sb, T *c,
          int64_t ldc, int flags, const T *bias, int64_t mr, int64_t nr) {
    if (mr != MR || nr != NR) {
        T tile[MR * NR], padded[NR];
        UKRI(nruns, rows, lens, b, sb, tile, NR, 0,
             FC_CAT(edge_bias, SFX)(padded, bias, flags, nr), MR, NR);
        FC_CAT(store_edge, SFX)(tile, c, ldc, flags, mr, nr);
        return;
    }
    INIT_FROM_BIAS
    for (int64_t r = 0; r < nruns; r++, rows += MR) {
        const T *a0 = rows[0], *a1 = rows[1], *a2 = rows[2], *a3 = rows[3], *a4 = rows[4];
        const T *a5 = rows[5];
        const int64_t len = lens[r];
        for (int64_t k = 0; k < len; k++, b += sb) {
            LOAD_B
            ROW(0, VDUP(a0[k])) ROW(1, VDUP(a1[k])) ROW(2, VDUP(a2[k]))
            FC_SPLIT_LOADS();
            ROW(3, VDUP(a3[k])) ROW(4, VDUP(a4[k])) ROW(5, VDUP(a5[k]))
        }
    }
    OUT(0) OUT(1) OUT(2) OUT(3) OUT(4) OUT(5)
}

/* The same tile with A and B read in place at strides sa and sb from each run's start. */
void UKRS(int64_t nruns, const T *const *a_runs, const T *const *b_runs, const int64_t *lens,
          int64_t sa, int64_t sb, T *c, int64_t ldc, int flags, const T *bias, int64_t mr,
          int64_t nr) {
    if (mr != MR || nr != NR) {
        T tile[MR * NR], padded[NR];
        UKRS(nruns, a_runs, b_runs, lens, sa, sb, tile, NR, 0,
             FC_CAT(edge_bias, SFX)(padded, bias, flags, nr), MR, NR);
        FC_CAT(store_edge, SFX)(tile, c, ldc, flags, mr, nr);
        return;
    }
    INIT_FROM_BIAS
    for (int64_t r = 0; r < nruns; r++) {
        const T *a = a_runs[r], *b = b_runs[r];
        for (int64_t k = 0; k < lens[r]; k++, a += sa, b += sb) {
            LOAD_A
            LOAD_B
            ROW(0, A_0) ROW(1, A_1) ROW(2, A_2) ROW(3, A_3) ROW(4, A_4) ROW(5, A_5)
        }
    }
    OUT(0) OUT(1) OUT(2) OUT(3) OUT(4) OUT(5)
}

#undef OUT
#undef RELU
#undef LOAD_B
#undef ROW
#undef INIT_FROM_BIAS
#undef ACCUMULATORS
#undef UKR
#undef UKRI
#undef UKRS
#undef FC_CAT
#undef FC_CAT_
