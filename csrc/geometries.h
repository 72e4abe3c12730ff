/* Instantiates the implementation file named by FC_GEOMETRY_IMPL (a string, e.g. "gemm_impl.h")
   once per (type, tile geometry), with T, TSFX (f32/f64), MR, NR, MC and SFX (e.g. f32_wide)
   defined for each: the drivers keep their blocking as compile-time constants (gemm.h). */
#define T float
#define TSFX f32
#define MR FC_NARROW_MR
#define NR FC_NARROW_NR_F32
#define MC FC_NARROW_MC
#define SFX f32_narrow
#include FC_GEOMETRY_IMPL
#undef MR
#undef NR
#undef MC
#undef SFX
#define MR FC_WIDE_MR
#define NR FC_WIDE_NR_F32
#define MC FC_WIDE_MC
#define SFX f32_wide
#include FC_GEOMETRY_IMPL
#undef T
#undef TSFX
#undef MR
#undef NR
#undef MC
#undef SFX

#define T double
#define TSFX f64
#define MR FC_NARROW_MR
#define NR FC_NARROW_NR_F64
#define MC FC_NARROW_MC
#define SFX f64_narrow
#include FC_GEOMETRY_IMPL
#undef MR
#undef NR
#undef MC
#undef SFX
#define MR FC_WIDE_MR
#define NR FC_WIDE_NR_F64
#define MC FC_WIDE_MC
#define SFX f64_wide
#include FC_GEOMETRY_IMPL
#undef T
#undef TSFX
#undef MR
#undef NR
#undef MC
#undef SFX
