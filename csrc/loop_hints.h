/* Hints for the loops the compiler vectorizes in the kernel bodies included once per ISA level
   (conv2d_direct_impl.h, conv2d_first_layer_impl.h, conv2d_depthwise_impl.h); each is a no-op
   where the compiler has no such hint. */
#ifndef FASTCONV_LOOP_HINTS_H
#define FASTCONV_LOOP_HINTS_H

#if defined(__GNUC__) || defined(__clang__)
/* Vectorize this loop (along the channels), not an outer one. */
#define FC_SIMD _Pragma("omp simd")
#define FC_PREFETCH(p) __builtin_prefetch(p)
#define FC_ALWAYS_INLINE inline __attribute__((always_inline))
#define FC_NOINLINE __attribute__((noinline))
#else
#define FC_SIMD
#define FC_PREFETCH(p) ((void)(p))
#define FC_ALWAYS_INLINE inline
#define FC_NOINLINE
#endif

/* Unroll this loop fully: its accumulators then stay in registers. */
#if defined(__clang__)
#define FC_UNROLL _Pragma("unroll")
#elif defined(__GNUC__)
#define FC_UNROLL _Pragma("GCC unroll 16")
#else
#define FC_UNROLL
#endif

#endif
