/* Run-time choice of the SIMD instruction set the kernels use: the one CPU-feature detector every
   kernel family asks. */
#ifndef FASTCONV_CPU_H
#define FASTCONV_CPU_H

/* Ordered by preference within an architecture: a higher level may use every lower one. */
typedef enum {
    FC_ISA_GENERIC = 0, /* portable C, built for the baseline of the target */
    FC_ISA_AVX2 = 1,    /* x86-64: AVX2 + FMA */
    FC_ISA_AVX512 = 2,  /* x86-64: AVX-512 F/BW/DQ/VL (+ AVX2, FMA) */
    FC_ISA_NEON = 3,    /* aarch64: Advanced SIMD (always present there) */
    /* Test levels, never chosen on their own. generic512: the portable C micro-kernels in the
       AVX-512 tile geometry, so the wide drivers run on every CPU. avx512emu: the AVX-512
       micro-kernel source through SIMDe on AVX2 (only in a FASTCONV_EMULATE=1 build). */
    FC_ISA_GENERIC512 = 4,
    FC_ISA_AVX512EMU = 5
} fc_isa;

#define FC_ISA_COUNT 6
#define FC_ISA_REAL_COUNT 4 /* levels a CPU can be detected to have */

/* Best ISA this CPU supports, lowered by the environment variable
   FASTCONV_ISA=generic|avx2|avx512|neon (or a test level) when set. Decided once, on the first call. */
fc_isa fc_selected_isa(void);

/* Best ISA this CPU supports, ignoring FASTCONV_ISA. */
fc_isa fc_supported_isa(void);

/* Whether this CPU can run kernels built for `isa`. */
int fc_isa_available(fc_isa isa);

const char *fc_isa_name(fc_isa isa);

/* Function attributes that let one function use an ISA the build does not assume. */
#if defined(__x86_64__) || defined(_M_X64) || defined(__i386__) || defined(_M_IX86)
#define FC_HAVE_X86 1
#if defined(__GNUC__) || defined(__clang__)
#define FC_TARGET_AVX2 __attribute__((target("avx2,fma")))
#define FC_TARGET_AVX512 __attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,avx2,fma")))
#else
#define FC_TARGET_AVX2 /* MSVC compiles intrinsics without target flags */
#define FC_TARGET_AVX512
#endif
#endif
#if defined(__aarch64__) || defined(_M_ARM64)
#define FC_HAVE_NEON 1
#endif

/* Subnormal floats cost 3x (1% of the inputs) to 150x (all of them) on some CPUs. Every kernel
   therefore runs with flush-to-zero and denormals-are-zero: subnormal inputs read as zero and
   subnormal results are written as zero. fc_fp_fast() switches the calling thread (and, called
   at the start of each parallel region, each worker) and returns its previous state, which
   fc_fp_restore() puts back before the region ends, so the caller's own arithmetic never
   changes. */
#if defined(__SSE2__) || defined(_M_X64) || (defined(_M_IX86_FP) && _M_IX86_FP >= 2)
#include <xmmintrin.h>
typedef unsigned int fc_fp_state;
static inline fc_fp_state fc_fp_fast(void) {
    const fc_fp_state saved = _mm_getcsr();
    _mm_setcsr(saved | 0x8040u); /* FTZ (bit 15) | DAZ (bit 6) */
    return saved;
}
static inline void fc_fp_restore(fc_fp_state saved) { _mm_setcsr(saved); }
#elif defined(__aarch64__) && (defined(__GNUC__) || defined(__clang__))
typedef unsigned long fc_fp_state;
static inline fc_fp_state fc_fp_fast(void) {
    fc_fp_state saved;
    __asm__ __volatile__("mrs %0, fpcr" : "=r"(saved));
    __asm__ __volatile__("msr fpcr, %0" : : "r"(saved | (1ul << 24))); /* FZ: both directions */
    return saved;
}
static inline void fc_fp_restore(fc_fp_state saved) {
    __asm__ __volatile__("msr fpcr, %0" : : "r"(saved));
}
#else
typedef int fc_fp_state; /* no control: subnormals keep their (slow) IEEE meaning */
static inline fc_fp_state fc_fp_fast(void) { return 0; }
static inline void fc_fp_restore(fc_fp_state saved) { (void)saved; }
#endif

#endif
