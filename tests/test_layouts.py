"""Odd memory layouts give exactly the results of the contiguous case.

Every op argument array (x, kernel, bias, dy) is passed as a non-contiguous
view, a negative-stride view, a Fortran-ordered copy, a read-only array, an
unaligned array, a byte-swapped array, and a nested Python list.
"""

import numpy as np
import pytest

from fastconv import ops


def strided_view(a):
    """Same values, every axis strided by 2 (non-contiguous)."""
    big = np.zeros(tuple(2 * s for s in a.shape), dtype=a.dtype)
    view = big[tuple(slice(None, None, 2) for _ in a.shape)]
    view[...] = a
    return view


def reversed_view(a):
    """Same values, every axis with a negative stride."""
    flipped = np.ascontiguousarray(a[tuple(slice(None, None, -1) for _ in a.shape)])
    return flipped[tuple(slice(None, None, -1) for _ in a.shape)]


def fortran(a):
    return np.asfortranarray(a)


def readonly(a):
    b = a.copy()
    b.flags.writeable = False
    return b


def unaligned(a):
    buf = np.zeros(a.nbytes + 1, dtype=np.uint8)
    b = buf[1:].view(a.dtype).reshape(a.shape)
    b[...] = a
    assert not b.flags.aligned or a.dtype.alignment == 1
    return b


def byteswapped(a):
    b = a.astype(a.dtype.newbyteorder(">" if a.dtype.byteorder != ">" else "<"))
    if np.little_endian:
        assert not b.dtype.isnative
    return b


def channel_slice(a):
    """Same values, a view into a wider array along the last axis."""
    big = np.zeros(a.shape[:-1] + (a.shape[-1] + 3,), dtype=a.dtype)
    big[..., 1:1 + a.shape[-1]] = a
    return big[..., 1:1 + a.shape[-1]]


LAYOUTS = {
    "strided": strided_view,
    "channel_slice": channel_slice,
    "negative_strides": reversed_view,
    "fortran": fortran,
    "readonly": readonly,
    "unaligned": unaligned,
    "byteswapped": byteswapped,
}


def _rand(shape, dtype, seed):
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


def _conv_args(dtype, data_format):
    x_shape = (2, 5, 6, 4) if data_format == "channels_last" else (2, 4, 5, 6)
    x = _rand(x_shape, dtype, 1)
    k = _rand((3, 2, 2, 4), dtype, 2)
    b = _rand((4,), dtype, 3)
    kw = dict(strides=(2, 1), padding="same", dilation_rate=(1, 2), groups=2,
              data_format=data_format)
    dy = _rand(ops.conv2d(x, k, b, **kw).shape, dtype, 4)
    return x, k, b, dy, kw


def _assert_same(got, expected):
    assert isinstance(got, np.ndarray)
    assert got.dtype == expected.dtype and got.dtype.isnative
    assert got.flags.c_contiguous
    np.testing.assert_array_equal(got, expected)


@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
@pytest.mark.parametrize("layout", list(LAYOUTS))
@pytest.mark.parametrize("arg", ["x", "kernel", "bias", "dy", "all"])
def test_conv2d_layouts(arg, layout, dtype, data_format):
    x, k, b, dy, kw = _conv_args(dtype, data_format)
    y_ref = ops.conv2d(x, k, b, **kw)
    grads_ref = ops.conv2d_backward(dy, x, k, **kw)
    original = dict(x=x, kernel=k, bias=b, dy=dy)
    args = dict(original)
    for name in args:
        if arg in (name, "all"):
            args[name] = LAYOUTS[layout](original[name])
            np.testing.assert_array_equal(args[name], original[name])
    y = ops.conv2d(args["x"], args["kernel"], args["bias"], **kw)
    _assert_same(y, y_ref)
    grads = ops.conv2d_backward(args["dy"], args["x"], args["kernel"], **kw)
    for got, expected in zip(grads, grads_ref):
        _assert_same(got, expected)


@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
@pytest.mark.parametrize("layout", list(LAYOUTS))
@pytest.mark.parametrize("kind", ["max", "avg"])
@pytest.mark.parametrize("arg", ["x", "dy", "all"])
def test_pool_layouts(arg, kind, layout, data_format):
    fwd, bwd = getattr(ops, f"{kind}_pool2d"), getattr(ops, f"{kind}_pool2d_backward")
    kw = dict(pool_size=(3, 2), strides=(2, 1), padding="same", data_format=data_format)
    x = _rand((2, 5, 6, 3), np.float32, 5)
    y_ref = fwd(x, **kw)
    dy = _rand(y_ref.shape, np.float32, 6)
    dx_ref = bwd(dy, x, **kw)
    xa = LAYOUTS[layout](x) if arg in ("x", "all") else x
    dya = LAYOUTS[layout](dy) if arg in ("dy", "all") else dy
    np.testing.assert_array_equal(xa, x)
    np.testing.assert_array_equal(dya, dy)
    _assert_same(fwd(xa, **kw), y_ref)
    _assert_same(bwd(dya, xa, **kw), dx_ref)


@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
def test_conv2d_python_lists(data_format):
    x, k, b, dy, kw = _conv_args(np.float64, data_format)
    y_ref = ops.conv2d(x, k, b, **kw)
    _assert_same(ops.conv2d(x.tolist(), k.tolist(), b.tolist(), **kw), y_ref)
    grads = ops.conv2d_backward(dy.tolist(), x.tolist(), k.tolist(), **kw)
    for got, expected in zip(grads, ops.conv2d_backward(dy, x, k, **kw)):
        _assert_same(got, expected)


@pytest.mark.parametrize("kind", ["max", "avg"])
def test_pool_python_lists(kind):
    fwd, bwd = getattr(ops, f"{kind}_pool2d"), getattr(ops, f"{kind}_pool2d_backward")
    x = _rand((1, 4, 5, 2), np.float64, 7)
    y = fwd(x, 2, 1)
    dy = _rand(y.shape, np.float64, 8)
    _assert_same(fwd(x.tolist(), 2, 1), y)
    _assert_same(bwd(dy.tolist(), x.tolist(), 2, 1), bwd(dy, x, 2, 1))


def test_inputs_are_not_modified():
    x, k, b, dy, kw = _conv_args(np.float32, "channels_last")
    saved = [a.copy() for a in (x, k, b, dy)]
    ops.conv2d(x, k, b, **kw)
    ops.conv2d_backward(dy, x, k, **kw)
    for kind in ("max", "avg"):
        y = getattr(ops, f"{kind}_pool2d")(x, 2, 1, "same")
        getattr(ops, f"{kind}_pool2d_backward")(y, x, 2, 1, "same")
    for a, s in zip((x, k, b, dy), saved):
        np.testing.assert_array_equal(a, s)
