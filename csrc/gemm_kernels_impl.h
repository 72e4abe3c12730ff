/* Type-generic micro-kernels; included by gemm_kernels.c once per type and kernel set.
   Needs T, SFX (type suffix), NAME (kernel set), MR, NR and, for a SIMD body, TARGET (the function
   attribute enabling the ISA) and the vector macros: VT (vector type), VW (lanes), VZERO, VLOAD,
   VSTORE, VSET1, VFMA(a, b, c) = a*b + c fused, VADD, VMAX, and masked memory access VM (mask
   type), VMASK(n) (first n lanes, n clamped to [0, VW]), VLOADM(p, m) (masked-off lanes read 0
   and never fault), VSTOREM(p, m, v). A SIMD tile is MR rows x two vectors (NR == 2*VW). */
#define FC_CAT_(a, b) a##_##b
#define FC_CAT(a, b) FC_CAT_(a, b)
#define UKR FC_CAT(FC_CAT(fc_ukr, NAME), SFX)
#define UKRI FC_CAT(FC_CAT(fc_ukri, NAME), SFX)
#define UKRS FC_CAT(FC_CAT(fc_ukrs, NAME), SFX)

#ifndef VT
/* Portable: plain loops over a local tile the compiler can keep in vector registers. The tile
   starts from the bias, as the SIMD tiles do, so both round alike. */
static inline void FC_CAT(FC_CAT(init_tile, NAME), SFX)(T tile[MR][NR], int flags, const T *bias,
                                                        int64_t nr) {
    for (int i = 0; i < MR; i++)
        for (int j = 0; j < NR; j++)
            tile[i][j] = bias && !(flags & FC_ACCUMULATE) && j < nr ? bias[j] : 0;
}

static inline void FC_CAT(FC_CAT(store_tile, NAME), SFX)(T tile[MR][NR], T *c, int64_t ldc,
                                                         int flags, int64_t mr, int64_t nr) {
    for (int64_t i = 0; i < mr; i++)
        for (int64_t j = 0; j < nr; j++) {
            T v = tile[i][j];
            if (flags & FC_ACCUMULATE) v = c[i * ldc + j] + v;
            if ((flags & FC_RELU) && v < 0) v = 0;
            c[i * ldc + j] = v;
        }
}

void UKR(int64_t kc, const T *a, const T *b, T *c, int64_t ldc, int flags, const T *bias,
         int64_t mr, int64_t nr) {
    T tile[MR][NR];
    FC_CAT(FC_CAT(init_tile, NAME), SFX)(tile, flags, bias, nr);
    for (int64_t k = 0; k < kc; k++, a += MR, b += NR)
        for (int i = 0; i < MR; i++)
            for (int j = 0; j < NR; j++) tile[i][j] += a[i] * b[j];
    FC_CAT(FC_CAT(store_tile, NAME), SFX)(tile, c, ldc, flags, mr, nr);
}

void UKRI(int64_t nruns, const T *const *rows, const int64_t *lens, const T *b, int64_t sb, T *c,
          int64_t ldc, int flags, const T *bias, int64_t mr, int64_t nr) {
    T tile[MR][NR];
    FC_CAT(FC_CAT(init_tile, NAME), SFX)(tile, flags, bias, nr);
    for (int64_t r = 0; r < nruns; r++, rows += MR)
        for (int64_t k = 0; k < lens[r]; k++, b += sb)
            for (int i = 0; i < MR; i++)
                for (int j = 0; j < NR; j++) tile[i][j] += rows[i][k] * b[j];
    FC_CAT(FC_CAT(store_tile, NAME), SFX)(tile, c, ldc, flags, mr, nr);
}

void UKRS(int64_t nruns, const T *const *a_runs, const T *const *b_runs, const int64_t *lens,
          int64_t sa, int64_t sb, T *c, int64_t ldc, int flags, const T *bias, int64_t mr,
          int64_t nr) {
    T tile[MR][NR];
    FC_CAT(FC_CAT(init_tile, NAME), SFX)(tile, flags, bias, nr);
    for (int64_t r = 0; r < nruns; r++) {
        const T *a = a_runs[r], *b = b_runs[r];
        for (int64_t k = 0; k < lens[r]; k++, a += sa, b += sb)
            for (int i = 0; i < MR; i++)
                for (int j = 0; j < NR; j++) tile[i][j] += a[i] * b[j];
    }
    FC_CAT(FC_CAT(store_tile, NAME), SFX)(tile, c, ldc, flags, mr, nr);
}
#else
/* FOR_ROWS(X) expands X(i) for every row of the tile. */
/* FOR_HALF(X) for the first MR/2 rows: an edge tile of at most that many rows runs only those,
   as one of at most VW columns runs one vector per row. A row's sum is the same sequence of fused
   steps in every variant, so an edge tile still rounds like a full one. */
#if MR == 6
#define FOR_ROWS(X) X(0) X(1) X(2) X(3) X(4) X(5)
#define FOR_HALF(X) X(0) X(1) X(2)
#elif MR == 14
#define FOR_ROWS(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8) X(9) X(10) X(11) X(12) X(13)
#define FOR_HALF(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6)
#else
#error "no row list for this MR"
#endif

/* Two accumulators per row start from the bias (folding its add into the sum for free). */
#define DECLARE(i) VT c##i##0 = init0, c##i##1 = init1;
/* One step: two B vectors, one broadcast of A per row. */
#define ROW(i)                                                                                     \
    {                                                                                              \
        const VT ai = VSET1(a[i]);                                                                 \
        c##i##0 = VFMA(ai, b0, c##i##0);                                                           \
        c##i##1 = VFMA(ai, b1, c##i##1);                                                           \
    }
#define IROW(i)                                                                                    \
    {                                                                                              \
        const VT ai = VSET1(a##i[k]);                                                              \
        c##i##0 = VFMA(ai, b0, c##i##0);                                                           \
        c##i##1 = VFMA(ai, b1, c##i##1);                                                           \
    }
/* The same steps on the first vector of the row only (a tile at most VW columns wide). */
#define ROW1(i) c##i##0 = VFMA(VSET1(a[i]), b0, c##i##0);
#define IROW1(i) c##i##0 = VFMA(VSET1(a##i[k]), b0, c##i##0);
#define IPTR(i) const T *a##i = rows[i];
/* max(0, v) keeps a NaN v: the second operand wins on NaN. */
#define RELU(i)                                                                                    \
    if (flags & FC_RELU) {                                                                         \
        c##i##0 = VMAX(VZERO, c##i##0);                                                            \
        c##i##1 = VMAX(VZERO, c##i##1);                                                            \
    }
/* A full tile's row i, stored by STORE (VSTORE, or VSTREAM under FC_STREAM). */
#define OUT_WITH(i, STORE)                                                                         \
    {                                                                                              \
        T *ci = c + i * ldc;                                                                       \
        if (flags & FC_ACCUMULATE) {                                                               \
            c##i##0 = VADD(VLOAD(ci), c##i##0);                                                    \
            c##i##1 = VADD(VLOAD(ci + VW), c##i##1);                                               \
        }                                                                                          \
        RELU(i)                                                                                    \
        STORE(ci, c##i##0);                                                                        \
        STORE(ci + VW, c##i##1);                                                                   \
    }
#define OUT(i) OUT_WITH(i, VSTORE)
#define OUT_STREAMED(i) OUT_WITH(i, VSTREAM)
/* Edge tiles: rows past mr are computed (A is zero there) but not stored; columns are masked. */
#define OUT_EDGE(i)                                                                                \
    if (i < mr) {                                                                                  \
        T *ci = c + i * ldc;                                                                       \
        if (flags & FC_ACCUMULATE) {                                                               \
            c##i##0 = VADD(VLOADM(ci, m0), c##i##0);                                               \
            c##i##1 = VADD(VLOADM(ci + VW, m1), c##i##1);                                          \
        }                                                                                          \
        RELU(i)                                                                                    \
        VSTOREM(ci, m0, c##i##0);                                                                  \
        VSTOREM(ci + VW, m1, c##i##1);                                                             \
    }
#define PROLOGUE                                                                                   \
    const VM m0 = VMASK(nr), m1 = VMASK(nr - VW);                                                  \
    const int with_bias = bias && !(flags & FC_ACCUMULATE);                                        \
    const VT init0 = with_bias ? VLOADM(bias, m0) : VZERO;                                         \
    const VT init1 = with_bias ? VLOADM(bias + VW, m1) : VZERO;                                    \
    FOR_ROWS(DECLARE)
#define EPILOGUE                                                                                   \
    if (mr == MR && nr == NR && (flags & FC_STREAM)) {                                             \
        FOR_ROWS(OUT_STREAMED)                                                                     \
    } else if (mr == MR && nr == NR) {                                                             \
        FOR_ROWS(OUT)                                                                              \
    } else {                                                                                       \
        FOR_ROWS(OUT_EDGE)                                                                         \
    }

/* The k loop over packed panels, for a row list and a step (one or two vectors per row). */
#define PACKED_LOOP(ROWS, STEP)                                                                    \
    for (int64_t k = 0; k < kc; k++, a += MR, b += NR) {                                           \
        const VT b0 = VLOAD(b), b1 = VLOAD(b + VW);                                                \
        (void)b1;                                                                                  \
        ROWS(STEP)                                                                                 \
    }

TARGET void UKR(int64_t kc, const T *a, const T *b, T *c, int64_t ldc, int flags, const T *bias,
                int64_t mr, int64_t nr) {
    PROLOGUE
    if (mr > MR / 2 && nr > VW) {
        PACKED_LOOP(FOR_ROWS, ROW)
    } else if (nr > VW) {
        PACKED_LOOP(FOR_HALF, ROW)
    } else if (mr > MR / 2) {
        PACKED_LOOP(FOR_ROWS, ROW1)
    } else {
        PACKED_LOOP(FOR_HALF, ROW1)
    }
    EPILOGUE
}

#define INDIRECT_LOOP(ROWS, STEP)                                                                  \
    for (int64_t k = 0; k < len; k++, b += sb) {                                                   \
        const VT b0 = VLOAD(b), b1 = VLOAD(b + VW);                                                \
        (void)b1;                                                                                  \
        ROWS(STEP)                                                                                 \
    }

/* The same tile with row i's values read at rows[r*MR + i][k]: no packed copy of A. */
TARGET void UKRI(int64_t nruns, const T *const *rows, const int64_t *lens, const T *b, int64_t sb,
                 T *c, int64_t ldc, int flags, const T *bias, int64_t mr, int64_t nr) {
    PROLOGUE
    for (int64_t r = 0; r < nruns; r++, rows += MR) {
        FOR_ROWS(IPTR)
        const int64_t len = lens[r];
        if (mr > MR / 2 && nr > VW) {
            INDIRECT_LOOP(FOR_ROWS, IROW)
        } else if (nr > VW) {
            INDIRECT_LOOP(FOR_HALF, IROW)
        } else if (mr > MR / 2) {
            INDIRECT_LOOP(FOR_ROWS, IROW1)
        } else {
            INDIRECT_LOOP(FOR_HALF, IROW1)
        }
    }
    EPILOGUE
}
#define STRIDED_LOOP(ROWS, STEP)                                                                   \
    for (int64_t k = 0; k < len; k++, a += sa, b += sb) {                                          \
        const VT b0 = VLOAD(b), b1 = VLOAD(b + VW);                                                \
        (void)b1;                                                                                  \
        ROWS(STEP)                                                                                 \
    }

/* The same tile with A and B read in place at strides sa and sb from each run's start. */
TARGET void UKRS(int64_t nruns, const T *const *a_runs, const T *const *b_runs,
                 const int64_t *lens, int64_t sa, int64_t sb, T *c, int64_t ldc, int flags,
                 const T *bias, int64_t mr, int64_t nr) {
    PROLOGUE
    for (int64_t r = 0; r < nruns; r++) {
        const T *a = a_runs[r], *b = b_runs[r];
        const int64_t len = lens[r];
        if (mr > MR / 2 && nr > VW) {
            STRIDED_LOOP(FOR_ROWS, ROW)
        } else if (nr > VW) {
            STRIDED_LOOP(FOR_HALF, ROW)
        } else if (mr > MR / 2) {
            STRIDED_LOOP(FOR_ROWS, ROW1)
        } else {
            STRIDED_LOOP(FOR_HALF, ROW1)
        }
    }
    EPILOGUE
}
#undef FOR_ROWS
#undef FOR_HALF
#undef STRIDED_LOOP
#undef ROW1
#undef IROW1
#undef PACKED_LOOP
#undef INDIRECT_LOOP
#undef DECLARE
#undef ROW
#undef IROW
#undef IPTR
#undef RELU
#undef OUT
#undef OUT_WITH
#undef OUT_STREAMED
#undef OUT_EDGE
#undef PROLOGUE
#undef EPILOGUE
#endif

#undef UKR
#undef UKRI
#undef UKRS
#undef FC_CAT
#undef FC_CAT_
