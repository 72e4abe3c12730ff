#include "probe.h"

#include "cpu.h"

#ifdef _OPENMP
#include <omp.h>
#endif
#if defined(__x86_64__) || defined(_M_X64)
#include <immintrin.h>
#endif

/* Ten independent accumulators hide the FMA latency (4-5 cycles) on two pipes. */
#define ACCUMULATORS 10

static double probe_generic(int64_t iters) {
    float acc[ACCUMULATORS][8] = {{0}}, a = 1.0000001f, b = 1e-7f;
    for (int64_t i = 0; i < iters; i++)
        for (int r = 0; r < ACCUMULATORS; r++)
            for (int j = 0; j < 8; j++) acc[r][j] = acc[r][j] * a + b;
    volatile float sink = acc[0][0];
    (void)sink;
    return 2.0 * 8 * ACCUMULATORS * (double)iters;
}

#if (defined(__x86_64__) || defined(_M_X64))
#if defined(__GNUC__) || defined(__clang__)
__attribute__((target("avx2,fma")))
#endif
static double probe_avx2(int64_t iters) {
    __m256 acc[ACCUMULATORS];
    const __m256 a = _mm256_set1_ps(1.0000001f), b = _mm256_set1_ps(1e-7f);
    for (int r = 0; r < ACCUMULATORS; r++) acc[r] = _mm256_setzero_ps();
    for (int64_t i = 0; i < iters; i++)
        for (int r = 0; r < ACCUMULATORS; r++) acc[r] = _mm256_fmadd_ps(acc[r], a, b);
    __m256 sum = acc[0];
    for (int r = 1; r < ACCUMULATORS; r++) sum = _mm256_add_ps(sum, acc[r]);
    volatile float sink = _mm256_cvtss_f32(sum);
    (void)sink;
    return 2.0 * 8 * ACCUMULATORS * (double)iters;
}

#if defined(__GNUC__) || defined(__clang__)
__attribute__((target("avx512f")))
#endif
static double probe_avx512(int64_t iters) {
    __m512 acc[ACCUMULATORS];
    const __m512 a = _mm512_set1_ps(1.0000001f), b = _mm512_set1_ps(1e-7f);
    for (int r = 0; r < ACCUMULATORS; r++) acc[r] = _mm512_setzero_ps();
    for (int64_t i = 0; i < iters; i++)
        for (int r = 0; r < ACCUMULATORS; r++) acc[r] = _mm512_fmadd_ps(acc[r], a, b);
    __m512 sum = acc[0];
    for (int r = 1; r < ACCUMULATORS; r++) sum = _mm512_add_ps(sum, acc[r]);
    volatile float sink = _mm512_reduce_add_ps(sum);
    (void)sink;
    return 2.0 * 16 * ACCUMULATORS * (double)iters;
}
#endif

/* The widest FMA the selected kernels use. */
static double probe(int64_t iters) {
#if (defined(__x86_64__) || defined(_M_X64))
    switch (fc_selected_isa()) {
    case FC_ISA_AVX512:
        return probe_avx512(iters);
    case FC_ISA_AVX2:
        return probe_avx2(iters);
    default:
        break;
    }
#endif
    return probe_generic(iters);
}

double fc_fma_probe_f32(int64_t iters, int nthreads) {
    double flops = 0;
    (void)nthreads;
#ifdef _OPENMP
#pragma omp parallel num_threads(nthreads) reduction(+ : flops)
#endif
    {
        flops += probe(iters);
    }
    return flops;
}
