"""Reductions and scans of `keras.ops`: sum, mean, max, prod, var, argmax, cumsum, sort, ...

Each takes Keras's `axis` (None: every axis; an int, tuple or list) and `keepdims`. The sums,
means, extrema and variances go through NumPy (sums and extrema straight to the ufunc's
reduce, which skips np.sum's Python wrapper), which the gradient tape follows (ties in
max/min share the gradient); `cumprod` and `sort` are primitives here. `argmax`, `argmin`,
`argsort`, `all`, `any` and `count_nonzero` pass no gradient.
"""

import numpy as np

from fastconv.autodiff import primitive, register_function
from fastconv.ops._tensor import as_float, tensor
from fastconv.ops.shape_ops import diagonal, take

__all__ = ["sum", "mean", "max", "min", "amax", "amin", "prod", "var", "std", "average",
           "argmax", "argmin", "argsort", "sort", "all", "any", "count_nonzero", "cumsum",
           "cumprod", "trace", "diff", "quantile", "percentile", "median"]

_NARROW_INTS = {np.dtype(name): np.dtype(wide) for name, wide in (
    ("bool", "int32"), ("int8", "int32"), ("int16", "int32"), ("uint8", "uint32"),
    ("uint16", "uint32"))}


def _axis(axis):
    return tuple(axis) if isinstance(axis, list) else axis


def sum(x, axis=None, keepdims=False):  # noqa: A001 - Keras's name
    """The sum over `axis` (bool and narrow ints sum in int32, as in Keras).

    Example:
        >>> from fastconv import ops
        >>> ops.sum([[1.0, 2.0], [3.0, 4.0]], axis=0)
        array([4., 6.], dtype=float32)
    """
    x = tensor(x)
    return np.add.reduce(x, axis=_axis(axis), keepdims=keepdims, dtype=_NARROW_INTS.get(x.dtype))


def mean(x, axis=None, keepdims=False):
    """The mean over `axis` (int inputs give float32)."""
    x = as_float(x)
    total = np.add.reduce(x, axis=_axis(axis), keepdims=keepdims)
    return total / (x.size // (np.size(total) or 1) if x.size else 0)


def max(x, axis=None, keepdims=False, initial=None):  # noqa: A001 - Keras's name
    """The maximum over `axis`; tied maxima share the gradient equally."""
    return np.maximum.reduce(tensor(x), axis=_axis(axis), keepdims=keepdims,
                             **({} if initial is None else {"initial": initial}))


def min(x, axis=None, keepdims=False, initial=None):  # noqa: A001 - Keras's name
    """The minimum over `axis`; tied minima share the gradient equally."""
    return np.minimum.reduce(tensor(x), axis=_axis(axis), keepdims=keepdims,
                             **({} if initial is None else {"initial": initial}))


amax = max
amin = min


def prod(x, axis=None, keepdims=False, dtype=None):
    """The product over `axis` (differentiable at inputs without zeros)."""
    x = tensor(x)
    if dtype is None:
        dtype = _NARROW_INTS.get(x.dtype)
    return np.prod(x, axis=_axis(axis), keepdims=keepdims, dtype=dtype)


def var(x, axis=None, keepdims=False):
    """The (population) variance over `axis`; int inputs give float32."""
    return np.var(as_float(x), axis=_axis(axis), keepdims=keepdims)


def std(x, axis=None, keepdims=False):
    """The (population) standard deviation over `axis`; int inputs give float32."""
    return np.std(as_float(x), axis=_axis(axis), keepdims=keepdims)


def average(x, axis=None, weights=None):
    """The mean of `x` over `axis` weighted by `weights` (of x's shape, or 1-D along `axis`)."""
    x = as_float(x)
    if weights is None:
        return mean(x, axis=axis)
    weights = tensor(weights)
    if weights.ndim == 1 and x.ndim > 1:
        if axis is None or isinstance(axis, (tuple, list)):
            raise ValueError("1-D `weights` need one int `axis` to lie along. Received: "
                             f"axis={axis}, x.shape={x.shape}, weights.shape={weights.shape}")
        shape = [1] * x.ndim
        shape[axis] = weights.shape[0]
        weights = np.reshape(weights, shape)
    return np.sum(x * weights, axis=axis) / np.sum(np.broadcast_to(weights, x.shape), axis=axis)


def argmax(x, axis=None, keepdims=False):
    """The int32 index of the maximum along `axis` (the first one on ties). No gradient."""
    return np.argmax(tensor(x), axis=axis, keepdims=keepdims).astype(np.int32)


def argmin(x, axis=None, keepdims=False):
    """The int32 index of the minimum along `axis` (the first one on ties). No gradient."""
    return np.argmin(tensor(x), axis=axis, keepdims=keepdims).astype(np.int32)


def argsort(x, axis=-1):
    """The int32 indices that sort `x` along `axis`. No gradient."""
    return np.argsort(tensor(x), axis=axis, kind="stable").astype(np.int32)


def _sort_vjp(out, x, axis=-1, **kwargs):
    def vjp(g):
        if axis is None:
            order = np.argsort(x, axis=None, kind="stable")
            grad = np.zeros(x.size, g.dtype)
            grad[order] = g
            return (grad.reshape(x.shape),)
        order = np.argsort(x, axis=axis, kind="stable")
        grad = np.zeros(x.shape, g.dtype)
        np.put_along_axis(grad, order, g, axis=axis)  # each input receives its sorted place's
        return (grad,)
    return vjp


@primitive(_sort_vjp)
def _sort(x, axis=-1, **kwargs):
    return np.sort(x, axis=axis, kind="stable")


def sort(x, axis=-1):
    """`x` sorted along `axis`; the gradient follows each value to its place."""
    return _sort(tensor(x), axis=axis)


def all(x, axis=None, keepdims=False):  # noqa: A001 - Keras's name
    """Whether every element along `axis` is true. No gradient."""
    return np.all(tensor(x), axis=_axis(axis), keepdims=keepdims)


def any(x, axis=None, keepdims=False):  # noqa: A001 - Keras's name
    """Whether some element along `axis` is true. No gradient."""
    return np.any(tensor(x), axis=_axis(axis), keepdims=keepdims)


def count_nonzero(x, axis=None):
    """The number of non-zero elements along `axis`, as int32. No gradient."""
    return np.asarray(np.count_nonzero(tensor(x), axis=_axis(axis)), np.int32)


def cumsum(x, axis=None, dtype=None):
    """Running sums along `axis` (None: of the flattened `x`)."""
    x = tensor(x)
    if axis is None:
        x, axis = np.reshape(x, -1), 0
    return np.cumsum(x, axis=axis, dtype=dtype)


def _cumprod_vjp(out, x, axis=0):
    def vjp(g):
        if np.any(x == 0):
            raise ValueError("The gradient of cumprod at an input of 0 is not implemented.")
        reverse_total = np.flip(np.cumsum(np.flip(g * out, axis), axis=axis), axis)
        return (reverse_total / x,)
    return vjp


@primitive(_cumprod_vjp)
def _cumprod(x, axis=0):
    return np.cumprod(x, axis=axis)


def cumprod(x, axis=None, dtype=None):
    """Running products along `axis` (None: of the flattened `x`); differentiable at inputs
    without zeros."""
    x = tensor(x, dtype)
    if axis is None:
        x, axis = np.reshape(x, -1), 0
    return _cumprod(x, axis=axis)


def trace(x, offset=0, axis1=0, axis2=1):
    """The sum of the `offset` diagonal of the `axis1`, `axis2` planes."""
    return sum(diagonal(x, offset, axis1, axis2), axis=-1)


def diff(a, n=1, axis=-1):
    """The `n`-th discrete difference along `axis` (a[i + 1] - a[i], n times)."""
    a = tensor(a)
    axis = axis % a.ndim
    later = (slice(None),) * axis + (slice(1, None),)
    earlier = (slice(None),) * axis + (slice(None, -1),)
    for _ in range(n):
        a = a[later] - a[earlier]
    return a


_QUANTILE_METHODS = ("linear", "lower", "higher", "midpoint", "nearest")


def quantile(x, q, axis=None, method="linear", keepdims=False):
    """The `q`-th quantiles (q in [0, 1], a number or an array whose axes come first) of `x`
    along `axis`, as np.quantile's five classic `method`s; differentiable through the sort."""
    if method not in _QUANTILE_METHODS:
        raise ValueError(f"`method` must be one of {_QUANTILE_METHODS}. Received: "
                         f"method={method!r}")
    q = np.asarray(q, dtype=np.float64)
    if np.any((q < 0) | (q > 1)):
        raise ValueError(f"Quantiles must lie in [0, 1]. Received: q={q.tolist()}")
    x = as_float(x)
    shape = x.shape
    if axis is None:
        x, axes = np.reshape(x, -1), (0,)
    else:
        axes = tuple(a % x.ndim for a in (axis if isinstance(axis, (tuple, list)) else (axis,)))
        rest = [a for a in range(x.ndim) if a not in axes]
        x = np.reshape(np.transpose(x, rest + list(axes)), [shape[a] for a in rest] + [-1])
    values = sort(x, axis=-1)
    position = q * (values.shape[-1] - 1)
    low = np.floor(position).astype(np.int64)
    high = np.ceil(position).astype(np.int64)
    if method == "lower":
        result = take(values, low, axis=-1)
    elif method == "higher":
        result = take(values, high, axis=-1)
    elif method == "nearest":
        result = take(values, np.round(position).astype(np.int64), axis=-1)
    else:
        weight = (position - low) if method == "linear" else np.full(q.shape, 0.5)
        weight = np.where(low == high, 0.0, weight).astype(values.dtype)
        result = take(values, low, axis=-1) * (1 - weight) + take(values, high, axis=-1) * weight
    result = np.moveaxis(result, tuple(range(result.ndim - q.ndim, result.ndim)),
                         tuple(range(q.ndim)))  # the quantile axes first, as NumPy
    if keepdims:
        kept = [1 if axis is None or a in axes else n for a, n in enumerate(shape)]
        result = np.reshape(result, q.shape + tuple(kept))
    return result


def percentile(x, q, axis=None, method="linear", keepdims=False):
    """`quantile` with q in percent ([0, 100])."""
    return quantile(x, np.asarray(q, dtype=np.float64) / 100, axis, method, keepdims)


def median(x, axis=None, keepdims=False):
    """The median along `axis` (the mean of the two middle values for an even count)."""
    return quantile(x, 0.5, axis=axis, keepdims=keepdims)


def _numpy_cumprod(a, axis=None, dtype=None, out=None):
    if out is not None:
        raise TypeError("cumprod on traced values takes no `out`.")
    return cumprod(a, axis=axis, dtype=dtype)


register_function(np.cumprod, _numpy_cumprod)
def _numpy_average(a, axis=None, weights=None, returned=False, *, keepdims=False):
    if returned or keepdims:
        raise TypeError("np.average on traced values takes no `returned` or `keepdims`.")
    return average(a, axis=axis, weights=weights)


def _numpy_quantile(a, q, axis=None, out=None, overwrite_input=False, method="linear",
                    keepdims=False, **kwargs):
    if out is not None or kwargs:
        raise TypeError(f"np.quantile on traced values takes no `out` or {sorted(kwargs)}.")
    return quantile(a, q, axis, method, keepdims)


register_function(np.quantile, _numpy_quantile)
register_function(np.percentile, lambda a, q, *args, **kwargs:
                  _numpy_quantile(a, np.asarray(q, dtype=np.float64) / 100, *args, **kwargs))
register_function(np.median, lambda a, axis=None, out=None, overwrite_input=False,
                  keepdims=False: _numpy_quantile(a, 0.5, axis, out, keepdims=keepdims))
register_function(np.average, _numpy_average)
register_function(np.trace, trace)
register_function(np.diff, lambda a, n=1, axis=-1: diff(a, n, axis))
register_function(np.sort, lambda a, axis=-1, kind=None, order=None, **kw: sort(a, axis=axis))
