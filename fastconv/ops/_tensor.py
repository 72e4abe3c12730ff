"""Keras 3's conversion and dtype rules for the `keras.ops`-style functions.

Keras turns Python floats into float32 (its `floatx`) and Python ints into int32, keeps the
dtype of arrays, computes float functions of int arrays in float32, and promotes int with
float to the float's type (JAX's lattice) where NumPy would widen to float64. Arrays the
gradient tape follows (Traced values, Variables) pass through unchanged, so that the ops
applied to them are recorded.
"""

import numpy as np

from fastconv.autodiff.traced import TapeArray
from fastconv.backend import floatx

__all__ = ["standardize_dtype", "tensor", "as_float", "promote", "axis_tuple"]

_PYTHON_DEFAULTS = {np.dtype(np.float64): np.dtype(np.float32),
                    np.dtype(np.int64): np.dtype(np.int32),
                    np.dtype(np.complex128): np.dtype(np.complex64)}


def standardize_dtype(dtype):
    """A dtype given as a string, NumPy dtype/type or Python type, as a NumPy dtype."""
    if dtype is None:
        return np.dtype(floatx())
    if dtype is float:
        return np.dtype(floatx())
    if dtype is int:
        return np.dtype(np.int32)
    try:
        return np.dtype(getattr(dtype, "name", dtype) if not isinstance(dtype, np.dtype)
                        else dtype)
    except TypeError as exc:
        raise ValueError(f"Invalid dtype: {dtype!r}") from exc


def _holds_numpy_values(value):
    """Whether a (nested) list or tuple holds NumPy arrays or scalars (which keep their
    dtype) rather than only Python numbers (which get Keras's defaults)."""
    if isinstance(value, (np.ndarray, np.generic)):
        return True
    if isinstance(value, (list, tuple)):
        return any(_holds_numpy_values(item) for item in value)
    return False


def tensor(x, dtype=None):
    """`x` as an array with Keras's default dtypes; arrays (traced or not) unchanged."""
    if dtype is not None:
        dtype = standardize_dtype(dtype)
        if isinstance(x, np.ndarray):
            return x if x.dtype == dtype else x.astype(dtype)
        return np.asarray(x, dtype=dtype)
    if isinstance(x, np.ndarray):
        return x
    if type(x).__name__ == "KerasTensor":
        raise TypeError("fastconv.ops functions compute on arrays, not on the symbolic "
                        "KerasTensors of a functional model definition: put the computation "
                        "in a custom Layer's call() (or a layers.Lambda). "
                        f"Received: {x!r:.120}")
    if isinstance(x, (list, tuple)) and any(isinstance(item, TapeArray) for item in x):
        return np.stack([tensor(item) for item in x])  # keeps the items' gradients
    array = np.asarray(x)
    default = _PYTHON_DEFAULTS.get(array.dtype)
    if default is not None and not _holds_numpy_values(x):
        if default.kind != "i" or (array.size == 0 or (
                np.iinfo(default).min <= array.min() and array.max() <= np.iinfo(default).max)):
            array = array.astype(default)
    return array


def as_float(x):
    """`x` as a float (or complex) array: ints and bools become float32, as in Keras."""
    x = tensor(x)
    if x.dtype.kind not in "fc":
        return x.astype(floatx())
    return x


def promote(x1, x2):
    """Both operands of a binary op, an int/bool one cast to the other's float type (to
    float32 against a Python float), as Keras's type promotion does."""
    x1 = x1 if isinstance(x1, (int, float, complex)) else tensor(x1)
    x2 = x2 if isinstance(x2, (int, float, complex)) else tensor(x2)
    dtype1 = getattr(x1, "dtype", None)
    dtype2 = getattr(x2, "dtype", None)
    float1 = dtype1.kind in "fc" if dtype1 is not None else isinstance(x1, (float, complex))
    float2 = dtype2.kind in "fc" if dtype2 is not None else isinstance(x2, (float, complex))
    if float1 != float2:
        if not float1 and dtype1 is not None:
            x1 = x1.astype(dtype2 if dtype2 is not None else floatx())
        elif not float2 and dtype2 is not None:
            x2 = x2.astype(dtype1 if dtype1 is not None else floatx())
    return x1, x2


def axis_tuple(axis, ndim, name="axis"):
    """`axis` (None, an int or a sequence of ints) as a tuple of non-negative axes."""
    if axis is None:
        return tuple(range(ndim))
    axes = tuple(axis) if isinstance(axis, (list, tuple)) else (axis,)
    result = []
    for a in axes:
        if not isinstance(a, (int, np.integer)) or isinstance(a, bool):
            raise TypeError(f"`{name}` must be an int or a tuple of ints. "
                            f"Received: {name}={axis!r}")
        if not -ndim <= a < max(ndim, 1):
            raise ValueError(f"`{name}` is out of bounds for a tensor of rank {ndim}. "
                             f"Received: {name}={axis!r}")
        result.append(int(a) % max(ndim, 1))
    return tuple(result)
