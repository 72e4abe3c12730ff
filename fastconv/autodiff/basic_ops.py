"""The differentiable ops the tape itself needs: views, indexing, casts, concatenation.

`fastconv.ops` builds Keras's op set on the same `primitive` mechanism; these are the
ones `Traced`'s ndarray methods route to.
"""

import numpy as np

from fastconv.autodiff.primitive import primitive
from fastconv.autodiff.traced import register_function

__all__ = ["reshape", "transpose", "getitem", "astype", "copy", "concatenate", "where", "mean",
           "var", "std"]


def _reshape_vjp(out, x, shape, order="C"):
    return lambda g: (np.reshape(g, x.shape, order=order),)


@primitive(_reshape_vjp)
def reshape(x, shape, order="C"):
    return np.reshape(x, shape, order=order)


def _transpose_vjp(out, x, axes=None):
    inverse = None if axes is None else np.argsort([a % x.ndim for a in axes])
    return lambda g: (np.transpose(g, inverse),)


@primitive(_transpose_vjp)
def transpose(x, axes=None):
    return np.transpose(x, axes)


def _getitem_vjp(out, x, index):
    def vjp(g):
        grad = np.zeros(x.shape, np.result_type(g.dtype, x.dtype))
        np.add.at(grad, index, g)  # repeated indices accumulate, as they must
        return (grad, None)
    return vjp


@primitive(_getitem_vjp)
def getitem(x, index):
    from fastconv.autodiff.primitive import plain
    if isinstance(index, tuple):
        index = tuple(plain(i) for i in index)
    else:
        index = plain(index)
    return np.ndarray.__getitem__(x, index)


def _astype_vjp(out, x, dtype):
    if x.dtype.kind != "f":
        return lambda g: (None,)
    return lambda g: (np.asarray(g, x.dtype),)


@primitive(_astype_vjp)
def astype(x, dtype):
    return np.ndarray.astype(x, dtype)


@primitive(lambda out, x: lambda g: (g,))
def copy(x):
    return np.array(x)


def _concatenate_vjp(out, *arrays, axis=0):
    ends = np.cumsum([a.shape[axis] if axis is not None else a.size for a in arrays])

    def vjp(g):
        if axis is None:
            parts = np.split(g, ends[:-1])
            return tuple(p.reshape(a.shape) for p, a in zip(parts, arrays))
        return tuple(np.split(g, ends[:-1], axis=axis))
    return vjp


@primitive(_concatenate_vjp)
def _concatenate(*arrays, axis=0):
    return np.concatenate(arrays, axis=axis)


def concatenate(arrays, axis=0, out=None, dtype=None, casting="same_kind"):
    """np.concatenate, differentiable in each array."""
    if out is not None or dtype is not None:
        raise TypeError("concatenate on traced values takes no `out` or `dtype`.")
    return _concatenate(*arrays, axis=axis)


def _where_vjp(out, condition, x, y):
    condition = np.asarray(condition, bool)
    return lambda g: (None, np.where(condition, g, 0), np.where(condition, 0, g))


@primitive(_where_vjp)
def where(condition, x=None, y=None):
    if x is None and y is None:
        raise TypeError("where(condition) on traced values: use np.nonzero.")
    return np.where(condition, x, y)


def mean(x, axis=None, dtype=None, out=None, keepdims=False):
    """np.mean, differentiable (NumPy's own divides in place, which the tape refuses)."""
    if out is not None:
        raise TypeError("mean on traced values takes no `out`.")
    total = np.sum(x, axis=axis, dtype=dtype, keepdims=keepdims)
    count = np.size(x) // max(np.size(total), 1) if np.size(x) else 0
    return total / count


def var(x, axis=None, dtype=None, out=None, ddof=0, keepdims=False):
    """np.var, differentiable."""
    if out is not None:
        raise TypeError("var on traced values takes no `out`.")
    centered = x - mean(x, axis=axis, dtype=dtype, keepdims=True)
    total = np.sum(centered * centered, axis=axis, keepdims=keepdims)
    count = np.size(x) // max(np.size(total), 1) if np.size(x) else 0
    return total / max(count - ddof, 0)


def std(x, axis=None, dtype=None, out=None, ddof=0, keepdims=False):
    """np.std, differentiable."""
    return np.sqrt(var(x, axis=axis, dtype=dtype, out=out, ddof=ddof, keepdims=keepdims))


def _clip_vjp(out, x, a_min=None, a_max=None, **kwargs):
    inside = np.ones(x.shape, bool)
    if a_min is not None:
        inside &= x >= a_min
    if a_max is not None:
        inside &= x <= a_max
    return lambda g: (np.where(inside, g, 0), None, None)


@primitive(_clip_vjp)
def _clip(x, a_min=None, a_max=None, **kwargs):
    return np.clip(x, a_min, a_max, **kwargs)


def clip(x, a_min=None, a_max=None, out=None, *, min=None, max=None, **kwargs):
    """np.clip, differentiable in `x` (the gradient passes where x lies inside the bounds)."""
    if out is not None:
        raise TypeError("clip on traced values takes no `out`.")
    low = a_min if a_min is not None else min
    high = a_max if a_max is not None else max
    return _clip(x, low, high, **kwargs)


register_function(np.clip, clip)
register_function(np.mean, mean)
register_function(np.var, var)
register_function(np.std, std)
register_function(np.concatenate, concatenate)
register_function(np.where, where)
