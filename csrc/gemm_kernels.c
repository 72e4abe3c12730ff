/* Micro-kernels for each kernel set. SIMD bodies are compiled with per-function target attributes,
   so the library is built without -march flags and chooses a kernel set at run time (gemm.c). */
#include "gemm.h"

/* Portable C, once per geometry: the baseline everywhere, and the wide geometry on any CPU so the
   AVX-512 drivers are tested where AVX-512 is missing (FASTCONV_ISA=generic512). */
#define NAME generic
#define MR FC_NARROW_MR
#define T float
#define SFX f32
#define NR FC_NARROW_NR_F32
#include "gemm_kernels_impl.h"
#undef T
#undef SFX
#undef NR
#define T double
#define SFX f64
#define NR FC_NARROW_NR_F64
#include "gemm_kernels_impl.h"
#undef T
#undef SFX
#undef NR
#undef MR
#undef NAME

#define NAME generic_wide
#define MR FC_WIDE_MR
#define T float
#define SFX f32
#define NR FC_WIDE_NR_F32
#include "gemm_kernels_impl.h"
#undef T
#undef SFX
#undef NR
#define T double
#define SFX f64
#define NR FC_WIDE_NR_F64
#include "gemm_kernels_impl.h"
#undef T
#undef SFX
#undef NR
#undef MR
#undef NAME

#ifdef FC_HAVE_X86
#include <immintrin.h>

/* AVX2 + FMA: 6 x 16 float32 (6 x 8 float64) in 12 ymm accumulators. */
#define NAME avx2
#define TARGET FC_TARGET_AVX2
#define MR FC_NARROW_MR

#define T float
#define SFX f32
#define NR FC_NARROW_NR_F32
#define VT __m256
#define VW 8
#define VZERO _mm256_setzero_ps()
#define VLOAD _mm256_loadu_ps
#define VSTORE _mm256_storeu_ps
#define VSET1 _mm256_set1_ps
#define VFMA _mm256_fmadd_ps
#define VADD _mm256_add_ps
#define VMAX _mm256_max_ps
#define VM __m256i
#define VMASK(n) _mm256_cmpgt_epi32(_mm256_set1_epi32((int)(n)), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7))
#define VLOADM(p, m) _mm256_maskload_ps(p, m)
#define VSTOREM(p, m, v) _mm256_maskstore_ps(p, m, v)
#include "gemm_kernels_impl.h"
#undef T
#undef SFX
#undef NR
#undef VT
#undef VW
#undef VZERO
#undef VLOAD
#undef VSTORE
#undef VSET1
#undef VFMA
#undef VADD
#undef VMAX
#undef VMASK
#undef VLOADM
#undef VSTOREM

#define T double
#define SFX f64
#define NR FC_NARROW_NR_F64
#define VT __m256d
#define VW 4
#define VZERO _mm256_setzero_pd()
#define VLOAD _mm256_loadu_pd
#define VSTORE _mm256_storeu_pd
#define VSET1 _mm256_set1_pd
#define VFMA _mm256_fmadd_pd
#define VADD _mm256_add_pd
#define VMAX _mm256_max_pd
#define VMASK(n) _mm256_cmpgt_epi64(_mm256_set1_epi64x((long long)(n)), _mm256_setr_epi64x(0, 1, 2, 3))
#define VLOADM(p, m) _mm256_maskload_pd(p, m)
#define VSTOREM(p, m, v) _mm256_maskstore_pd(p, m, v)
#include "gemm_kernels_impl.h"
#undef T
#undef SFX
#undef NR
#undef VT
#undef VW
#undef VZERO
#undef VLOAD
#undef VSTORE
#undef VSET1
#undef VFMA
#undef VADD
#undef VMAX
#undef VM
#undef VMASK
#undef VLOADM
#undef VSTOREM
#undef MR
#undef TARGET
#undef NAME

/* AVX-512: the wide tile (gemm_kernels_avx512.h). */
#define NAME avx512
#define TARGET FC_TARGET_AVX512
#include "gemm_kernels_avx512.h"
#undef NAME
#undef TARGET
#endif
