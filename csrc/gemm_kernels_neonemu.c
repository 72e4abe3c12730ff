/* Test-only: gemm_kernels_neon.c compiled on x86 through SIMDe's NEON emulation, as the
   fc_ukr_neonemu_* kernels. Not part of the default library build: it needs the SIMDe headers
   (simde-py) on the include path. SIMDe emulates vfmaq with the FMA instruction only when the
   compiler targets FMA (__FMA__); otherwise it multiplies and adds with two roundings and the
   emulation stops being bit-exact. GCC's target pragma turns AVX2 + FMA on for this file alone,
   so it builds with the library's flags; other compilers need -mavx2 -mfma. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC target("avx2,fma")
#endif
#if !defined(__FMA__) || !defined(__AVX2__)
#error "gemm_kernels_neonemu.c needs AVX2 + FMA code generation: compile it with -mavx2 -mfma"
#endif

#define SIMDE_ENABLE_NATIVE_ALIASES
#include <simde/arm/neon.h>

#include "gemm_kernels_neonemu.h"

#define FC_NEON_ISA neonemu
#include "gemm_kernels_neon.c"
