/* Run-time choice of the SIMD instruction set the kernels use. */
#ifndef FASTCONV_CPU_H
#define FASTCONV_CPU_H

typedef enum { FC_ISA_GENERIC = 0, FC_ISA_AVX2 = 1 } fc_isa;

/* Best ISA this CPU supports, lowered by the environment variable
   FASTCONV_ISA=generic|avx2 when set. Decided once, on the first call. */
fc_isa fc_selected_isa(void);

/* Best ISA this CPU supports, ignoring FASTCONV_ISA. */
fc_isa fc_supported_isa(void);

const char *fc_isa_name(fc_isa isa);

#endif
