"""Shared helpers for the fastconv.ops tests: tolerances, layouts, and
check_conv / check_pool, which compare an op's forward and backward against
tests/reference.py in one call.

All "ideal" data is built in float64 NHWC; a check rounds it to the dtype under
test, computes the reference in float64 from those rounded values, converts to
the data format under test, calls the op, and converts back.
"""

import os

import numpy as np
import pytest

import reference as ref

@pytest.fixture(params=["winograd", "gemm"])
def conv_kernels(request):
    """Runs a test with 3x3 stride-1 layers on Winograd's kernels, then on the GEMM kernels
    (as FASTCONV_WINOGRAD=0 would), restoring the environment's choice after."""
    from fastconv._ext import _conv

    _conv.set_winograd(request.param == "winograd")
    yield request.param
    _conv.set_winograd(os.environ.get("FASTCONV_WINOGRAD", "") != "0")


# error = max|got - ref| / max(max|ref|, 1e-30)
TOL = {np.dtype(np.float32): 2e-5, np.dtype(np.float64): 1e-11}
DTYPES = [np.float32, np.float64]
FORMATS = ["channels_last", "channels_first"]


def rel_error(got, expected):
    """max|got - expected| / max(max|expected|, 1e-30), NaNs must coincide."""
    got = np.asarray(got, dtype=np.float64)
    expected = np.asarray(expected, dtype=np.float64)
    assert got.shape == expected.shape, (got.shape, expected.shape)
    if expected.size == 0:
        return 0.0
    nan = np.isnan(expected)
    assert np.array_equal(np.isnan(got), nan), "NaN positions differ"
    if nan.all():
        return 0.0
    g, e = got[~nan], expected[~nan]
    inf = np.isinf(e)
    assert np.array_equal(g[inf], e[inf]), "infinities differ"
    g, e = g[~inf], e[~inf]
    if e.size == 0:
        return 0.0
    return float(np.max(np.abs(g - e)) / max(np.max(np.abs(e)), 1e-30))


def assert_close(got, expected, dtype, what=""):
    err = rel_error(got, expected)
    tol = TOL[np.dtype(dtype)]
    assert err <= tol, f"{what}: relative error {err:.3g} > {tol:.1g}"


def to_format(a, data_format):
    """NHWC -> the data format under test (C-contiguous)."""
    if data_format == "channels_first":
        return ref.to_channels_first(a)
    return np.ascontiguousarray(a)


def from_format(a, data_format):
    """The data format under test -> NHWC."""
    if data_format == "channels_first":
        return ref.to_channels_last(a)
    return a


def assert_new_output(out, dtype, shape, *inputs):
    """An op's output: the right dtype and shape, C-contiguous, owning no input's memory."""
    assert isinstance(out, np.ndarray), type(out)
    assert out.dtype == np.dtype(dtype), (out.dtype, dtype)
    assert out.shape == tuple(shape), (out.shape, shape)
    assert out.flags.c_contiguous
    for a in inputs:
        if isinstance(a, np.ndarray):
            assert not np.shares_memory(out, a), "output shares memory with an input"


def rounded(a, dtype):
    return None if a is None else np.asarray(a, dtype=np.float64).astype(dtype)


# ----------------------------------------------------------------------------


def check_conv(x, kernel, bias=None, dy=None, *, dtype=np.float64,
               data_format="channels_last", strides=1, padding="valid",
               dilation_rate=1, groups=1, backward=True):
    """conv2d and conv2d_backward in `dtype`/`data_format` vs the reference.

    x: (N, H, W, C) and dy: (N, OH, OW, F) in NHWC float64 (dy random if None).
    Returns the NHWC float64 reference (y, dx, dkernel, dbias).
    """
    from fastconv import ops

    dtype = np.dtype(dtype)
    xr, kr, br = rounded(x, dtype), rounded(kernel, dtype), rounded(bias, dtype)
    geometry = dict(strides=strides, padding=padding, dilation=dilation_rate,
                    groups=groups)
    y_ref = ref.conv2d_ref(xr, kr, br, **geometry)
    kwargs = dict(strides=strides, padding=padding, dilation_rate=dilation_rate,
                  groups=groups, data_format=data_format)
    x_in = to_format(xr, data_format)
    y = ops.conv2d(x_in, kr, br, **kwargs)
    assert_new_output(y, dtype, to_format(y_ref, data_format).shape, x_in, kr, br)
    assert_close(from_format(y, data_format), y_ref, dtype, "conv2d y")
    if not backward:
        return y_ref, None, None, None

    if dy is None:
        dy = np.random.default_rng(12345).standard_normal(y_ref.shape)
    dyr = rounded(dy, dtype)
    dx_ref, dk_ref, db_ref = ref.conv2d_backward_ref(dyr, xr, kr, **geometry)
    dy_in = to_format(dyr, data_format)
    dx, dk, db = ops.conv2d_backward(dy_in, x_in, kr, **kwargs)
    assert_new_output(dx, dtype, x_in.shape, dy_in, x_in, kr)
    assert_new_output(dk, dtype, kr.shape, dy_in, x_in, kr)
    assert_new_output(db, dtype, (kr.shape[3],), dy_in, x_in, kr)
    assert_close(from_format(dx, data_format), dx_ref, dtype, "conv2d dx")
    assert_close(dk, dk_ref, dtype, "conv2d dkernel")
    assert_close(db, db_ref, dtype, "conv2d dbias")
    return y_ref, dx_ref, dk_ref, db_ref


POOL_OPS = {
    "max": ("max_pool2d", "max_pool2d_backward",
            ref.max_pool2d_ref, ref.max_pool2d_backward_ref),
    "avg": ("avg_pool2d", "avg_pool2d_backward",
            ref.avg_pool2d_ref, ref.avg_pool2d_backward_ref),
}


def check_pool(kind, x, dy=None, *, pool_size=2, strides=None, padding="valid",
               dtype=np.float64, data_format="channels_last", backward=True):
    """max/avg pooling forward and backward in `dtype`/`data_format` vs the reference.

    Max pooling forward only selects values, so it must match exactly.
    """
    from fastconv import ops

    fwd_name, bwd_name, fwd_ref, bwd_ref = POOL_OPS[kind]
    dtype = np.dtype(dtype)
    xr = rounded(x, dtype)
    y_ref = fwd_ref(xr, pool_size, strides, padding)
    x_in = to_format(xr, data_format)
    kwargs = dict(pool_size=pool_size, strides=strides, padding=padding,
                  data_format=data_format)
    y = getattr(ops, fwd_name)(x_in, **kwargs)
    assert_new_output(y, dtype, to_format(y_ref, data_format).shape, x_in)
    if kind == "max":
        np.testing.assert_array_equal(from_format(y, data_format), y_ref)
    else:
        assert_close(from_format(y, data_format), y_ref, dtype, f"{fwd_name} y")
    if not backward:
        return y_ref, None

    if dy is None:
        dy = np.random.default_rng(54321).standard_normal(y_ref.shape)
    dyr = rounded(dy, dtype)
    dx_ref = bwd_ref(dyr, xr, pool_size, strides, padding)
    dy_in = to_format(dyr, data_format)
    dx = getattr(ops, bwd_name)(dy_in, x_in, **kwargs)
    assert_new_output(dx, dtype, x_in.shape, dy_in, x_in)
    assert_close(from_format(dx, data_format), dx_ref, dtype, f"{bwd_name} dx")
    return y_ref, dx_ref


# ----------------------------------------------------------------------------


def numerical_gradient(f, a, eps=1e-6):
    """Central differences of the scalar f() with respect to every element of
    the float64 array `a`, perturbed in place."""
    grad = np.zeros_like(a)
    flat, gflat = a.reshape(-1), grad.reshape(-1)
    for i in range(flat.size):
        old = flat[i]
        flat[i] = old + eps
        plus = f()
        flat[i] = old - eps
        minus = f()
        flat[i] = old
        gflat[i] = (plus - minus) / (2 * eps)
    return grad
