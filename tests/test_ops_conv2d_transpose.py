"""fastconv.ops.conv2d_transpose and its backward: against the scatter-form NumPy reference
over a grid of geometries (Keras's output sizes, TensorFlow's padding), float32 and float64,
finite differences in float64, `out=` buffers and argument errors."""

import itertools

import numpy as np
import pytest

import layers_reference as lref
from fastconv import ops
from layercheck import numerical

GRID = [(h, k, s, d, padding, op)
        for h, k, s, d, padding, op in itertools.product(
            [1, 3, 4], [1, 2, 3, 4], [1, 2, 3], [1, 2], ["valid", "same"], [None, 0, 1, 2])
        if (op is None or op < s) and not (s > 1 and d > 1)
        # Keras's "same" with output_padding can leave nothing of a one-cell input.
        and not (h == 1 and padding == "same" and op == 0 and ((k - 1) * d + 1) % 2 == 0)]


@pytest.mark.parametrize("h, k, s, d, padding, op", GRID)
def test_forward_matches_reference(h, k, s, d, padding, op):
    rng = np.random.default_rng(h * 1000 + k * 100 + s * 10 + d)
    x = rng.standard_normal((2, h, h + 1, 3))
    kernel = rng.standard_normal((k, k, 2, 3))
    pads = None if op is None else (op, op)
    expected = lref.conv2d_transpose(x, kernel, None, (s, s), padding, pads, (d, d))
    y = ops.conv2d_transpose(x, kernel, strides=s, padding=padding, output_padding=op,
                             dilation_rate=d)
    np.testing.assert_allclose(y, expected, rtol=1e-12, atol=1e-12)
    y32 = ops.conv2d_transpose(x.astype(np.float32), kernel.astype(np.float32), strides=s,
                               padding=padding, output_padding=op, dilation_rate=d)
    assert y32.dtype == np.float32
    np.testing.assert_allclose(y32, expected, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("kwargs", [
    dict(strides=2, padding="same"), dict(strides=(2, 3), padding="valid", output_padding=(1, 2)),
    dict(dilation_rate=2, padding="same"), dict(strides=1, padding="valid"),
])
def test_backward_matches_finite_differences(kwargs):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 3, 2, 2))
    kernel = rng.standard_normal((3, 2, 3, 2))
    bias = rng.standard_normal(3)
    dy = rng.standard_normal(ops.conv2d_transpose(x, kernel, **kwargs).shape)

    def loss():
        return float(np.sum(ops.conv2d_transpose(x, kernel, bias, **kwargs) * dy))

    dx, dkernel, dbias = ops.conv2d_transpose_backward(dy, x, kernel, **kwargs)
    np.testing.assert_allclose(dx, numerical(loss, x), rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(dkernel, numerical(loss, kernel), rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(dbias, numerical(loss, bias), rtol=1e-6, atol=1e-7)


def test_channels_first_and_out_buffers():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, 4, 5, 3))
    kernel = rng.standard_normal((3, 3, 2, 3))
    y_last = ops.conv2d_transpose(x, kernel, strides=2, padding="same")
    y_first = ops.conv2d_transpose(x.transpose(0, 3, 1, 2), kernel, strides=2, padding="same",
                                   data_format="channels_first")
    np.testing.assert_allclose(y_first, y_last.transpose(0, 3, 1, 2), rtol=1e-12)
    out = np.empty_like(y_last)
    assert ops.conv2d_transpose(x, kernel, strides=2, padding="same", out=out) is out
    np.testing.assert_array_equal(out, y_last)
    dy = rng.standard_normal(y_last.shape)
    buffers = (np.empty_like(x), np.empty_like(kernel), np.empty(2))
    result = ops.conv2d_transpose_backward(dy, x, kernel, strides=2, padding="same", out=buffers)
    assert all(a is b for a, b in zip(result, buffers))
    for got, expected in zip(result, ops.conv2d_transpose_backward(dy, x, kernel, strides=2,
                                                                   padding="same")):
        np.testing.assert_array_equal(got, expected)


def test_errors():
    x, kernel = np.zeros((1, 3, 3, 2)), np.zeros((3, 3, 4, 2))
    with pytest.raises(ValueError, match="Strides must be greater than output padding"):
        ops.conv2d_transpose(x, kernel, strides=2, output_padding=2)
    with pytest.raises(ValueError, match="expects 3 input channels"):
        ops.conv2d_transpose(x, np.zeros((3, 3, 4, 3)))
    with pytest.raises(ValueError, match="padding"):
        ops.conv2d_transpose(x, kernel, padding=1)
    with pytest.raises(ValueError, match="bias"):
        ops.conv2d_transpose(x, kernel, np.zeros(3))
    with pytest.raises(ValueError, match="output would be empty"):
        ops.conv2d_transpose(np.zeros((1, 1, 1, 1)), np.zeros((2, 2, 1, 1)), padding="same",
                             output_padding=0)
    with pytest.raises(ValueError, match=r"`dy` must have the shape .*\(1, 5, 5, 4\)"):
        ops.conv2d_transpose_backward(np.zeros((1, 4, 4, 4)), x, kernel)
