"""Array creation of `keras.ops`: ones, zeros, full, arange, linspace, eye, tri, meshgrid, ...

Keras's defaults: float32 (its `floatx`) where no dtype is given, int32 for ranges of Python
ints. `tril`, `triu` and `meshgrid` are differentiable in their array arguments.
"""

import operator

import numpy as np

from fastconv.autodiff import primitive, register_function
from fastconv.ops import _aligned
from fastconv.ops._tensor import standardize_dtype, tensor
from fastconv.ops.shape_ops import broadcast_to

__all__ = ["array", "copy", "ones", "zeros", "full", "empty", "ones_like", "zeros_like",
           "full_like", "empty_like", "arange", "linspace", "eye", "identity", "tri", "tril",
           "triu", "meshgrid"]


def array(x, dtype=None):
    """A new array holding `x` (Keras's dtype defaults; differentiable)."""
    return tensor(x, dtype).copy()


def copy(x):
    """A copy of `x` (differentiable)."""
    return tensor(x).copy()


def ones(shape, dtype=None):
    """An array of ones (float32 unless `dtype` is given).

    Example:
        >>> from fastconv import ops
        >>> ops.ones((2,))
        array([1., 1.], dtype=float32)
    """
    return np.ones(shape, standardize_dtype(dtype))


def _extents(shape):
    """`shape` (an int or a sequence of ints) as a tuple of ints."""
    return tuple(map(operator.index, shape)) if np.iterable(shape) else (operator.index(shape),)


def zeros(shape, dtype=None):
    """An array of zeros (float32 unless `dtype` is given); from 16 KiB on its data starts on a
    64-byte cache line, as the `empty` one's does."""
    return _aligned.zeros(_extents(shape), standardize_dtype(dtype))


def full(shape, fill_value, dtype=None):
    """An array filled with `fill_value` (float32 unless `dtype` is given)."""
    return np.full(shape, fill_value, standardize_dtype(dtype))


def empty(shape, dtype=None):
    """An uninitialized array (float32 unless `dtype` is given). From 16 KiB on its data starts
    on a 64-byte cache line, where NumPy's np.empty starts on 16 bytes: as an `out=` buffer of
    the kernels, such an array takes their full-width and streaming stores (a first layer's
    forward pass ran 1.24-1.54x faster into it on AMD Zen 3)."""
    return _aligned.empty(_extents(shape), standardize_dtype(dtype))


def _like_dtype(x, dtype):
    return tensor(x).dtype if dtype is None else standardize_dtype(dtype)


def ones_like(x, dtype=None):
    """Ones of x's shape and dtype (or `dtype`)."""
    return np.ones(np.shape(x), _like_dtype(x, dtype))


def zeros_like(x, dtype=None):
    """Zeros of x's shape and dtype (or `dtype`), aligned as `zeros`."""
    return _aligned.zeros(np.shape(x), _like_dtype(x, dtype))


def full_like(x, fill_value, dtype=None):
    """`fill_value` in x's shape and dtype (or `dtype`)."""
    return np.full(np.shape(x), fill_value, _like_dtype(x, dtype))


def empty_like(x, dtype=None):
    """An uninitialized array of x's shape and dtype (or `dtype`), aligned as `empty`."""
    return _aligned.empty(np.shape(x), _like_dtype(x, dtype))


def arange(start, stop=None, step=None, dtype=None):
    """Evenly spaced values in [start, stop); int32 for Python ints, float32 for floats.

    Example:
        >>> from fastconv import ops
        >>> ops.arange(1, 7, 2)
        array([1, 3, 5], dtype=int32)
    """
    if dtype is None:
        dtype = tensor([value for value in (start, stop, step) if value is not None]).dtype
    if stop is None:
        start, stop = 0, start
    return np.arange(start, stop, 1 if step is None else step, dtype=standardize_dtype(dtype))


def linspace(start, stop, num=50, endpoint=True, retstep=False, dtype=None, axis=0):
    """`num` evenly spaced values from `start` to `stop` (float32 for Python numbers)."""
    if dtype is None:
        dtype = tensor([start, stop, 0.0]).dtype
    return np.linspace(start, stop, num=num, endpoint=endpoint, retstep=retstep,
                       dtype=standardize_dtype(dtype), axis=axis)


def eye(N, M=None, k=0, dtype=None):
    """A 2-D array with ones on the `k`-th diagonal (float32 unless `dtype` is given)."""
    return np.eye(N, M, k, dtype=standardize_dtype(dtype))


def identity(n, dtype=None):
    """The n x n identity (float32 unless `dtype` is given)."""
    return np.identity(n, dtype=standardize_dtype(dtype))


def tri(N, M=None, k=0, dtype=None):
    """Ones at and below the `k`-th diagonal (float32 unless `dtype` is given)."""
    return np.tri(N, M, k, dtype=standardize_dtype(dtype))


@primitive(lambda out, x, k=0: lambda g: (np.tril(g, k),))
def tril(x, k=0):
    """`x` with the elements above the `k`-th diagonal set to zero."""
    return np.tril(tensor(x), k)


@primitive(lambda out, x, k=0: lambda g: (np.triu(g, k),))
def triu(x, k=0):
    """`x` with the elements below the `k`-th diagonal set to zero."""
    return np.triu(tensor(x), k)


def meshgrid(*x, indexing="xy"):
    """Coordinate arrays from 1-D coordinate vectors ("xy": Cartesian, "ij": matrix)."""
    if indexing not in ("xy", "ij"):
        raise ValueError(f"Valid values for `indexing` are 'xy' and 'ij'. "
                         f"Received: indexing={indexing}")
    vectors = [np.reshape(tensor(v), -1) for v in x]
    shape = [v.shape[0] for v in vectors]
    swap = indexing == "xy" and len(vectors) > 1  # Cartesian: the first two axes swap
    if swap:
        shape[0], shape[1] = shape[1], shape[0]
    grids = []
    for position, vector in enumerate(vectors):
        view = [1] * len(vectors)
        axis = {0: 1, 1: 0}.get(position, position) if swap else position
        view[axis] = -1
        grids.append(broadcast_to(np.reshape(vector, view), tuple(shape)))
    return grids


def _numpy_meshgrid(*xi, copy=True, sparse=False, indexing="xy"):
    if sparse:
        raise TypeError("np.meshgrid(sparse=True) on traced values is not supported.")
    return meshgrid(*xi, indexing=indexing)


register_function(np.meshgrid, _numpy_meshgrid)
register_function(np.tril, lambda m, k=0: tril(m, k))
register_function(np.triu, lambda m, k=0: triu(m, k))
