/* Micro-kernels for each ISA. SIMD bodies are compiled with per-function target attributes, so
   the library is built without -march flags and chooses a kernel at run time (fc_gemm_init). */
#include "gemm.h"

#define T float
#define SFX f32
#define NR FC_NR_F32
#include "gemm_kernels_impl.h"
#undef T
#undef SFX
#undef NR

#define T double
#define SFX f64
#define NR FC_NR_F64
#include "gemm_kernels_impl.h"
#undef T
#undef SFX
#undef NR

#ifdef FC_HAVE_X86
#include <immintrin.h>
#define TARGET FC_TARGET_AVX2
#define ISA avx2

#define T float
#define SFX f32
#define NR FC_NR_F32
#define VT __m256
#define VW 8
#define VZERO _mm256_setzero_ps()
#define VLOAD _mm256_loadu_ps
#define VSTORE _mm256_storeu_ps
#define VSET1 _mm256_set1_ps
#define VFMA _mm256_fmadd_ps
#define VADD _mm256_add_ps
#define VMAX _mm256_max_ps
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

#define T double
#define SFX f64
#define NR FC_NR_F64
#define VT __m256d
#define VW 4
#define VZERO _mm256_setzero_pd()
#define VLOAD _mm256_loadu_pd
#define VSTORE _mm256_storeu_pd
#define VSET1 _mm256_set1_pd
#define VFMA _mm256_fmadd_pd
#define VADD _mm256_add_pd
#define VMAX _mm256_max_pd
#include "gemm_kernels_impl.h"
#endif
