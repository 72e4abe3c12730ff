/* Streaming stores: an output too large for the caches is read back from memory anyway, and a
   plain store first reads each of its lines (AMD Zen 3: 10-40 MB written at 1.5-1.85x the
   bandwidth of plain stores, and at 0.6-1.0x under 1 MB). The kernels that stream decide with
   fc_stream_conv_output and end each thread's stores with a fence (fc_stream_fence): streaming
   stores are weakly ordered, and must be done before the threads join. */
#ifndef FASTCONV_STREAM_STORE_H
#define FASTCONV_STREAM_STORE_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "conv2d.h"
#include "cpu.h"

#ifdef FC_HAVE_X86
#include <immintrin.h>
#endif

/* The bytes of a call's input and output, per thread running it, from which its output is
   streamed. A plain store first reads its line, and one core keeps few such reads in flight (a
   one-thread NumPy copy on AMD Zen 3 runs at 27-29 GB/s up to 4 MiB and at 8 GB/s from 8 MiB
   on); two cores together write a mid-sized output into the shared 32 MiB L3 faster than to
   memory, and leave it there for the next layer. Measured on AMD Zen 3 (2026-12-03; each
   setting's samples after an untimed call of its own, so that neither pays the other's
   write-backs), calls of 11-18 MiB: at 1 thread streaming gained 1.15-1.39x in one run and was
   a toss-up in the other (0.85-1.22x); at 2 threads plain stores gained 1.02-1.36x in 13 of 15
   cases (two runs). From 20 MiB streaming gains at both (1.05-1.51x). Tuned on 2 cores of one
   Zen 3. */
#define FC_STREAM_BYTES_PER_THREAD ((size_t)10 << 20)

/* The bytes of a convolution's input and output (values of `size` bytes). */
static inline size_t fc_conv_call_bytes(const fc_conv2d_dims *d, size_t size) {
    return (size_t)(d->N * d->H * d->W * d->C + d->N * d->OH * d->OW * d->OC) * size;
}

/* Whether a convolution could stream its output, on one thread: what sizes a kernel's buffers
   for streaming, which must not depend on the thread count (the kernels lower it for small
   calls, after the workspace is sized). */
static inline int fc_stream_conv_large(const fc_conv2d_dims *d, size_t size) {
    return fc_conv_call_bytes(d, size) >= FC_STREAM_BYTES_PER_THREAD;
}

/* Whether a convolution run on `nthreads` threads writes its output `out` with streaming
   stores: a large call whose `out` starts on 64 bytes and whose pixels' channels are whole
   cache lines. */
static inline int fc_stream_conv_output(const void *out, const fc_conv2d_dims *d, size_t size,
                                        int nthreads) {
#ifndef _OPENMP
    nthreads = 1; /* the kernels run on the calling thread only */
#endif
    return (uintptr_t)out % 64 == 0 && (size_t)d->OC * size % 64 == 0 &&
           fc_conv_call_bytes(d, size) >= FC_STREAM_BYTES_PER_THREAD * (size_t)nthreads;
}

/* Orders a thread's streaming stores before its later stores (a no-op where nothing streams). */
static inline void fc_stream_fence(void) {
#ifdef FC_HAVE_X86
    _mm_sfence();
#endif
}

/* NAME##ISA for the level a kernel file is compiled at (ISA: a macro such as avx2). */
#define FC_STREAM_AT_(name, isa) name##isa
#define FC_STREAM_AT(name, isa) FC_STREAM_AT_(name, isa)

/* Copies `bytes` (a multiple of 64) to a 64-byte aligned dst, once per level. The generic level
   has no streaming store on every target: it copies plainly, and its kernels never stream. */
#define FC_STREAMS_generic 0
static inline void fc_stream_copy_generic(void *dst, const void *src, size_t bytes) {
    memcpy(dst, src, bytes);
}
#ifdef FC_HAVE_X86
#define FC_STREAMS_avx2 1
static FC_TARGET_AVX2 inline void fc_stream_copy_avx2(void *dst, const void *src, size_t bytes) {
    for (size_t i = 0; i < bytes; i += 32)
        _mm256_stream_si256((__m256i *)((char *)dst + i),
                            _mm256_loadu_si256((const __m256i *)((const char *)src + i)));
}
#define FC_STREAMS_avx512 1
static FC_TARGET_AVX512 inline void fc_stream_copy_avx512(void *dst, const void *src,
                                                          size_t bytes) {
    for (size_t i = 0; i < bytes; i += 64)
        _mm512_stream_si512((__m512i *)((char *)dst + i),
                            _mm512_loadu_si512((const void *)((const char *)src + i)));
}
#endif

#endif
