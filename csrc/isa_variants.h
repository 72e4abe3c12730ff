/* One loop body, compiled once per ISA level. A kernel whose speed comes from plain loops the
   compiler vectorizes (pooling, element-wise passes) writes its body once as an always-inline
   function NAME_body and lets these macros compile it for each level (target attributes, no
   -march flags) and pick the one the shared CPU-feature detector selected. */
#ifndef FASTCONV_ISA_VARIANTS_H
#define FASTCONV_ISA_VARIANTS_H

#include "cpu.h"

#if defined(__GNUC__)
#define FC_INLINE static inline __attribute__((always_inline))
#elif defined(_MSC_VER)
#define FC_INLINE static __forceinline
#else
#define FC_INLINE static inline
#endif

/* Loops have no tile geometry: the test levels run the loops of the level they stand for. */
static inline fc_isa fc_loop_isa(void) {
    const fc_isa isa = fc_selected_isa();
    return isa == FC_ISA_GENERIC512 ? FC_ISA_GENERIC : isa == FC_ISA_AVX512EMU ? FC_ISA_AVX2 : isa;
}

/* Defines static void NAME_avx512/NAME_avx2/NAME_generic params, each calling NAME_body args.
   NAME may itself be a macro call (it is expanded before pasting). */
#define FC_ISA_VARIANTS(NAME, params, args) FC_ISA_VARIANTS_(NAME, params, args)
#define FC_ISA_PICK(NAME) FC_ISA_PICK_(NAME)
#if defined(__GNUC__) && defined(FC_HAVE_X86)
#define FC_ISA_VARIANTS_(NAME, params, args)                                                       \
    static FC_TARGET_AVX512 void NAME##_avx512 params { NAME##_body args; }                       \
    static FC_TARGET_AVX2 void NAME##_avx2 params { NAME##_body args; }                           \
    static void NAME##_generic params { NAME##_body args; }
#define FC_ISA_PICK_(NAME)                                                                         \
    (fc_loop_isa() == FC_ISA_AVX512 ? NAME##_avx512                                                \
     : fc_loop_isa() == FC_ISA_AVX2 ? NAME##_avx2                                                  \
                                    : NAME##_generic)
#else /* one build: the baseline of the target (on aarch64 that is NEON) */
#define FC_ISA_VARIANTS_(NAME, params, args)                                                       \
    static void NAME##_generic params { NAME##_body args; }
#define FC_ISA_PICK_(NAME) NAME##_generic
#endif

#endif
