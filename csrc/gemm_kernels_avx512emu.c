/* Test-only kernel set "avx512emu": the AVX-512 micro-kernel source compiled through SIMDe's
   emulation of the AVX-512 intrinsics on AVX2 + FMA, so CPUs without AVX-512 test that source
   (its arithmetic is bit-identical to the hardware's). Built only when FASTCONV_EMULATE=1 finds
   the SIMDe headers (pip install simde-py); never chosen unless FASTCONV_ISA=avx512emu. */
#include "gemm.h"

#ifdef FC_HAVE_AVX512EMU
/* AVX2 + FMA for the whole file, so SIMDe lowers each 512-bit operation to two exact 256-bit
   ones (without FMA it would round a multiply-add twice). */
#pragma GCC target("avx2,fma")
#define SIMDE_ENABLE_NATIVE_ALIASES
#include <simde/x86/avx512.h>

#define FC_LANE_MASKS
#define NAME avx512emu
#define TARGET
#include "gemm_kernels_avx512.h"
#endif
