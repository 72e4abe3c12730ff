/* Micro-kernels for each kernel set. SIMD bodies are compiled with per-function target attributes,
   so the library is built without -march flags and chooses a kernel set at run time (gemm.c). */
#include "gemm.h"

/* Portable C, once per geometry: the baseline everywhere, and the wide geometry on any CPU so the
   AVX-512 drivers are tested where AVX-512 is missing (FASTCONV_ISA=generic512). */
#define FC_VEC_IMPL "gemm_kernels_impl.h"
#define NAME generic
#define MR FC_NARROW_MR
#define NR_F32 FC_NARROW_NR_F32
#define NR_F64 FC_NARROW_NR_F64
#include "vec_types.h"
#undef NAME
#undef MR
#undef NR_F32
#undef NR_F64

#define NAME generic_wide
#define MR FC_WIDE_MR
#define NR_F32 FC_WIDE_NR_F32
#define NR_F64 FC_WIDE_NR_F64
#include "vec_types.h"
#undef NAME
#undef MR
#undef NR_F32
#undef NR_F64

#ifdef FC_HAVE_X86
/* AVX2 + FMA: 6 x 16 float32 (6 x 8 float64) in 12 ymm accumulators. */
#define NAME avx2
#define TARGET FC_TARGET_AVX2
#define MR FC_NARROW_MR
#define NR_F32 FC_NARROW_NR_F32
#define NR_F64 FC_NARROW_NR_F64
#define FC_VEC_HEADER "vec_avx2.h"
#include "vec_types.h"
#undef FC_VEC_HEADER
#undef NAME
#undef TARGET
#undef MR
#undef NR_F32
#undef NR_F64
#endif
#undef FC_VEC_IMPL

#ifdef FC_HAVE_X86
/* AVX-512: the wide tile (gemm_kernels_avx512.h). */
#define NAME avx512
#define TARGET FC_TARGET_AVX512
#include "gemm_kernels_avx512.h"
#undef NAME
#undef TARGET
#endif
