/* A pure multiply-add loop: what the FMA units reach on this machine, for benchmark reports. */
#ifndef FASTCONV_PROBE_H
#define FASTCONV_PROBE_H

#include <stdint.h>

/* Runs `iters` steps of independent float32 FMAs on each of `nthreads` threads with the SIMD
   level selected at run time (cpu.h). Returns the floating-point operations performed. */
double fc_fma_probe_f32(int64_t iters, int nthreads);

#endif
