/* Instantiates the implementation file named by FC_ISA_IMPL (a string) once per ISA level the
   build can target, with ISA (the name suffix), TARGET (the function attribute enabling it) and
   VBYTES (its vector width in bytes) defined for each. The caller defines the type (T, SFX). */
#define ISA generic
#define TARGET
#define VBYTES 16
#include FC_ISA_IMPL
#undef ISA
#undef TARGET
#undef VBYTES
#ifdef FC_HAVE_X86
#define ISA avx2
#define TARGET FC_TARGET_AVX2
#define VBYTES 32
#include FC_ISA_IMPL
#undef ISA
#undef TARGET
#undef VBYTES
#define ISA avx512
#define TARGET FC_TARGET_AVX512
#define VBYTES 64
#include FC_ISA_IMPL
#undef ISA
#undef TARGET
#undef VBYTES
#endif
