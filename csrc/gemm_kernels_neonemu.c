/* Test-only: gemm_kernels_neon.c compiled on x86 through SIMDe's NEON emulation, as the
   fc_ukr_neonemu_* kernels. Not part of the library build: it needs the SIMDe headers
   (simde-py) on the include path and -mavx2 -mfma, because SIMDe emulates vfmaq with the FMA
   instruction only when the compiler targets it; otherwise it multiplies and adds in two
   roundings and the emulation stops being bit-exact. */
#if !defined(__FMA__) || !defined(__AVX2__)
#error "compile gemm_kernels_neonemu.c with -mavx2 -mfma: SIMDe's vfmaq is fused only then"
#endif

#define SIMDE_ENABLE_NATIVE_ALIASES
#include <simde/arm/neon.h>

#include "gemm_kernels_neonemu.h"

#define FC_NEON_ISA neonemu
#include "gemm_kernels_neon.c"
