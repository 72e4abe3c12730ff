/* The vector macros of AVX-512 for the type selected by FC_VEC_F32 or FC_VEC_F64 (see
   gemm_kernels_impl.h for what each means). Edges use opmasks: masked loads never fault on the
   lanes they skip. With FC_LANE_MASKS (SIMDe's emulation, whose masked loads and stores touch
   every lane), masked memory access goes lane by lane through a local vector instead.
   Include vec_undef.h after use. */
#define FC_LANES(n, w) ((n) <= 0 ? 0 : (n) >= (w) ? (w) : (n))
#define VREGS 32 /* vector registers */

#if defined(FC_LANE_MASKS) && !defined(FC_LANE_ACCESS_DEFINED)
#define FC_LANE_ACCESS_DEFINED
#define FC_LANE_ACCESS(T, VT, SFX, W, LOAD, STORE)                                                 \
    static inline VT fc_lane_load_##SFX(const T *p, unsigned m) {                                 \
        T lanes[W] = {0};                                                                          \
        for (int l = 0; l < W; l++)                                                                \
            if ((m >> l) & 1u) lanes[l] = p[l];                                                    \
        return LOAD(lanes);                                                                        \
    }                                                                                              \
    static inline void fc_lane_store_##SFX(T *p, unsigned m, VT v) {                              \
        T lanes[W];                                                                                \
        STORE(lanes, v);                                                                           \
        for (int l = 0; l < W; l++)                                                                \
            if ((m >> l) & 1u) p[l] = lanes[l];                                                    \
    }
FC_LANE_ACCESS(float, __m512, f32, 16, _mm512_loadu_ps, _mm512_storeu_ps)
FC_LANE_ACCESS(double, __m512d, f64, 8, _mm512_loadu_pd, _mm512_storeu_pd)
#undef FC_LANE_ACCESS
#endif

#if defined(FC_VEC_F32)
#define VT __m512
#define VW 16
#define VZERO _mm512_setzero_ps()
#define VLOAD _mm512_loadu_ps
#define VSTORE _mm512_storeu_ps
#ifdef FC_LANE_MASKS
#define VSTREAM VSTORE /* SIMDe has no streaming store */
#else
#define VSTREAM _mm512_stream_ps /* past the caches; p aligned to the vector */
#endif
#define VSET1 _mm512_set1_ps
#define VFMA _mm512_fmadd_ps
#define VADD _mm512_add_ps
#define VMAX _mm512_max_ps
#define VM __mmask16
#define VMASK(n) ((__mmask16)((1u << FC_LANES(n, 16)) - 1u))
#ifdef FC_LANE_MASKS
#define VLOADM(p, m) fc_lane_load_f32(p, m)
#define VSTOREM(p, m, v) fc_lane_store_f32(p, m, v)
#else
#define VLOADM(p, m) _mm512_maskz_loadu_ps(m, p)
#define VSTOREM(p, m, v) _mm512_mask_storeu_ps(p, m, v)
#endif
#elif defined(FC_VEC_F64)
#define VT __m512d
#define VW 8
#define VZERO _mm512_setzero_pd()
#define VLOAD _mm512_loadu_pd
#define VSTORE _mm512_storeu_pd
#ifdef FC_LANE_MASKS
#define VSTREAM VSTORE
#else
#define VSTREAM _mm512_stream_pd
#endif
#define VSET1 _mm512_set1_pd
#define VFMA _mm512_fmadd_pd
#define VADD _mm512_add_pd
#define VMAX _mm512_max_pd
#define VM __mmask8
#define VMASK(n) ((__mmask8)((1u << FC_LANES(n, 8)) - 1u))
#ifdef FC_LANE_MASKS
#define VLOADM(p, m) fc_lane_load_f64(p, m)
#define VSTOREM(p, m, v) fc_lane_store_f64(p, m, v)
#else
#define VLOADM(p, m) _mm512_maskz_loadu_pd(m, p)
#define VSTOREM(p, m, v) _mm512_mask_storeu_pd(p, m, v)
#endif
#else
#error "define FC_VEC_F32 or FC_VEC_F64"
#endif
