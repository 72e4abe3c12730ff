#include "cpu.h"

#include <stdlib.h>
#include <string.h>

#if defined(_MSC_VER) && (defined(_M_X64) || defined(_M_IX86))
#include <intrin.h>
#include <immintrin.h>
#endif

static const char *const isa_names[FC_ISA_COUNT] = {"generic", "avx2", "avx512", "neon", "generic512",
                                                      "avx512emu"};

const char *fc_isa_name(fc_isa isa) { return isa_names[isa]; }

#if defined(_MSC_VER) && (defined(_M_X64) || defined(_M_IX86))
/* MSVC has no __builtin_cpu_supports: read CPUID, and XGETBV for the register state the OS saves
   (YMM for AVX2; opmask and upper ZMM too for AVX-512). */
static int msvc_supports(fc_isa isa) {
    int info[4];
    __cpuid(info, 0);
    if (info[0] < 7) return 0;
    __cpuid(info, 1);
    const int has_fma = (info[2] >> 12) & 1, has_osxsave = (info[2] >> 27) & 1;
    if (!has_fma || !has_osxsave) return 0;
    const unsigned long long xcr0 = _xgetbv(0);
    __cpuidex(info, 7, 0);
    const int avx2 = (info[1] >> 5) & 1;
    const int avx512 = ((info[1] >> 16) & 1) && ((info[1] >> 17) & 1) && ((info[1] >> 30) & 1) &&
                       ((info[1] >> 31) & 1); /* F, DQ, BW, VL */
    if (isa == FC_ISA_AVX2) return avx2 && (xcr0 & 6) == 6;
    if (isa == FC_ISA_AVX512) return avx2 && avx512 && (xcr0 & 0xE6) == 0xE6;
    return 0;
}
#endif

int fc_isa_available(fc_isa isa) {
    if (isa == FC_ISA_GENERIC || isa == FC_ISA_GENERIC512) return 1;
#ifdef FC_HAVE_AVX512EMU
    if (isa == FC_ISA_AVX512EMU) return fc_isa_available(FC_ISA_AVX2);
#endif
#if (defined(__GNUC__) || defined(__clang__)) && (defined(__x86_64__) || defined(__i386__))
    /* GCC's check includes the OS-enabled register state (XGETBV). */
    __builtin_cpu_init();
    const int avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    if (isa == FC_ISA_AVX2) return avx2;
    if (isa == FC_ISA_AVX512)
        return avx2 && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
               __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl");
#elif defined(_MSC_VER) && (defined(_M_X64) || defined(_M_IX86))
    return msvc_supports(isa);
#elif defined(FC_HAVE_NEON)
    if (isa == FC_ISA_NEON) return 1;
#endif
    return 0;
}

fc_isa fc_supported_isa(void) {
    for (int i = FC_ISA_REAL_COUNT - 1; i > 0; i--)
        if (fc_isa_available((fc_isa)i)) return (fc_isa)i;
    return FC_ISA_GENERIC;
}

static fc_isa requested_isa(fc_isa supported) {
    const char *env = getenv("FASTCONV_ISA");
    if (env == NULL || env[0] == '\0') return supported;
    for (int i = 0; i < FC_ISA_COUNT; i++)
        if (strcmp(env, isa_names[i]) == 0 && fc_isa_available((fc_isa)i))
            return (fc_isa)i;
    return supported; /* unknown or unsupported request: the Python layer warns */
}

fc_isa fc_selected_isa(void) {
    /* A benign race: every thread computes the same value. */
    static int selected = -1;
    if (selected < 0) selected = (int)requested_isa(fc_supported_isa());
    return (fc_isa)selected;
}
