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


ctypedef struct _Window:
    int64_t OH, OW, KH, KW, SH, SW, PT, PL


cdef _Window _window(tuple geometry) except *:
    # The kernels trust these; a bad value here is a bug in the caller, not user error.
    cdef _Window g
    g.OH, g.OW, g.KH, g.KW, g.SH, g.SW, g.PT, g.PL = geometry
    if min(g.OH, g.OW, g.KH, g.KW, g.SH, g.SW) < 1 or g.PT < 0 or g.PL < 0:
        raise ValueError(f"pool2d: invalid geometry {geometry}")
    return g


cdef tuple _shape(Py_ssize_t *shape):
    return (shape[0], shape[1], shape[2], shape[3])


cdef bint _empty(tuple shape):
    return min(shape) == 0


cdef object _output(object out, tuple shape, bint single):
    """`out` checked against the result's shape and dtype, or a new array."""
    dtype = np.float32 if single else np.float64
    if out is None:
        return np.empty(shape, dtype=dtype)
    if out.shape != shape or out.dtype != dtype:
        raise ValueError(f"pool2d: out has shape {out.shape} and dtype {out.dtype}, "
                         f"the result {shape} and {np.dtype(dtype)}")
    return out


def max_pool2d_forward(const floating[:, :, :, ::1] x, tuple geometry, int nthreads,
                       bint naive=False, out=None):
    """Max pooling of NHWC `x`; returns `out` or a new (N, OH, OW, C) array."""
    cdef _Window g = _window(geometry)
    cdef int64_t N = x.shape[0], H = x.shape[1], W = x.shape[2], C = x.shape[3]
    out_array = _output(out, (N, g.OH, g.OW, C), floating is float)
    if _empty(out_array.shape) or _empty(_shape(x.shape)):
        out_array[...] = 0
        return out_array
    cdef floating[:, :, :, ::1] y = out_array
    nthreads = max(nthreads, 1)
    with nogil:
        if naive:
            if floating is float:
                max_pool2d_forward_naive_f32(&y[0, 0, 0, 0], &x[0, 0, 0, 0], N, H, W, C,
                                             g.OH, g.OW, g.KH, g.KW, g.SH, g.SW, g.PT, g.PL)
            else:
                max_pool2d_forward_naive_f64(&y[0, 0, 0, 0], &x[0, 0, 0, 0], N, H, W, C,
                                             g.OH, g.OW, g.KH, g.KW, g.SH, g.SW, g.PT, g.PL)
        elif floating is float:
            max_pool2d_forward_f32(&y[0, 0, 0, 0], &x[0, 0, 0, 0], N, H, W, C,
                                   g.OH, g.OW, g.KH, g.KW, g.SH, g.SW, g.PT, g.PL, nthreads)
        else:
            max_pool2d_forward_f64(&y[0, 0, 0, 0], &x[0, 0, 0, 0], N, H, W, C,
                                   g.OH, g.OW, g.KH, g.KW, g.SH, g.SW, g.PT, g.PL, nthreads)
    return out_array


def avg_pool2d_forward(const floating[:, :, :, ::1] x, tuple geometry, int nthreads,
                       bint naive=False, out=None):
    """Average pooling of NHWC `x` (padding not counted); returns `out` or a new array."""
    cdef _Window g = _window(geometry)
    cdef int64_t N = x.shape[0], H = x.shape[1], W = x.shape[2], C = x.shape[3]
    out_array = _output(out, (N, g.OH, g.OW, C), floating is float)
    if _empty(out_array.shape) or _empty(_shape(x.shape)):
        out_array[...] = 0
        return out_array
    cdef floating[:, :, :, ::1] y = out_array
    nthreads = max(nthreads, 1)
    with nogil:
        if naive:
            if floating is float:
                avg_pool2d_forward_naive_f32(&y[0, 0, 0, 0], &x[0, 0, 0, 0], N, H, W, C,
                                             g.OH, g.OW, g.KH, g.KW, g.SH, g.SW, g.PT, g.PL)
            else:
                avg_pool2d_forward_naive_f64(&y[0, 0, 0, 0], &x[0, 0, 0, 0], N, H, W, C,
                                             g.OH, g.OW, g.KH, g.KW, g.SH, g.SW, g.PT, g.PL)
        elif floating is float:
            avg_pool2d_forward_f32(&y[0, 0, 0, 0], &x[0, 0, 0, 0], N, H, W, C,
                                   g.OH, g.OW, g.KH, g.KW, g.SH, g.SW, g.PT, g.PL, nthreads)
        else:
            avg_pool2d_forward_f64(&y[0, 0, 0, 0], &x[0, 0, 0, 0], N, H, W, C,
                                   g.OH, g.OW, g.KH, g.KW, g.SH, g.SW, g.PT, g.PL, nthreads)
    return out_array


cdef void _check_dy(tuple dy_shape, tuple expected) except *:
    if dy_shape != expected:
        raise ValueError(f"pool2d backward: dy.shape={dy_shape} but the output is {expected}")


def max_pool2d_backward(const floating[:, :, :, ::1] dy, const floating[:, :, :, ::1] x,
                        tuple geometry, int nthreads, bint naive=False, out=None,
                        bint relu=False):
    """Gradient of max pooling w.r.t. NHWC `x`; returns `out` or a new array shaped like `x`.

    relu: `x` is a ReLU's output; also apply that ReLU's gradient (no naive twin: tests check
    it against relu_backward of the plain gradient).
    """
    if naive and relu:
        raise ValueError("pool2d: the naive twin has no fused ReLU")
    cdef _Window g = _window(geometry)
    cdef int64_t N = x.shape[0], H = x.shape[1], W = x.shape[2], C = x.shape[3]
    _check_dy(_shape(dy.shape), (N, g.OH, g.OW, C))
    dx_array = _output(out, (N, H, W, C), floating is float)
    if _empty(dx_array.shape) or _empty(_shape(dy.shape)):
        dx_array[...] = 0
        return dx_array
    cdef floating[:, :, :, ::1] dx = dx_array
    nthreads = max(nthreads, 1)
    with nogil:
        if naive:
            if floating is float:
                max_pool2d_backward_naive_f32(&dx[0, 0, 0, 0], &dy[0, 0, 0, 0], &x[0, 0, 0, 0],
                                              N, H, W, C, g.OH, g.OW, g.KH, g.KW, g.SH, g.SW,
                                              g.PT, g.PL)
            else:
                max_pool2d_backward_naive_f64(&dx[0, 0, 0, 0], &dy[0, 0, 0, 0], &x[0, 0, 0, 0],
                                              N, H, W, C, g.OH, g.OW, g.KH, g.KW, g.SH, g.SW,
                                              g.PT, g.PL)
        elif floating is float:
            max_pool2d_backward_f32(&dx[0, 0, 0, 0], &dy[0, 0, 0, 0], &x[0, 0, 0, 0],
                                    N, H, W, C, g.OH, g.OW, g.KH, g.KW, g.SH, g.SW, g.PT, g.PL,
                                    relu, nthreads)
        else:
            max_pool2d_backward_f64(&dx[0, 0, 0, 0], &dy[0, 0, 0, 0], &x[0, 0, 0, 0],
                                    N, H, W, C, g.OH, g.OW, g.KH, g.KW, g.SH, g.SW, g.PT, g.PL,
                                    relu, nthreads)
    return dx_array


def avg_pool2d_backward(const floating[:, :, :, ::1] dy, tuple x_shape, tuple geometry,
                        int nthreads, bint naive=False, out=None):
    """Gradient of average pooling w.r.t. an NHWC input of shape `x_shape`.

    Returns `out` or a new array.
    """
    cdef _Window g = _window(geometry)
    cdef int64_t N, H, W, C
    N, H, W, C = x_shape
    _check_dy(_shape(dy.shape), (N, g.OH, g.OW, C))
    dx_array = _output(out, (N, H, W, C), floating is float)
    if _empty(dx_array.shape) or _empty(_shape(dy.shape)):
        dx_array[...] = 0
        return dx_array
    cdef floating[:, :, :, ::1] dx = dx_array
    nthreads = max(nthreads, 1)
    with nogil:
        if naive:
            if floating is float:
                avg_pool2d_backward_naive_f32(&dx[0, 0, 0, 0], &dy[0, 0, 0, 0], N, H, W, C,
                                              g.OH, g.OW, g.KH, g.KW, g.SH, g.SW, g.PT, g.PL)
            else:
                avg_pool2d_backward_naive_f64(&dx[0, 0, 0, 0], &dy[0, 0, 0, 0], N, H, W, C,
                                              g.OH, g.OW, g.KH, g.KW, g.SH, g.SW, g.PT, g.PL)
        elif floating is float:
            avg_pool2d_backward_f32(&dx[0, 0, 0, 0], &dy[0, 0, 0, 0], N, H, W, C,
                                    g.OH, g.OW, g.KH, g.KW, g.SH, g.SW, g.PT, g.PL, nthreads)
        else:
            avg_pool2d_backward_f64(&dx[0, 0, 0, 0], &dy[0, 0, 0, 0], N, H, W, C,
                                    g.OH, g.OW, g.KH, g.KW, g.SH, g.SW, g.PT, g.PL, nthreads)
    return dx_array
