/* Test-only: the NEON micro-kernels compiled for x86 through SIMDe (gemm_kernels_neonemu.c),
   exported as the ISA "neonemu" so any x86 machine with AVX2 + FMA can test their source bit for
   bit against the AVX2 kernels. Same contract as the kernels in gemm.h. */
#ifndef FASTCONV_GEMM_KERNELS_NEONEMU_H
#define FASTCONV_GEMM_KERNELS_NEONEMU_H

#include "gemm.h"

void fc_ukr_neonemu_f32(int64_t kc, const float *a, const float *b, float *c, int64_t ldc,
                        int flags, const float *bias);
void fc_ukr_neonemu_f64(int64_t kc, const double *a, const double *b, double *c, int64_t ldc,
                        int flags, const double *bias);
void fc_ukri_neonemu_f32(int64_t nruns, const float *const *rows, const int64_t *lens,
                         const float *b, float *c, int64_t ldc, int flags, const float *bias);
void fc_ukri_neonemu_f64(int64_t nruns, const double *const *rows, const int64_t *lens,
                         const double *b, double *c, int64_t ldc, int flags, const double *bias);

#endif
