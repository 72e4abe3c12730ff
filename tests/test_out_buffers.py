"""`out=` on conv2d, conv2d_backward and the pooling ops: the result lands in the caller's array.

Each `out` starts filled with NaN so an element the kernel forgets to write shows up; the result
must equal, bit for bit, the allocating call (which the reference tests check against float64).
"""
import numpy as np
import pytest

from fastconv import ops

CONV = dict(strides=1, padding="same")
POOL = dict(pool_size=2, padding="same")


def nan_like(array):
    return np.full_like(array, np.nan)


@pytest.fixture(params=[np.float32, np.float64], ids=["f32", "f64"])
def data(request):
    dtype = request.param
    rng = np.random.default_rng(11)
    x = rng.standard_normal((3, 7, 6, 4)).astype(dtype)
    kernel = rng.standard_normal((3, 3, 4, 5)).astype(dtype)
    bias = rng.standard_normal(5).astype(dtype)
    dy = rng.standard_normal((3, 7, 6, 5)).astype(dtype)
    return x, kernel, bias, dy


def test_conv2d_writes_into_out(data):
    x, kernel, bias, _ = data
    want = ops.conv2d(x, kernel, bias, activation="relu", **CONV)
    out = nan_like(want)
    assert ops.conv2d(x, kernel, bias, activation="relu", out=out, **CONV) is out
    np.testing.assert_array_equal(out, want)


@pytest.mark.parametrize("compute_dx", [True, False])
def test_conv2d_backward_writes_each_given_out(data, compute_dx):
    x, kernel, _, dy = data
    want = ops.conv2d_backward(dy, x, kernel, compute_dx=compute_dx, **CONV)
    outs = (nan_like(x) if compute_dx else None, nan_like(kernel), nan_like(kernel[0, 0, 0]))
    got = ops.conv2d_backward(dy, x, kernel, compute_dx=compute_dx, out=outs, **CONV)
    for given, result, expected in zip(outs, got, want):
        if expected is None:
            assert result is None
            continue
        assert result is given
        np.testing.assert_array_equal(result, expected)


def test_conv2d_backward_out_entries_may_be_none(data):
    x, kernel, _, dy = data
    dkernel = nan_like(kernel)
    dx, got_dkernel, dbias = ops.conv2d_backward(dy, x, kernel, out=(None, dkernel, None), **CONV)
    want = ops.conv2d_backward(dy, x, kernel, **CONV)
    assert got_dkernel is dkernel
    for result, expected in zip((dx, dkernel, dbias), want):
        np.testing.assert_array_equal(result, expected)


@pytest.mark.parametrize("op", ["max", "avg"])
def test_pooling_writes_into_out(data, op):
    x = data[0]
    forward = getattr(ops, f"{op}_pool2d")
    backward = getattr(ops, f"{op}_pool2d_backward")
    y = forward(x, **POOL)
    out = nan_like(y)
    assert forward(x, out=out, **POOL) is out
    np.testing.assert_array_equal(out, y)
    dy = np.random.default_rng(2).standard_normal(y.shape).astype(y.dtype)
    dx = nan_like(x)
    assert backward(dy, x, out=dx, **POOL) is dx
    np.testing.assert_array_equal(dx, backward(dy, x, **POOL))


def test_bad_out_arrays_are_refused_with_the_expected_shape(data):
    x, kernel, bias, dy = data
    y_shape = (3, 7, 6, 5)
    with pytest.raises(ValueError, match=r"`out` must be a writeable C-contiguous .* \(3, 7, 6, 5\)"):
        ops.conv2d(x, kernel, out=np.empty((3, 7, 6, 4), x.dtype), **CONV)
    with pytest.raises(ValueError, match="`out` must be a writeable"):
        ops.conv2d(x, kernel, out=np.empty(y_shape, np.int32), **CONV)
    with pytest.raises(ValueError, match="`out` must be a writeable"):
        ops.conv2d(x, kernel, out=np.empty(y_shape[::-1], x.dtype).T, **CONV)
    read_only = np.empty(y_shape, x.dtype)
    read_only.flags.writeable = False
    with pytest.raises(ValueError, match="`out` must be a writeable"):
        ops.conv2d(x, kernel, out=read_only, **CONV)
    with pytest.raises(ValueError, match=r"\(dx, dkernel, dbias\)"):
        ops.conv2d_backward(dy, x, kernel, out=np.empty_like(x), **CONV)
    with pytest.raises(ValueError, match=r"shape \(3, 3, 4, 5\)"):
        ops.conv2d_backward(dy, x, kernel, out=(None, np.empty_like(x), None), **CONV)
    with pytest.raises(ValueError, match="channels_last"):
        ops.max_pool2d(x.transpose(0, 3, 1, 2), data_format="channels_first",
                       out=np.empty((3, 4, 4, 3), x.dtype), **POOL)


def test_out_overlapping_an_input_is_refused(data):
    x, kernel, bias, dy = data
    square = np.zeros((2, 6, 6, 5), x.dtype)  # same-padded 5 -> 5 channels: y has x's shape
    square_kernel = np.zeros((3, 3, 5, 5), x.dtype)
    with pytest.raises(ValueError, match="`out` must not overlap `x`"):
        ops.conv2d(square, square_kernel, out=square, **CONV)
    with pytest.raises(ValueError, match="`out` must not overlap `dy`"):
        ops.conv2d_backward(dy, x, kernel, out=(None, None, dy[0, 0, 0]), **CONV)
    with pytest.raises(ValueError, match="`out` must not overlap `x`"):
        ops.max_pool2d_backward(ops.max_pool2d(x, **POOL), x, out=x, **POOL)
    a = np.ones((12, 32), x.dtype)
    with pytest.raises(ValueError, match="`out` must not overlap `a`"):
        ops.matmul(a, np.ones((32, 32), x.dtype), out=a)
    with pytest.raises(ValueError, match="`out` must not overlap `a`"):
        ops.matmul(a[:6], np.ones((32, 32), x.dtype), out=a[3:9])  # rows overlap
