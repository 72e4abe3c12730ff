"""Reductions and scans of `keras.ops`: sum, mean, max, prod, var, argmax, cumsum, sort, ...

Each takes Keras's `axis` (None: every axis; an int, tuple or list) and `keepdims`. The sums,
means, extrema and variances go through NumPy, which the gradient tape follows (ties in
max/min share the gradient); `cumprod` and `sort` are primitives here. `argmax`, `argmin`,
`argsort`, `all`, `any` and `count_nonzero` pass no gradient.
"""

import numpy as np

from fastconv.autodiff import primitive, register_function
from fastconv.ops._tensor import as_float, tensor

__all__ = ["sum", "mean", "max", "min", "amax", "amin", "prod", "var", "std", "average",
           "argmax", "argmin", "argsort", "sort", "all", "any", "count_nonzero", "cumsum",
           "cumprod"]

_NARROW_INTS = {"bool": np.int32, "int8": np.int32, "int16": np.int32, "uint8": np.uint32,
                "uint16": np.uint32}


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
    return np.sum(x, axis=_axis(axis), keepdims=keepdims, dtype=_NARROW_INTS.get(x.dtype.name))


def mean(x, axis=None, keepdims=False):
    """The mean over `axis` (int inputs give float32)."""
    return np.mean(as_float(x), axis=_axis(axis), keepdims=keepdims)


def max(x, axis=None, keepdims=False, initial=None):  # noqa: A001 - Keras's name
    """The maximum over `axis`; tied maxima share the gradient equally."""
    return np.max(tensor(x), axis=_axis(axis), keepdims=keepdims,
                  **({} if initial is None else {"initial": initial}))


def min(x, axis=None, keepdims=False, initial=None):  # noqa: A001 - Keras's name
    """The minimum over `axis`; tied minima share the gradient equally."""
    return np.min(tensor(x), axis=_axis(axis), keepdims=keepdims,
                  **({} if initial is None else {"initial": initial}))


amax = max
amin = min


def prod(x, axis=None, keepdims=False, dtype=None):
    """The product over `axis` (differentiable at inputs without zeros)."""
    x = tensor(x)
    if dtype is None:
        dtype = _NARROW_INTS.get(x.dtype.name)
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


def _numpy_cumprod(a, axis=None, dtype=None, out=None):
    if out is not None:
        raise TypeError("cumprod on traced values takes no `out`.")
    return cumprod(a, axis=axis, dtype=dtype)


register_function(np.cumprod, _numpy_cumprod)
register_function(np.sort, lambda a, axis=-1, kind=None, order=None, **kw: sort(a, axis=axis))
