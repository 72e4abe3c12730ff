"""Element-wise math of `keras.ops` (`keras.ops.numpy`): arithmetic, powers, logarithms,
trigonometry, comparisons and rounding.

Each function is the NumPy ufunc after Keras's conversions (`_tensor`): int inputs of float
functions become float32, int with float promotes to the float. The gradient tape already
differentiates the ufuncs (fastconv/autodiff/ufunc_grads.py); the few it does not know are
registered below, so `np.logaddexp(traced, ...)` is differentiable too. Comparisons, logical
ops, `sign`, `floor`, `ceil`, `round`, `mod` and `floor_divide` pass no gradient.
"""

import numpy as np

from fastconv.autodiff import register_ufunc
from fastconv.ops._tensor import as_float, promote, tensor

__all__ = [
    "add", "subtract", "multiply", "divide", "true_divide", "divide_no_nan", "power",
    "negative", "abs", "absolute", "square", "sqrt", "cbrt", "reciprocal", "exp", "exp2",
    "expm1", "log", "log1p", "log2", "log10", "logaddexp", "sin", "cos", "tan", "arcsin",
    "arccos", "arctan", "arctan2", "sinh", "cosh", "tanh", "arcsinh", "arccosh", "arctanh",
    "hypot", "maximum", "minimum", "clip", "sign", "floor", "ceil", "trunc", "round", "mod",
    "floor_divide", "equal", "not_equal", "greater", "greater_equal", "less", "less_equal",
    "logical_and", "logical_or", "logical_xor", "logical_not", "isnan", "isinf", "isfinite",
    "nan_to_num", "isclose", "allclose", "searchsorted",
]

# Gradients of the ufuncs the tape did not know.
register_ufunc(np.arccosh, lambda out, x, **kw: lambda g: (g / np.sqrt(x * x - 1.0),))
register_ufunc(np.logaddexp, lambda out, a, b, **kw: lambda g: (g * np.exp(a - out),
                                                               g * np.exp(b - out)))
register_ufunc(np.hypot, lambda out, a, b, **kw: lambda g: (g * a / out, g * b / out))


def _float_unary(ufunc, name):
    def op(x):
        return ufunc(as_float(x))
    op.__name__ = op.__qualname__ = name
    op.__doc__ = (f"Element-wise `{ufunc.__name__}` of `x` (int and bool inputs computed in "
                  "float32, as Keras does).")
    return op


def _unary(ufunc, name, note=""):
    def op(x):
        return ufunc(tensor(x))
    op.__name__ = op.__qualname__ = name
    op.__doc__ = f"Element-wise `{ufunc.__name__}` of `x`, keeping its dtype.{note}"
    return op


def _binary(ufunc, name, note=""):
    def op(x1, x2):
        return ufunc(*promote(x1, x2))
    op.__name__ = op.__qualname__ = name
    op.__doc__ = (f"Element-wise `{ufunc.__name__}` of `x1` and `x2` with broadcasting (an int "
                  f"operand takes a float operand's dtype).{note}")
    return op


_NO_GRADIENT = " Passes no gradient."

add = _binary(np.add, "add")
subtract = _binary(np.subtract, "subtract")
multiply = _binary(np.multiply, "multiply")
power = _binary(np.power, "power")
maximum = _binary(np.maximum, "maximum")
minimum = _binary(np.minimum, "minimum")
arctan2 = _binary(np.arctan2, "arctan2")
logaddexp = _binary(np.logaddexp, "logaddexp")
hypot = _binary(np.hypot, "hypot")
mod = _binary(np.remainder, "mod", _NO_GRADIENT)
floor_divide = _binary(np.floor_divide, "floor_divide", _NO_GRADIENT)
equal = _binary(np.equal, "equal", _NO_GRADIENT)
not_equal = _binary(np.not_equal, "not_equal", _NO_GRADIENT)
greater = _binary(np.greater, "greater", _NO_GRADIENT)
greater_equal = _binary(np.greater_equal, "greater_equal", _NO_GRADIENT)
less = _binary(np.less, "less", _NO_GRADIENT)
less_equal = _binary(np.less_equal, "less_equal", _NO_GRADIENT)
logical_and = _binary(np.logical_and, "logical_and", _NO_GRADIENT)
logical_or = _binary(np.logical_or, "logical_or", _NO_GRADIENT)
logical_xor = _binary(np.logical_xor, "logical_xor", _NO_GRADIENT)

negative = _unary(np.negative, "negative")
absolute = _unary(np.absolute, "absolute")
abs = _unary(np.absolute, "abs")  # noqa: A001 - Keras's name
square = _unary(np.square, "square")
sign = _unary(np.sign, "sign", _NO_GRADIENT)
trunc = _unary(np.trunc, "trunc", _NO_GRADIENT)
logical_not = _unary(np.logical_not, "logical_not", _NO_GRADIENT)
isnan = _unary(np.isnan, "isnan", _NO_GRADIENT)
isinf = _unary(np.isinf, "isinf", _NO_GRADIENT)
isfinite = _unary(np.isfinite, "isfinite", _NO_GRADIENT)

sqrt = _float_unary(np.sqrt, "sqrt")
cbrt = _float_unary(np.cbrt, "cbrt")
reciprocal = _float_unary(np.reciprocal, "reciprocal")
exp = _float_unary(np.exp, "exp")
exp2 = _float_unary(np.exp2, "exp2")
expm1 = _float_unary(np.expm1, "expm1")
log = _float_unary(np.log, "log")
log1p = _float_unary(np.log1p, "log1p")
log2 = _float_unary(np.log2, "log2")
log10 = _float_unary(np.log10, "log10")
sin = _float_unary(np.sin, "sin")
cos = _float_unary(np.cos, "cos")
tan = _float_unary(np.tan, "tan")
arcsin = _float_unary(np.arcsin, "arcsin")
arccos = _float_unary(np.arccos, "arccos")
arctan = _float_unary(np.arctan, "arctan")
sinh = _float_unary(np.sinh, "sinh")
cosh = _float_unary(np.cosh, "cosh")
tanh = _float_unary(np.tanh, "tanh")
arcsinh = _float_unary(np.arcsinh, "arcsinh")
arccosh = _float_unary(np.arccosh, "arccosh")
arctanh = _float_unary(np.arctanh, "arctanh")
floor = _float_unary(np.floor, "floor")
ceil = _float_unary(np.ceil, "ceil")
floor.__doc__ += _NO_GRADIENT
ceil.__doc__ += _NO_GRADIENT


def divide(x1, x2):
    """`x1 / x2` element-wise; two int operands divide in float32, as in Keras.

    Example:
        >>> from fastconv import ops
        >>> ops.divide([3, 4], 2)
        array([1.5, 2. ], dtype=float32)
    """
    x1, x2 = promote(x1, x2)
    if np.asarray(x1).dtype.kind not in "fc" and np.asarray(x2).dtype.kind not in "fc":
        x1 = as_float(x1)
    return np.true_divide(x1, x2)


true_divide = divide


def divide_no_nan(x1, x2):
    """`x1 / x2`, and 0 where `x2` is 0 (no gradient flows through those entries)."""
    x1, x2 = promote(x1, x2)
    zero = np.equal(x2, 0)
    return np.where(zero, 0, divide(x1, np.where(zero, 1, x2)))


def clip(x, x_min, x_max):
    """`x` limited to [x_min, x_max]; the gradient passes where `x` lies inside the bounds.

    Example:
        >>> from fastconv import ops
        >>> ops.clip([-2.0, 0.5, 3.0], 0.0, 1.0)
        array([0. , 0.5, 1. ], dtype=float32)
    """
    x = tensor(x)
    if x.dtype == bool:
        x = x.astype(np.int32)
    return np.clip(x, x_min, x_max)


def round(x, decimals=0):  # noqa: A001 - Keras's name
    """`x` rounded half to even to `decimals` places. Passes no gradient."""
    return np.round(tensor(x), decimals)


def nan_to_num(x, nan=0.0, posinf=None, neginf=None):
    """`x` with NaN and infinities replaced by finite numbers. Passes no gradient."""
    return np.nan_to_num(tensor(x), nan=nan, posinf=posinf, neginf=neginf)


def isclose(x1, x2, rtol=1e-5, atol=1e-8, equal_nan=False):
    """Whether |x1 - x2| <= atol + rtol * |x2|, element-wise. No gradient."""
    return np.isclose(tensor(x1), tensor(x2), rtol=rtol, atol=atol, equal_nan=equal_nan)


def allclose(x1, x2, rtol=1e-5, atol=1e-8, equal_nan=False):
    """Whether `isclose` holds everywhere. No gradient."""
    return np.allclose(tensor(x1), tensor(x2), rtol=rtol, atol=atol, equal_nan=equal_nan)


def searchsorted(sorted_sequence, values, side="left"):
    """Indices where `values` would be inserted to keep the 1-D `sorted_sequence` sorted."""
    if np.ndim(sorted_sequence) != 1:
        raise ValueError("`sorted_sequence` must be 1-D. Received: "
                         f"sorted_sequence.shape={np.shape(sorted_sequence)}")
    return np.searchsorted(tensor(sorted_sequence), tensor(values), side=side).astype(np.int32)
