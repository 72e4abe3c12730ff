/* Type-generic body of the packing routines and the macro-kernel; included by gemm.c once per
   type with T (element type), SFX (name suffix) and NR defined. */
#define FC_CAT_(a, b) a##_##b
#define FC_CAT(a, b) FC_CAT_(a, b)
#define FN(name) FC_CAT(name, SFX)

static FC_CAT(fc_ukr, SFX) FN(ukr) = FN(fc_ukr_generic);

void FN(fc_pack_a)(T *dst, const T *a, int64_t rs, int64_t cs, int64_t m, int64_t kc) {
    for (int64_t i0 = 0; i0 < m; i0 += FC_MR) {
        int64_t mr = m - i0 < FC_MR ? m - i0 : FC_MR;
        for (int64_t k = 0; k < kc; k++) {
            const T *src = a + i0 * rs + k * cs;
            int64_t i = 0;
            for (; i < mr; i++) dst[i] = src[i * rs];
            for (; i < FC_MR; i++) dst[i] = 0;
            dst += FC_MR;
        }
    }
}

void FN(fc_pack_b)(T *dst, const T *b, int64_t rs, int64_t cs, int64_t kc, int64_t n) {
    for (int64_t j0 = 0; j0 < n; j0 += NR) {
        int64_t nr = n - j0 < NR ? n - j0 : NR;
        for (int64_t k = 0; k < kc; k++) {
            const T *src = b + k * rs + j0 * cs;
            int64_t j = 0;
            if (cs == 1)
                for (; j < nr; j++) dst[j] = src[j];
            else
                for (; j < nr; j++) dst[j] = src[j * cs];
            for (; j < NR; j++) dst[j] = 0;
            dst += NR;
        }
    }
}

void FN(fc_macro_kernel)(int64_t m, int64_t n, int64_t kc, const T *a, const T *b,
                         int64_t b_sliver_stride, T *c, int64_t ldc, int accumulate) {
    T edge[FC_MR * NR];
    for (int64_t j0 = 0; j0 < n; j0 += NR) {
        const T *bs = b + (j0 / NR) * b_sliver_stride;
        int64_t nr = n - j0 < NR ? n - j0 : NR;
        for (int64_t i0 = 0; i0 < m; i0 += FC_MR) {
            const T *as = a + (i0 / FC_MR) * kc * FC_MR;
            int64_t mr = m - i0 < FC_MR ? m - i0 : FC_MR;
            T *ct = c + i0 * ldc + j0;
            if (mr == FC_MR && nr == NR) {
                FN(ukr)(kc, as, bs, ct, ldc, accumulate);
                continue;
            }
            /* Edge tile: compute the full register tile aside, keep its valid part. */
            FN(ukr)(kc, as, bs, edge, NR, 0);
            for (int64_t i = 0; i < mr; i++)
                for (int64_t j = 0; j < nr; j++)
                    ct[i * ldc + j] = accumulate ? ct[i * ldc + j] + edge[i * NR + j] : edge[i * NR + j];
        }
    }
}

#undef FN
#undef FC_CAT
#undef FC_CAT_
