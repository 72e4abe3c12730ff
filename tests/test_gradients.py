"""Backward passes against central finite differences in float64.

For loss = sum(op(inputs) * r) with a random r, d loss / d input is exactly what
the backward op returns when given dy = r. A float32 finite difference would
measure rounding noise, so everything here is float64 with step 1e-6.
"""

import numpy as np
import pytest

from fastconv import ops
from opcheck import assert_close, numerical_gradient, to_format
import reference as ref

EPS = 1e-6
FD_TOL = 1e-6   # relative to max|gradient|; linear ops leave only rounding noise


def check_op_gradients(forward, backward, inputs, expected_forward, seed=0):
    """Check one op's forward against a reference and every gradient against
    central finite differences, in one call.

    forward(**inputs) -> y; backward(dy, **inputs) -> {name: gradient} for the
    inputs to check; expected_forward: the reference y (same layout as y).
    """
    inputs = {k: np.array(v, dtype=np.float64) for k, v in inputs.items()}
    y = forward(**inputs)
    assert_close(y, expected_forward, np.float64, "forward")
    r = np.random.default_rng(seed).standard_normal(y.shape)
    analytic = backward(r, **inputs)
    assert analytic, "nothing to check"
    for name, grad in analytic.items():
        numeric = numerical_gradient(lambda: float(np.sum(forward(**inputs) * r)),
                                     inputs[name], EPS)
        assert grad.shape == numeric.shape, (name, grad.shape, numeric.shape)
        err = np.max(np.abs(grad - numeric)) / max(np.max(np.abs(numeric)), 1e-30)
        assert err <= FD_TOL, f"d{name}: finite-difference relative error {err:.3g}"


# (x_shape NHWC, kernel_shape, strides, padding, dilation_rate, groups)
CONV_CONFIGS = {
    "valid": ((2, 4, 5, 2), (3, 2, 2, 3), 1, "valid", 1, 1),
    "stride": ((1, 6, 5, 2), (3, 3, 2, 2), (2, 3), "valid", 1, 1),
    "same_even_stride2": ((1, 5, 6, 2), (2, 4, 2, 2), 2, "same", 1, 1),
    "dilation_stride": ((1, 7, 6, 2), (2, 3, 2, 2), (2, 1), "valid", (2, 2), 1),
    "dilation_same": ((2, 5, 4, 1), (3, 2, 1, 2), 1, "same", (2, 3), 1),
    "groups2": ((1, 4, 4, 4), (2, 2, 2, 4), 1, "same", 1, 2),
    "depthwise": ((1, 5, 4, 3), (3, 3, 1, 3), (2, 1), "same", 1, 3),
    "asym_padding": ((1, 4, 3, 2), (3, 2, 2, 2), (1, 2), ((2, 0), (1, 3)), 1, 1),
    "kernel_is_input": ((2, 3, 4, 2), (3, 4, 2, 2), 1, "valid", 1, 1),
}


@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
@pytest.mark.parametrize("name", list(CONV_CONFIGS))
def test_conv2d_gradients(name, data_format):
    x_shape, k_shape, strides, padding, dilation, groups = CONV_CONFIGS[name]
    rng = np.random.default_rng(len(name))
    x = rng.standard_normal(x_shape)
    kernel = rng.standard_normal(k_shape)
    bias = rng.standard_normal(k_shape[3])
    kw = dict(strides=strides, padding=padding, dilation_rate=dilation, groups=groups,
              data_format=data_format)

    def forward(x, kernel, bias):
        return ops.conv2d(x, kernel, bias, **kw)

    def backward(dy, x, kernel, bias):
        dx, dkernel, dbias = ops.conv2d_backward(dy, x, kernel, **kw)
        return {"x": dx, "kernel": dkernel, "bias": dbias}

    expected = to_format(ref.conv2d_ref(x, kernel, bias, strides, padding, dilation,
                                        groups), data_format)
    check_op_gradients(forward, backward,
                       dict(x=to_format(x, data_format), kernel=kernel, bias=bias),
                       expected)


# (x_shape NHWC, pool_size, strides, padding)
POOL_CONFIGS = {
    "default": ((2, 4, 4, 2), 2, None, "valid"),
    "overlap": ((1, 5, 5, 2), 3, 1, "valid"),
    "overlap_same": ((1, 5, 4, 2), (3, 2), (2, 1), "same"),
    "stride_larger": ((1, 7, 5, 1), 2, 3, "valid"),
    "explicit": ((1, 4, 5, 2), (2, 3), (1, 2), ((1, 0), (2, 1))),
    "whole_input": ((2, 3, 4, 1), (3, 4), None, "valid"),
}


@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
@pytest.mark.parametrize("kind", ["max", "avg"])
@pytest.mark.parametrize("name", list(POOL_CONFIGS))
def test_pool_gradients(name, kind, data_format):
    x_shape, pool_size, strides, padding = POOL_CONFIGS[name]
    rng = np.random.default_rng(len(name))
    # Distinct values 0.01 apart (far more than the step), so the max is stable.
    x = rng.permutation(np.arange(np.prod(x_shape))).reshape(x_shape) * 0.01 - 0.3
    kw = dict(pool_size=pool_size, strides=strides, padding=padding,
              data_format=data_format)
    fwd = getattr(ops, f"{kind}_pool2d")
    bwd = getattr(ops, f"{kind}_pool2d_backward")
    expected = to_format(
        getattr(ref, f"{kind}_pool2d_ref")(x, pool_size, strides, padding), data_format
    )
    check_op_gradients(lambda x: fwd(x, **kw),
                       lambda dy, x: {"x": bwd(dy, x, **kw)},
                       dict(x=to_format(x, data_format)), expected)


def test_reference_conv_gradients_by_finite_differences():
    """The reference backward also agrees with finite differences of the
    reference forward (independent of fastconv's forward)."""
    rng = np.random.default_rng(1)
    x = rng.standard_normal((1, 5, 4, 4))
    k = rng.standard_normal((2, 3, 2, 4))
    b = rng.standard_normal(4)
    geo = dict(strides=(2, 1), padding="same", dilation=(1, 2), groups=2)
    r = rng.standard_normal(ref.conv2d_ref(x, k, b, **geo).shape)
    dx, dk, db = ref.conv2d_backward_ref(r, x, k, **geo)

    def loss():
        return float(np.sum(ref.conv2d_ref(x, k, b, **geo) * r))

    for got, arr in ((dx, x), (dk, k), (db, b)):
        num = numerical_gradient(loss, arr, EPS)
        assert np.max(np.abs(got - num)) <= FD_TOL * np.max(np.abs(num))
