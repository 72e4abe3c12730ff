"""Activation functions of `keras.ops.nn`, each a primitive with its derivative.

Formulas and defaults are Keras 3's (gelu's tanh approximation by default, leaky_relu's
slope 0.2, hard_sigmoid = relu6(x + 3) / 6, selu's published constants). Int inputs are
computed in float32.
"""

import math

import numpy as np

from fastconv.autodiff import primitive
from fastconv.ops._tensor import as_float
from fastconv.ops.shape_ops import split

__all__ = ["relu", "relu6", "sigmoid", "hard_sigmoid", "hard_silu", "hard_swish", "softplus",
           "softsign", "silu", "swish", "gelu", "elu", "selu", "celu", "leaky_relu",
           "log_sigmoid", "softmax", "log_softmax", "glu", "hard_tanh", "tanh_shrink",
           "soft_shrink", "hard_shrink", "squareplus", "sparse_plus", "threshold"]

_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946
_GELU_C = math.sqrt(2.0 / math.pi)
_erf = np.frompyfunc(math.erf, 1, 1)


def _elementwise(derivative):
    """A primitive decorator for y = f(x, ...) given dy/dx as derivative(x, y, ...)."""
    return primitive(lambda out, x, *args: lambda g: (g * derivative(x, out, *args),))


def _sigmoid_of(x):
    with np.errstate(over="ignore"):  # exp(-x) overflows to inf for x << 0: 1/inf = 0
        return 1.0 / (1.0 + np.exp(-x))


@_elementwise(lambda x, y: x > 0)
def _relu(x):
    return np.maximum(x, 0)


def relu(x):
    """max(x, 0).

    Example:
        >>> from fastconv import ops
        >>> ops.relu([-1.0, 0.0, 2.0])
        array([0., 0., 2.], dtype=float32)
    """
    return _relu(as_float(x))


@_elementwise(lambda x, y: (x > 0) & (x < 6))
def _relu6(x):
    return np.minimum(np.maximum(x, 0), 6)


def relu6(x):
    """min(max(x, 0), 6)."""
    return _relu6(as_float(x))


@_elementwise(lambda x, y: y * (1.0 - y))
def _sigmoid(x):
    return _sigmoid_of(x).astype(x.dtype, copy=False)


def sigmoid(x):
    """1 / (1 + exp(-x))."""
    return _sigmoid(as_float(x))


@_elementwise(lambda x, y: ((x > -3) & (x < 3)) / 6.0)
def _hard_sigmoid(x):
    return np.clip(x / 6.0 + 0.5, 0.0, 1.0).astype(x.dtype, copy=False)


def hard_sigmoid(x):
    """relu6(x + 3) / 6: 0 below -3, 1 above 3, linear between."""
    return _hard_sigmoid(as_float(x))


@_elementwise(lambda x, y: np.where(x <= -3, 0.0, np.where(x >= 3, 1.0, x / 3.0 + 0.5)))
def _hard_silu(x):
    return (x * np.clip(x / 6.0 + 0.5, 0.0, 1.0)).astype(x.dtype, copy=False)


def hard_silu(x):
    """x * hard_sigmoid(x)."""
    return _hard_silu(as_float(x))


hard_swish = hard_silu


@_elementwise(lambda x, y: _sigmoid_of(x))
def _softplus(x):
    return np.logaddexp(x, 0).astype(x.dtype, copy=False)


def softplus(x):
    """log(1 + exp(x)), computed without overflow."""
    return _softplus(as_float(x))


@_elementwise(lambda x, y: 1.0 / np.square(1.0 + np.abs(x)))
def _softsign(x):
    return x / (1 + np.abs(x))


def softsign(x):
    """x / (1 + |x|)."""
    return _softsign(as_float(x))


def _silu_derivative(x, y):
    s = _sigmoid_of(x)
    return s * (1.0 + x * (1.0 - s))


@_elementwise(_silu_derivative)
def _silu(x):
    return (x * _sigmoid_of(x)).astype(x.dtype, copy=False)


def silu(x):
    """x * sigmoid(x) (also named swish)."""
    return _silu(as_float(x))


swish = silu


def _gelu_derivative(x, y, approximate):
    if approximate:
        t = np.tanh(_GELU_C * (x + 0.044715 * x ** 3))
        return 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * _GELU_C * (1 + 3 * 0.044715 * x * x)
    cdf = 0.5 * (1.0 + _erf(x / math.sqrt(2.0)).astype(x.dtype))
    return cdf + x * np.exp(-0.5 * x * x) / math.sqrt(2.0 * math.pi)


@_elementwise(_gelu_derivative)
def _gelu(x, approximate):
    if approximate:
        return 0.5 * x * (1 + np.tanh(_GELU_C * (x + 0.044715 * x ** 3)))
    return x * (0.5 * (1.0 + _erf(x / math.sqrt(2.0)).astype(x.dtype)))


def gelu(x, approximate=True):
    """Gaussian error linear unit: x * P(X <= x), X ~ N(0, 1); with `approximate`, Keras's
    default, the tanh approximation."""
    return _gelu(as_float(x), bool(approximate))


@_elementwise(lambda x, y, alpha: np.where(x >= 0, 1.0, alpha * np.exp(np.minimum(x, 0))))
def _elu(x, alpha):
    return np.where(x >= 0, x, alpha * np.expm1(np.minimum(x, 0))).astype(x.dtype, copy=False)


def elu(x, alpha=1.0):
    """x for x >= 0, alpha * (exp(x) - 1) below."""
    return _elu(as_float(x), alpha)


def selu(x):
    """Scaled elu with the self-normalizing constants (alpha 1.67326..., scale 1.05070...)."""
    return _SELU_SCALE * elu(x, _SELU_ALPHA)


@_elementwise(lambda x, y, alpha: np.where(x > 0, 1.0, np.exp(np.minimum(x, 0) / alpha)))
def _celu(x, alpha):
    return (np.maximum(x, 0) + alpha * np.expm1(np.minimum(x, 0) / alpha)).astype(x.dtype,
                                                                                  copy=False)


def celu(x, alpha=1.0):
    """max(x, 0) + alpha * (exp(min(x, 0) / alpha) - 1)."""
    return _celu(as_float(x), alpha)


@_elementwise(lambda x, y, slope: np.where(x > 0, 1.0, slope))
def _leaky_relu(x, negative_slope):
    return np.where(x > 0, x, negative_slope * x).astype(x.dtype, copy=False)


def leaky_relu(x, negative_slope=0.2):
    """x for x > 0, negative_slope * x below."""
    return _leaky_relu(as_float(x), negative_slope)


@_elementwise(lambda x, y: _sigmoid_of(-x))
def _log_sigmoid(x):
    return -np.logaddexp(-x, 0).astype(x.dtype, copy=False)


def log_sigmoid(x):
    """log(sigmoid(x)) = -softplus(-x)."""
    return _log_sigmoid(as_float(x))


def _softmax_vjp(out, x, axis=-1):
    return lambda g: (out * (g - np.sum(g * out, axis=axis, keepdims=True)),)


@primitive(_softmax_vjp)
def _softmax(x, axis=-1):
    shifted = np.exp(x - np.max(x, axis=axis, keepdims=True))
    return shifted / np.sum(shifted, axis=axis, keepdims=True)


def softmax(x, axis=-1):
    """exp(x) / sum(exp(x)) along `axis` (an int or a tuple).

    Example:
        >>> from fastconv import ops
        >>> ops.softmax([0.0, 0.0])
        array([0.5, 0.5], dtype=float32)
    """
    return _softmax(as_float(x), axis=tuple(axis) if isinstance(axis, list) else axis)


def _log_softmax_vjp(out, x, axis=-1):
    return lambda g: (g - np.exp(out) * np.sum(g, axis=axis, keepdims=True),)


@primitive(_log_softmax_vjp)
def _log_softmax(x, axis=-1):
    shifted = x - np.max(x, axis=axis, keepdims=True)
    return shifted - np.log(np.sum(np.exp(shifted), axis=axis, keepdims=True))


def log_softmax(x, axis=-1):
    """log(softmax(x)) along `axis`, computed without overflow."""
    return _log_softmax(as_float(x), axis=tuple(axis) if isinstance(axis, list) else axis)


def glu(x, axis=-1):
    """Gated linear unit: a * sigmoid(b) for the two halves a, b of `x` along `axis`."""
    x = as_float(x)
    if x.shape[axis] % 2:
        raise ValueError(f"axis size must be divisible by 2. Received: x.shape={x.shape} "
                         f"with axis={axis}")
    a, b = split(x, 2, axis=axis)
    return a * sigmoid(b)


def hard_tanh(x):
    """x limited to [-1, 1]."""
    return np.clip(as_float(x), -1.0, 1.0)


def tanh_shrink(x):
    """x - tanh(x)."""
    x = as_float(x)
    return x - np.tanh(x)


def soft_shrink(x, threshold=0.5):
    """x - threshold above it, x + threshold below -threshold, 0 between."""
    x = as_float(x)
    return np.where(x > threshold, x - threshold, np.where(x < -threshold, x + threshold, 0.0))


def hard_shrink(x, threshold=0.5):
    """x where |x| > threshold, else 0."""
    x = as_float(x)
    return np.where(np.abs(x) > threshold, x, 0.0)


def squareplus(x, b=4):
    """(x + sqrt(x^2 + b)) / 2."""
    x = as_float(x)
    return (x + np.sqrt(x * x + b)) / 2


def sparse_plus(x):
    """0 for x <= -1, (x + 1)^2 / 4 for -1 < x < 1, x for x >= 1."""
    x = as_float(x)
    return np.where(x <= -1, 0.0, np.where(x < 1, 0.25 * np.square(x + 1), x))


def threshold(x, threshold, default_value):
    """x where x > threshold, else `default_value`."""
    x = as_float(x)
    return np.where(x > threshold, x, default_value)
