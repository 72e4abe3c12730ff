# Private wrapper of csrc/pool2d.h.
# Callers (fastconv/ops/pool2d.py) validate arguments and normalize the geometry; this layer
# checks what the C kernels assume about buffer shapes, allocates the outputs (or checks the
# caller's `out`), and calls the kernels without the GIL. `geometry` is always (OH, OW, KH, KW, SH, SW, PT, PL).
# `naive=True` runs the plain-loop twins (the in-C oracle the tests compare against).
import numpy as np

from libc.stdint cimport int64_t
from cython cimport floating

cdef extern from "pool2d.h":
    void max_pool2d_forward_f32(float *out, const float *inp, int64_t N, int64_t H, int64_t W,
                                int64_t C, int64_t OH, int64_t OW, int64_t KH, int64_t KW,
                                int64_t SH, int64_t SW, int64_t PT, int64_t PL,
                                int nthreads) nogil
    void max_pool2d_forward_f64(double *out, const double *inp, int64_t N, int64_t H, int64_t W,
                                int64_t C, int64_t OH, int64_t OW, int64_t KH, int64_t KW,
                                int64_t SH, int64_t SW, int64_t PT, int64_t PL,
                                int nthreads) nogil
    void max_pool2d_backward_f32(float *dinp, const float *dout, const float *inp, int64_t N,
                                 int64_t H, int64_t W, int64_t C, int64_t OH, int64_t OW,
                                 int64_t KH, int64_t KW, int64_t SH, int64_t SW, int64_t PT,
                                 int64_t PL, int relu, int nthreads) nogil
    void max_pool2d_backward_f64(double *dinp, const double *dout, const double *inp, int64_t N,
                                 int64_t H, int64_t W, int64_t C, int64_t OH, int64_t OW,
                                 int64_t KH, int64_t KW, int64_t SH, int64_t SW, int64_t PT,
                                 int64_t PL, int relu, int nthreads) nogil
    void avg_pool2d_forward_f32(float *out, const float *inp, int64_t N, int64_t H, int64_t W,
                                int64_t C, int64_t OH, int64_t OW, int64_t KH, int64_t KW,
                                int64_t SH, int64_t SW, int64_t PT, int64_t PL,
                                int nthreads) nogil
    void avg_pool2d_forward_f64(double *out, const double *inp, int64_t N, int64_t H, int64_t W,
                                int64_t C, int64_t OH, int64_t OW, int64_t KH, int64_t KW,
                                int64_t SH, int64_t SW, int64_t PT, int64_t PL,
                                int nthreads) nogil
    void avg_pool2d_backward_f32(float *dinp, const float *dout, int64_t N, int64_t H, int64_t W,
                                 int64_t C, int64_t OH, int64_t OW, int64_t KH, int64_t KW,
                                 int64_t SH, int64_t SW, int64_t PT, int64_t PL,
                                 int nthreads) nogil
    void avg_pool2d_backward_f64(double *dinp, const double *dout, int64_t N, int64_t H,
                                 int64_t W, int64_t C, int64_t OH, int64_t OW, int64_t KH,
                                 int64_t KW, int64_t SH, int64_t SW, int64_t PT, int64_t PL,
                                 int nthreads) nogil
    void max_pool2d_forward_naive_f32(float *out, const float *inp, int64_t N, int64_t H,
                                      int64_t W, int64_t C, int64_t OH, int64_t OW, int64_t KH,
                                      int64_t KW, int64_t SH, int64_t SW, int64_t PT,
                                      int64_t PL) nogil
    void max_pool2d_forward_naive_f64(double *out, const double *inp, int64_t N, int64_t H,
                                      int64_t W, int64_t C, int64_t OH, int64_t OW, int64_t KH,
                                      int64_t KW, int64_t SH, int64_t SW, int64_t PT,
                                      int64_t PL) nogil
    void max_pool2d_backward_naive_f32(float *dinp, const float *dout, const float *inp,
                                       int64_t N, int64_t H, int64_t W, int64_t C, int64_t OH,
                                       int64_t OW, int64_t KH, int64_t KW, int64_t SH,
                                       int64_t SW, int64_t PT, int64_t PL) nogil
    void max_pool2d_backward_naive_f64(double *dinp, const double *dout, const double *inp,
                                       int64_t N, int64_t H, int64_t W, int64_t C, int64_t OH,
                                       int64_t OW, int64_t KH, int64_t KW, int64_t SH,
                                       int64_t SW, int64_t PT, int64_t PL) nogil
    void avg_pool2d_forward_naive_f32(float *out, const float *inp, int64_t N, int64_t H,
                                      int64_t W, int64_t C, int64_t OH, int64_t OW, int64_t KH,
                                      int64_t KW, int64_t SH, int64_t SW, int64_t PT,
                                      int64_t PL) nogil
    void avg_pool2d_forward_naive_f64(double *out, const double *inp, int64_t N, int64_t H,
                                      int64_t W, int64_t C, int64_t OH, int64_t OW, int64_t KH,
                                      int64_t KW, int64_t SH, int64_t SW, int64_t PT,
                                      int64_t PL) nogil
    void avg_pool2d_backward_naive_f32(float *dinp, const float *dout, int64_t N, int64_t H,
                                       int64_t W, int64_t C, int64_t OH, int64_t OW, int64_t KH,
                                       int64_t KW, int64_t SH, int64_t SW, int64_t PT,
                                       int64_t PL) nogil
    void avg_pool2d_backward_naive_f64(double *dinp, const double *dout, int64_t N, int64_t H,
                                       int64_t W, int64_t C, int64_t OH, int64_t OW, int64_t KH,
                                       int64_t KW, int64_t SH, int64_t SW, int64_t PT,
                                       int64_t PL) nogil
    const char *pool2d_simd_level()


def simd_level():
    """The ISA level the pooling kernels run ("avx512", "avx2", "neon" or "generic")."""
    return pool2d_simd_level().decode()


ctypedef struct _Dims:  # the NHWC input and the window, as every kernel takes them
    int64_t N, H, W, C, OH, OW, KH, KW, SH, SW, PT, PL


cdef _Dims _dims(tuple x_shape, tuple geometry) except *:
    # The kernels trust these; a bad value here is a bug in the caller, not user error.
    cdef _Dims d
    d.N, d.H, d.W, d.C = x_shape
    d.OH, d.OW, d.KH, d.KW, d.SH, d.SW, d.PT, d.PL = geometry
    if min(d.OH, d.OW, d.KH, d.KW, d.SH, d.SW) < 1 or d.PT < 0 or d.PL < 0:
        raise ValueError(f"pool2d: invalid geometry {geometry}")
    return d


# ---------------------------------------------------------------------------------------------
# The dispatch: one binding per pass maps (max or average, dtype, naive) to its C kernel. The
# fused type picks the _f32 or _f64 symbol at compile time, `naive` the plain-loop twin (the
# in-C oracle of the tests) at run time. The Python-facing functions are each written once.

cdef void _pool_forward(bint is_max, floating *out, const floating *x, const _Dims *d,
                        int nthreads, bint naive) noexcept nogil:
    if floating is float:
        if is_max and naive:
            max_pool2d_forward_naive_f32(out, x, d.N, d.H, d.W, d.C, d.OH, d.OW, d.KH, d.KW,
                                         d.SH, d.SW, d.PT, d.PL)
        elif is_max:
            max_pool2d_forward_f32(out, x, d.N, d.H, d.W, d.C, d.OH, d.OW, d.KH, d.KW,
                                   d.SH, d.SW, d.PT, d.PL, nthreads)
        elif naive:
            avg_pool2d_forward_naive_f32(out, x, d.N, d.H, d.W, d.C, d.OH, d.OW, d.KH, d.KW,
                                         d.SH, d.SW, d.PT, d.PL)
        else:
            avg_pool2d_forward_f32(out, x, d.N, d.H, d.W, d.C, d.OH, d.OW, d.KH, d.KW,
                                   d.SH, d.SW, d.PT, d.PL, nthreads)
    else:
        if is_max and naive:
            max_pool2d_forward_naive_f64(out, x, d.N, d.H, d.W, d.C, d.OH, d.OW, d.KH, d.KW,
                                         d.SH, d.SW, d.PT, d.PL)
        elif is_max:
            max_pool2d_forward_f64(out, x, d.N, d.H, d.W, d.C, d.OH, d.OW, d.KH, d.KW,
                                   d.SH, d.SW, d.PT, d.PL, nthreads)
        elif naive:
            avg_pool2d_forward_naive_f64(out, x, d.N, d.H, d.W, d.C, d.OH, d.OW, d.KH, d.KW,
                                         d.SH, d.SW, d.PT, d.PL)
        else:
            avg_pool2d_forward_f64(out, x, d.N, d.H, d.W, d.C, d.OH, d.OW, d.KH, d.KW,
                                   d.SH, d.SW, d.PT, d.PL, nthreads)


cdef void _pool_backward(bint is_max, floating *dx, const floating *dy, const floating *x,
                         const _Dims *d, bint relu, int nthreads, bint naive) noexcept nogil:
    # `x` is read by max pooling only; `relu` (max, fast kernel) is refused for the rest above.
    if floating is float:
        if is_max and naive:
            max_pool2d_backward_naive_f32(dx, dy, x, d.N, d.H, d.W, d.C, d.OH, d.OW, d.KH, d.KW,
                                          d.SH, d.SW, d.PT, d.PL)
        elif is_max:
            max_pool2d_backward_f32(dx, dy, x, d.N, d.H, d.W, d.C, d.OH, d.OW, d.KH, d.KW,
                                    d.SH, d.SW, d.PT, d.PL, relu, nthreads)
        elif naive:
            avg_pool2d_backward_naive_f32(dx, dy, d.N, d.H, d.W, d.C, d.OH, d.OW, d.KH, d.KW,
                                          d.SH, d.SW, d.PT, d.PL)
        else:
            avg_pool2d_backward_f32(dx, dy, d.N, d.H, d.W, d.C, d.OH, d.OW, d.KH, d.KW,
                                    d.SH, d.SW, d.PT, d.PL, nthreads)
    else:
        if is_max and naive:
            max_pool2d_backward_naive_f64(dx, dy, x, d.N, d.H, d.W, d.C, d.OH, d.OW, d.KH, d.KW,
                                          d.SH, d.SW, d.PT, d.PL)
        elif is_max:
            max_pool2d_backward_f64(dx, dy, x, d.N, d.H, d.W, d.C, d.OH, d.OW, d.KH, d.KW,
                                    d.SH, d.SW, d.PT, d.PL, relu, nthreads)
        elif naive:
            avg_pool2d_backward_naive_f64(dx, dy, d.N, d.H, d.W, d.C, d.OH, d.OW, d.KH, d.KW,
                                          d.SH, d.SW, d.PT, d.PL)
        else:
            avg_pool2d_backward_f64(dx, dy, d.N, d.H, d.W, d.C, d.OH, d.OW, d.KH, d.KW,
                                    d.SH, d.SW, d.PT, d.PL, nthreads)


# ---------------------------------------------------------------------------------------------
# The Python-facing functions.

cdef tuple _shape(Py_ssize_t *shape):
    return (shape[0], shape[1], shape[2], shape[3])


cdef object _output(object out, tuple shape, bint single):
    """`out` checked against the result's shape and dtype, or a new array."""
    dtype = np.float32 if single else np.float64
    if out is None:
        return np.empty(shape, dtype=dtype)
    if out.shape != shape or out.dtype != dtype:
        raise ValueError(f"pool2d: out has shape {out.shape} and dtype {out.dtype}, "
                         f"the result {shape} and {np.dtype(dtype)}")
    return out


cdef object _forward(bint is_max, const floating[:, :, :, ::1] x, tuple geometry, int nthreads,
                     bint naive, out):
    cdef _Dims d = _dims(_shape(x.shape), geometry)
    out_array = _output(out, (d.N, d.OH, d.OW, d.C), floating is float)
    if min(d.N, d.H, d.W, d.C) == 0:
        out_array[...] = 0
        return out_array
    cdef floating[:, :, :, ::1] y = out_array
    with nogil:
        _pool_forward(is_max, &y[0, 0, 0, 0], &x[0, 0, 0, 0], &d, max(nthreads, 1), naive)
    return out_array


cdef object _backward(bint is_max, const floating[:, :, :, ::1] dy, const floating *x,
                      tuple x_shape, tuple geometry, int nthreads, bint naive, out, bint relu):
    # `x`: max pooling's input, NULL for average pooling (which reads only `x_shape`)
    cdef _Dims d = _dims(x_shape, geometry)
    if _shape(dy.shape) != (d.N, d.OH, d.OW, d.C):
        raise ValueError(f"pool2d backward: dy.shape={_shape(dy.shape)} but the output is "
                         f"{(d.N, d.OH, d.OW, d.C)}")
    dx_array = _output(out, x_shape, floating is float)
    if min(d.N, d.H, d.W, d.C) == 0:
        dx_array[...] = 0
        return dx_array
    cdef floating[:, :, :, ::1] dx = dx_array
    with nogil:
        _pool_backward(is_max, &dx[0, 0, 0, 0], &dy[0, 0, 0, 0], x, &d, relu, max(nthreads, 1),
                       naive)
    return dx_array


def max_pool2d_forward(const floating[:, :, :, ::1] x, tuple geometry, int nthreads,
                       bint naive=False, out=None):
    """Max pooling of NHWC `x`; returns `out` or a new (N, OH, OW, C) array."""
    return _forward(True, x, geometry, nthreads, naive, out)


def avg_pool2d_forward(const floating[:, :, :, ::1] x, tuple geometry, int nthreads,
                       bint naive=False, out=None):
    """Average pooling of NHWC `x` (padding not counted); returns `out` or a new array."""
    return _forward(False, x, geometry, nthreads, naive, out)


def max_pool2d_backward(const floating[:, :, :, ::1] dy, const floating[:, :, :, ::1] x,
                        tuple geometry, int nthreads, bint naive=False, out=None,
                        bint relu=False):
    """Gradient of max pooling w.r.t. NHWC `x`; returns `out` or a new array shaped like `x`.

    relu: `x` is a ReLU's output; also apply that ReLU's gradient (no naive twin: tests check
    it against relu_backward of the plain gradient).
    """
    if naive and relu:
        raise ValueError("pool2d: the naive twin has no fused ReLU")
    cdef const floating *px = &x[0, 0, 0, 0] if x.size else NULL  # empty: never read
    return _backward(True, dy, px, _shape(x.shape), geometry, nthreads, naive, out, relu)


def avg_pool2d_backward(const floating[:, :, :, ::1] dy, tuple x_shape, tuple geometry,
                        int nthreads, bint naive=False, out=None):
    """Gradient of average pooling w.r.t. an NHWC input of shape `x_shape`.

    Returns `out` or a new array.
    """
    cdef const floating *no_x = NULL
    return _backward(False, dy, no_x, tuple(x_shape), geometry, nthreads, naive, out, False)
