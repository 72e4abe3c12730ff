/* Test-only kernel set "neonemu": gemm_kernels_neon.c compiled on x86 through SIMDe's emulation
   of the NEON intrinsics, so any CPU with AVX2 + FMA tests the NEON source bit for bit against
   the AVX2 kernels. Built only when FASTCONV_EMULATE=1 finds the SIMDe headers (pip install
   simde-py); never chosen unless FASTCONV_ISA=neonemu. */
#include "gemm.h"

#ifdef FC_HAVE_NEONEMU
/* SIMDe emulates vfmaq with the FMA instruction only when the compiler targets FMA (__FMA__);
   otherwise it multiplies and adds with two roundings and stops being bit-exact. GCC's target
   pragma turns AVX2 + FMA on for this file alone, so it builds with the library's flags; other
   compilers need -mavx2 -mfma. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC target("avx2,fma")
#endif
#if !defined(__FMA__) || !defined(__AVX2__)
#error "gemm_kernels_neonemu.c needs AVX2 + FMA code generation: compile it with -mavx2 -mfma"
#endif

#define SIMDE_ENABLE_NATIVE_ALIASES
#include <simde/arm/neon.h>

#define FC_NEON_ISA neonemu
#include "gemm_kernels_neon.c"
#endif
