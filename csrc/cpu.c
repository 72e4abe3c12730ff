#include "cpu.h"

#include <stdlib.h>
#include <string.h>

#if defined(_MSC_VER) && (defined(_M_X64) || defined(_M_IX86))
#include <intrin.h>
#include <immintrin.h>
#endif

static const char *const isa_names[] = {"generic", "avx2"};

const char *fc_isa_name(fc_isa isa) { return isa_names[isa]; }

fc_isa fc_supported_isa(void) {
#if (defined(__GNUC__) || defined(__clang__)) && (defined(__x86_64__) || defined(__i386__))
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return FC_ISA_AVX2;
#elif defined(_MSC_VER) && (defined(_M_X64) || defined(_M_IX86))
    int info[4];
    __cpuid(info, 0);
    if (info[0] >= 7) {
        int has_fma, has_osxsave, has_avx2;
        __cpuid(info, 1);
        has_fma = (info[2] >> 12) & 1;
        has_osxsave = (info[2] >> 27) & 1;
        __cpuidex(info, 7, 0);
        has_avx2 = (info[1] >> 5) & 1;
        /* The OS must save the YMM registers across context switches. */
        if (has_fma && has_osxsave && has_avx2 && (_xgetbv(0) & 6) == 6) return FC_ISA_AVX2;
    }
#endif
    return FC_ISA_GENERIC;
}

static fc_isa requested_isa(fc_isa supported) {
    const char *env = getenv("FASTCONV_ISA");
    if (env == NULL || env[0] == '\0') return supported;
    for (int i = 0; i <= (int)supported; i++)
        if (strcmp(env, isa_names[i]) == 0) return (fc_isa)i;
    return supported; /* unknown or unsupported request: the Python layer warns */
}

fc_isa fc_selected_isa(void) {
    /* A benign race: every thread computes the same value. */
    static int selected = -1;
    if (selected < 0) selected = (int)requested_isa(fc_supported_isa());
    return (fc_isa)selected;
}
