/* Instantiates the implementation file named by FC_VEC_IMPL (a string) for float and double,
   with T, SFX and NR (NR_F32 / NR_F64) defined and, when FC_VEC_HEADER names one (vec_avx2.h,
   vec_avx512.h), that ISA's vector macros for the type; without it the portable body compiles. */
#define T float
#define SFX f32
#define NR NR_F32
#ifdef FC_VEC_HEADER
#define FC_VEC_F32
#include FC_VEC_HEADER
#endif
#include FC_VEC_IMPL
#ifdef FC_VEC_HEADER
#include "vec_undef.h"
#undef FC_VEC_F32
#endif
#undef T
#undef SFX
#undef NR

#define T double
#define SFX f64
#define NR NR_F64
#ifdef FC_VEC_HEADER
#define FC_VEC_F64
#include FC_VEC_HEADER
#endif
#include FC_VEC_IMPL
#ifdef FC_VEC_HEADER
#include "vec_undef.h"
#undef FC_VEC_F64
#endif
#undef T
#undef SFX
#undef NR
