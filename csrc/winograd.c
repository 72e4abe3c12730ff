#include "winograd.h"

#include <stddef.h>

#include "isa_variants.h"
#include "pool_rule.h"

/* Channels per step: a transform's intermediate rows live on the stack (16 x CHUNK values). */
#define CHUNK 64

/* The 4-point transforms along one axis, across n channels. Outputs are restrict: the compiler
   may then vectorize across channels without checking that they overlap the inputs. */
#define WINOGRAD_LINES(T, SFX)                                                                     \
    /* B^T: (d0 - d2, d1 + d2, d2 - d1, d1 - d3) */                                                \
    FC_INLINE void input_line_##SFX(T *restrict o0, T *restrict o1, T *restrict o2,              \
                                    T *restrict o3, const T *i0, const T *i1, const T *i2,         \
                                    const T *i3, int64_t n) {                                      \
        for (int64_t c = 0; c < n; c++) {                                                          \
            const T a = i0[c], b = i1[c], e = i2[c], f = i3[c];                                    \
            o0[c] = a - e;                                                                         \
            o1[c] = b + e;                                                                         \
            o2[c] = e - b;                                                                         \
            o3[c] = b - f;                                                                         \
        }                                                                                          \
    }                                                                                              \
    /* 2G without its halves: (g0, g0 + g1 + g2, g0 - g1 + g2, g2); scale applies them after    \
       both axes, so no product feeds a sum (one rounding whether or not it is contracted). */  \
    FC_INLINE void filter_line_##SFX(T *restrict o0, T *restrict o1, T *restrict o2,             \
                                     T *restrict o3, const T *i0, const T *i1, const T *i2,        \
                                     int64_t n, T scale_ends, T scale_mid) {                      \
        for (int64_t c = 0; c < n; c++) {                                                          \
            const T a = i0[c], b = i1[c], e = i2[c];                                               \
            o0[c] = a * scale_ends;                                                                \
            o1[c] = (a + b + e) * scale_mid;                                                       \
            o2[c] = (a - b + e) * scale_mid;                                                       \
            o3[c] = e * scale_ends;                                                                \
        }                                                                                          \
    }                                                                                              \
    /* A^T: (m0 + m1 + m2, m1 - m2 - m3) */                                                        \
    FC_INLINE void output_line_##SFX(T *restrict o0, T *restrict o1, const T *i0, const T *i1,   \
                                     const T *i2, const T *i3, int64_t n) {                        \
        for (int64_t c = 0; c < n; c++) {                                                          \
            const T a = i0[c], b = i1[c], e = i2[c], f = i3[c];                                    \
            o0[c] = a + b + e;                                                                     \
            o1[c] = b - e - f;                                                                     \
        }                                                                                          \
    }                                                                                              \
    /* A: (y0, y0 + y1, y0 - y1, -y1) */                                                         \
    FC_INLINE void dout_line_##SFX(T *restrict o0, T *restrict o1, T *restrict o2,               \
                                   T *restrict o3, const T *i0, const T *i1, int64_t n) {          \
        for (int64_t c = 0; c < n; c++) {                                                          \
            const T a = i0[c], b = i1[c];                                                          \
            o0[c] = a;                                                                             \
            o1[c] = a + b;                                                                         \
            o2[c] = a - b;                                                                         \
            o3[c] = -b;                                                                            \
        }                                                                                          \
    }                                                                                              \
    /* G^T: (s0 + (s1 + s2)/2, (s1 - s2)/2, (s1 + s2)/2 + s3); the halves are exact, so a       \
       contracted multiply-add rounds the same. */                                                \
    FC_INLINE void weight_line_##SFX(T *restrict o0, T *restrict o1, T *restrict o2,             \
                                     const T *i0, const T *i1, const T *i2, const T *i3,           \
                                     int64_t n) {                                                  \
        for (int64_t c = 0; c < n; c++) {                                                          \
            const T a = i0[c], b = i1[c], e = i2[c], f = i3[c];                                    \
            const T half_sum = (b + e) * (T)0.5;                                                   \
            o0[c] = a + half_sum;                                                                  \
            o1[c] = (b - e) * (T)0.5;                                                              \
            o2[c] = half_sum + f;                                                                  \
        }                                                                                          \
    }                                                                                              \
    /* Called with constant flags (epilogue below), so each case compiles to a plain loop: a  \
       per-element test would become masked loads, which cannot forward from v's stores. */      \
    FC_INLINE void epilogue_case_##SFX(T *restrict y, const T *v, const T *bias, int relu,       \
                                       const T *mask, int64_t n) {                                 \
        for (int64_t c = 0; c < n; c++) {                                                          \
            T x = bias ? v[c] + bias[c] : v[c];                                                    \
            if (relu) x = x < 0 ? (T)0 : x;                                                        \
            if (mask) x = mask[c] > 0 ? x : (T)0;                                                  \
            y[c] = x;                                                                              \
        }                                                                                          \
    }                                                                                              \
    FC_INLINE void epilogue_##SFX(T *y, const T *v, const T *bias, int relu, const T *mask,      \
                                  int64_t n) {                                                     \
        if (bias) {                                                                                \
            if (mask)                                                                              \
                epilogue_case_##SFX(y, v, bias, 0, mask, n);                                       \
            else if (relu)                                                                         \
                epilogue_case_##SFX(y, v, bias, 1, NULL, n);                                       \
            else                                                                                   \
                epilogue_case_##SFX(y, v, bias, 0, NULL, n);                                       \
        } else {                                                                                   \
            if (mask)                                                                              \
                epilogue_case_##SFX(y, v, NULL, 0, mask, n);                                       \
            else if (relu)                                                                         \
                epilogue_case_##SFX(y, v, NULL, 1, NULL, n);                                       \
            else                                                                                   \
                epilogue_case_##SFX(y, v, NULL, 0, NULL, n);                                       \
        }                                                                                          \
    }

#define WINOGRAD(T, SFX)                                                                           \
    WINOGRAD_LINES(T, SFX)                                                                         \
    FC_INLINE void winograd_input_tile_##SFX##_body(T *v, int64_t vstride, const T *const *cells, \
                                                    int64_t n) {                                   \
        for (int64_t c0 = 0; c0 < n; c0 += CHUNK) {                                                \
            const int64_t len = n - c0 < CHUNK ? n - c0 : CHUNK;                                   \
            T t[16][CHUNK]; /* t[4*a + j] = (B^T d)[a][j] */                                       \
            for (int j = 0; j < 4; j++)                                                            \
                input_line_##SFX(t[j], t[4 + j], t[8 + j], t[12 + j], cells[j] + c0,              \
                                 cells[4 + j] + c0, cells[8 + j] + c0, cells[12 + j] + c0, len);   \
            for (int a = 0; a < 4; a++) {                                                          \
                T *o = v + 4 * a * vstride + c0;                                                   \
                input_line_##SFX(o, o + vstride, o + 2 * vstride, o + 3 * vstride, t[4 * a],      \
                                 t[4 * a + 1], t[4 * a + 2], t[4 * a + 3], len);                   \
            }                                                                                      \
        }                                                                                          \
    }                                                                                              \
    FC_ISA_VARIANTS(winograd_input_tile_##SFX,                                                     \
                    (T * v, int64_t vstride, const T *const *cells, int64_t n),                    \
                    (v, vstride, cells, n))                                                        \
    void winograd_input_tile_##SFX(T *v, int64_t vstride, const T *const *cells, int64_t n) {    \
        FC_ISA_PICK(winograd_input_tile_##SFX)(v, vstride, cells, n);                              \
    }                                                                                              \
                                                                                                   \
    FC_INLINE void winograd_filter_tile_##SFX##_body(T *u, int64_t ustride, const T *const *taps, \
                                                     int64_t n) {                                  \
        for (int64_t k0 = 0; k0 < n; k0 += CHUNK) {                                                \
            const int64_t len = n - k0 < CHUNK ? n - k0 : CHUNK;                                   \
            T t[12][CHUNK]; /* t[3*a + j] = (2G g)[a][j] */                                        \
            for (int j = 0; j < 3; j++)                                                            \
                filter_line_##SFX(t[j], t[3 + j], t[6 + j], t[9 + j], taps[j] + k0,               \
                                  taps[3 + j] + k0, taps[6 + j] + k0, len, 1, 1);                  \
            for (int a = 0; a < 4; a++) {                                                          \
                /* rows 1 and 2 of 2G g carry a factor 2 that row a's scale takes back */         \
                const T row = a == 1 || a == 2 ? (T)0.5 : (T)1;                                    \
                T *o = u + 4 * a * ustride + k0;                                                   \
                filter_line_##SFX(o, o + ustride, o + 2 * ustride, o + 3 * ustride, t[3 * a],     \
                                  t[3 * a + 1], t[3 * a + 2], len, row, row * (T)0.5);            \
            }                                                                                      \
        }                                                                                          \
    }                                                                                              \
    FC_ISA_VARIANTS(winograd_filter_tile_##SFX,                                                    \
                    (T * u, int64_t ustride, const T *const *taps, int64_t n),                     \
                    (u, ustride, taps, n))                                                         \
    void winograd_filter_tile_##SFX(T *u, int64_t ustride, const T *const *taps, int64_t n) {    \
        FC_ISA_PICK(winograd_filter_tile_##SFX)(u, ustride, taps, n);                              \
    }                                                                                              \
                                                                                                   \
    FC_INLINE void winograd_output_tile_##SFX##_body(T *const *y, const T *m, int64_t mstride,    \
                                                     int64_t n, const T *bias, int relu,          \
                                                     const T *const *mask, T *pooled) {            \
        for (int64_t c0 = 0; c0 < n; c0 += CHUNK) {                                                \
            const int64_t len = n - c0 < CHUNK ? n - c0 : CHUNK;                                   \
            T s[8][CHUNK], out[4][CHUNK]; /* s[4*p + b] = (A^T M)[p][b] */                         \
            for (int b = 0; b < 4; b++)                                                            \
                output_line_##SFX(s[b], s[4 + b], m + b * mstride + c0,                            \
                                  m + (4 + b) * mstride + c0, m + (8 + b) * mstride + c0,          \
                                  m + (12 + b) * mstride + c0, len);                               \
            for (int p = 0; p < 2; p++)                                                            \
                output_line_##SFX(out[2 * p], out[2 * p + 1], s[4 * p], s[4 * p + 1],             \
                                  s[4 * p + 2], s[4 * p + 3], len);                                \
            if (pooled) { /* the tile is a pool's window: its max, in window order */             \
                T e[4][CHUNK];                                                                     \
                for (int q = 0; q < 4; q++)                                                        \
                    epilogue_##SFX(e[q], out[q], bias ? bias + c0 : NULL, relu, NULL, len);        \
                for (int64_t c = 0; c < len; c++)                                                  \
                    FC_POOL_MAX_OF_4(pooled[c0 + c], e[0][c], e[1][c], e[2][c], e[3][c]);          \
                continue;                                                                          \
            }                                                                                      \
            for (int q = 0; q < 4; q++)                                                            \
                if (y[q])                                                                          \
                    epilogue_##SFX(y[q] + c0, out[q], bias ? bias + c0 : NULL, relu,               \
                                   mask ? mask[q] + c0 : NULL, len);                               \
        }                                                                                          \
    }                                                                                              \
    FC_ISA_VARIANTS(winograd_output_tile_##SFX,                                                    \
                    (T *const *y, const T *m, int64_t mstride, int64_t n, const T *bias, int relu, \
                     const T *const *mask, T *pooled),                                             \
                    (y, m, mstride, n, bias, relu, mask, pooled))                                  \
    void winograd_output_tile_##SFX(T *const *y, const T *m, int64_t mstride, int64_t n,          \
                                    const T *bias, int relu, const T *const *mask, T *pooled) {   \
        FC_ISA_PICK(winograd_output_tile_##SFX)(y, m, mstride, n, bias, relu, mask, pooled);       \
    }

#define WINOGRAD_WEIGHT_GRADIENT(T, SFX)                                                           \
    FC_INLINE void winograd_dout_tile_##SFX##_body(T *z, int64_t zstride, const T *const *dy,     \
                                                   int64_t n) {                                    \
        for (int64_t k0 = 0; k0 < n; k0 += CHUNK) {                                                \
            const int64_t len = n - k0 < CHUNK ? n - k0 : CHUNK;                                   \
            T t[8][CHUNK]; /* t[2*a + q] = (A dY)[a][q] */                                         \
            for (int q = 0; q < 2; q++)                                                            \
                dout_line_##SFX(t[q], t[2 + q], t[4 + q], t[6 + q], dy[q] + k0, dy[2 + q] + k0,   \
                                len);                                                              \
            for (int a = 0; a < 4; a++) {                                                          \
                T *o = z + 4 * a * zstride + k0;                                                   \
                dout_line_##SFX(o, o + zstride, o + 2 * zstride, o + 3 * zstride, t[2 * a],       \
                                t[2 * a + 1], len);                                                \
            }                                                                                      \
        }                                                                                          \
    }                                                                                              \
    FC_ISA_VARIANTS(winograd_dout_tile_##SFX,                                                      \
                    (T * z, int64_t zstride, const T *const *dy, int64_t n), (z, zstride, dy, n))  \
    void winograd_dout_tile_##SFX(T *z, int64_t zstride, const T *const *dy, int64_t n) {        \
        FC_ISA_PICK(winograd_dout_tile_##SFX)(z, zstride, dy, n);                                  \
    }                                                                                              \
                                                                                                   \
    FC_INLINE void winograd_weight_tile_##SFX##_body(T *w, int64_t wstride, const T *s,           \
                                                     int64_t sstride, int64_t n) {                 \
        for (int64_t k0 = 0; k0 < n; k0 += CHUNK) {                                                \
            const int64_t len = n - k0 < CHUNK ? n - k0 : CHUNK;                                   \
            T r[12][CHUNK]; /* r[4*i + b] = (G^T S)[i][b] */                                       \
            for (int b = 0; b < 4; b++)                                                            \
                weight_line_##SFX(r[b], r[4 + b], r[8 + b], s + b * sstride + k0,                  \
                                  s + (4 + b) * sstride + k0, s + (8 + b) * sstride + k0,          \
                                  s + (12 + b) * sstride + k0, len);                               \
            for (int i = 0; i < 3; i++) {                                                          \
                T *o = w + 3 * i * wstride + k0;                                                   \
                weight_line_##SFX(o, o + wstride, o + 2 * wstride, r[4 * i], r[4 * i + 1],        \
                                  r[4 * i + 2], r[4 * i + 3], len);                                \
            }                                                                                      \
        }                                                                                          \
    }                                                                                              \
    FC_ISA_VARIANTS(winograd_weight_tile_##SFX,                                                    \
                    (T * w, int64_t wstride, const T *s, int64_t sstride, int64_t n),              \
                    (w, wstride, s, sstride, n))                                                   \
    void winograd_weight_tile_##SFX(T *w, int64_t wstride, const T *s, int64_t sstride,          \
                                    int64_t n) {                                                   \
        FC_ISA_PICK(winograd_weight_tile_##SFX)(w, wstride, s, sstride, n);                        \
    }

WINOGRAD(float, f32)
WINOGRAD(double, f64)
WINOGRAD_WEIGHT_GRADIENT(float, f32)
WINOGRAD_WEIGHT_GRADIENT(double, f64)
