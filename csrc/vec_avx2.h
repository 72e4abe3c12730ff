/* The vector macros of AVX2 + FMA for the type selected by FC_VEC_F32 or FC_VEC_F64 (see
   gemm_kernels_impl.h for what each means). Include vec_undef.h after use. */
#include <immintrin.h>

#define VREGS 16 /* vector registers */

#if defined(FC_VEC_F32)
#define VT __m256
#define VW 8
#define VZERO _mm256_setzero_ps()
#define VLOAD _mm256_loadu_ps
#define VSTORE _mm256_storeu_ps
#define VSTREAM _mm256_stream_ps /* past the caches; p aligned to the vector */
#define VSET1 _mm256_set1_ps
#define VFMA _mm256_fmadd_ps
#define VADD _mm256_add_ps
#define VMAX _mm256_max_ps
#define VM __m256i
#define VMASK(n) _mm256_cmpgt_epi32(_mm256_set1_epi32((int)(n)), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7))
#define VLOADM(p, m) _mm256_maskload_ps(p, m)
#define VSTOREM(p, m, v) _mm256_maskstore_ps(p, m, v)
#elif defined(FC_VEC_F64)
#define VT __m256d
#define VW 4
#define VZERO _mm256_setzero_pd()
#define VLOAD _mm256_loadu_pd
#define VSTORE _mm256_storeu_pd
#define VSTREAM _mm256_stream_pd
#define VSET1 _mm256_set1_pd
#define VFMA _mm256_fmadd_pd
#define VADD _mm256_add_pd
#define VMAX _mm256_max_pd
#define VM __m256i
#define VMASK(n) _mm256_cmpgt_epi64(_mm256_set1_epi64x((long long)(n)), _mm256_setr_epi64x(0, 1, 2, 3))
#define VLOADM(p, m) _mm256_maskload_pd(p, m)
#define VSTOREM(p, m, v) _mm256_maskstore_pd(p, m, v)
#else
#error "define FC_VEC_F32 or FC_VEC_F64"
#endif
