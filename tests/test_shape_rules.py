"""One output-size rule and one result-dtype rule: what a layer predicts is what its op returns."""

import itertools

import numpy as np
import pytest

from fastconv import layers, ops
from fastconv.ops import _args


def reference_size(size, window, stride, padding, dilation):
    """Keras's arithmetic, written out independently: 'same' pads to ceil(size / stride)."""
    effective = (window - 1) * dilation + 1
    if padding == "same":
        return int(np.ceil(size / stride))
    return max(int(np.floor((size - effective) / stride)) + 1, 0)


@pytest.mark.parametrize("size,window,stride,dilation", [
    c for c in itertools.product((1, 2, 5, 7, 8), (1, 2, 3), (1, 2, 3), (1, 2))
])
@pytest.mark.parametrize("padding", ["valid", "same"])
def test_output_size_matches_the_reference(size, window, stride, dilation, padding):
    assert _args.output_size(size, window, stride, padding, dilation) == reference_size(
        size, window, stride, padding, dilation)


def test_output_size_keeps_unknown_sizes():
    assert _args.output_size(None, 3, 1, "same") is None


@pytest.mark.parametrize("h,w,k,s,d,padding", [
    (7, 9, 3, 2, 1, "same"), (8, 5, 2, 3, 1, "valid"), (6, 6, 3, 1, 2, "same"),
    (9, 7, 2, 2, 2, "valid"), (5, 5, 4, 3, 1, "same"), (1, 4, 1, 2, 1, "valid"),
])
def test_conv_and_pool_layers_predict_their_ops_shapes(h, w, k, s, d, padding):
    x = np.random.default_rng(0).random((2, h, w, 3), dtype=np.float32)
    conv = layers.Conv2D(4, k, strides=s, dilation_rate=d if s == 1 else 1, padding=padding)
    assert conv(x).shape == conv.compute_output_shape(x.shape)
    kernel = np.ones((k, k, 3, 4), np.float32)
    op = ops.conv2d(x, kernel, strides=s, dilation_rate=conv.dilation_rate, padding=padding)
    assert op.shape == conv.compute_output_shape(x.shape)
    if k <= min(h, w) or padding == "same":
        pool = layers.MaxPooling2D(k, strides=s, padding=padding)
        assert pool(x).shape == pool.compute_output_shape(x.shape)
        assert ops.max_pool2d(x, k, strides=s, padding=padding).shape == pool.compute_output_shape(
            x.shape)


@pytest.mark.parametrize("dtypes,expected", [
    (("float32",), np.float32), (("float64",), np.float64), (("float32", "float64"), np.float64),
    (("int64",), np.float32), (("int32", "float32"), np.float32), (("float16",), np.float32),
    (("longdouble",), np.float64),
])
def test_result_dtype_is_the_ops_rule(dtypes, expected):
    assert _args.result_dtype(*[np.zeros(2, dtype) for dtype in dtypes], None) == expected


@pytest.mark.parametrize("dtype", ["float32", "float64", "int64", "float16", "longdouble"])
def test_ops_return_that_dtype(dtype):
    x = np.ones((1, 4, 4, 1), dtype)
    assert ops.max_pool2d(x, 2).dtype == _args.result_dtype(x)


def test_layers_use_the_same_rules():
    from fastconv.layers import base
    assert base.result_dtype is _args.result_dtype and base.output_size is _args.output_size
