"""Shape and indexing ops of `keras.ops`: reshape, transpose, concatenate, stack, tile, repeat,
split, take, pad, flip, roll, where, ...

The views NumPy builds from methods the tape follows (reshape, transpose, squeeze,
expand_dims, moveaxis, swapaxes, concatenate, stack) go through NumPy; the rest are
primitives here and registered for their NumPy functions, so `np.tile(traced, 2)` is
differentiable as well.
"""

import numpy as np

from fastconv.autodiff import primitive, register_function
from fastconv.ops._tensor import promote, tensor

__all__ = ["reshape", "transpose", "concatenate", "append", "stack", "hstack", "vstack",
           "expand_dims", "squeeze", "ravel", "swapaxes", "moveaxis", "tile", "repeat",
           "broadcast_to", "split", "array_split", "take", "take_along_axis", "get_item", "pad",
           "flip", "roll", "where", "select", "diagonal", "diag", "nonzero", "size", "ndim"]


def reshape(x, newshape):
    """`x` with the shape `newshape` (one entry may be -1)."""
    return np.reshape(tensor(x), newshape)


def transpose(x, axes=None):
    """`x` with its axes permuted (reversed when `axes` is None)."""
    return np.transpose(tensor(x), axes)


def concatenate(xs, axis=0):
    """The arrays `xs` joined along an existing `axis`."""
    return np.concatenate([tensor(x) for x in xs], axis=axis)


def append(x1, x2, axis=None):
    """`x2` appended to `x1` along `axis` (None: both flattened)."""
    x1, x2 = promote(x1, x2)
    if axis is None:
        return concatenate([np.reshape(x1, -1), np.reshape(x2, -1)])
    return concatenate([x1, x2], axis=axis)


def stack(x, axis=0):
    """The arrays `x` (of one shape) joined along a new `axis`."""
    return np.stack([tensor(item) for item in x], axis=axis)


def hstack(xs):
    """The arrays joined along axis 1 (axis 0 for 1-D ones)."""
    xs = [tensor(x) for x in xs]
    return concatenate(xs, axis=0 if xs and xs[0].ndim <= 1 else 1)


def vstack(xs):
    """The arrays joined along axis 0 (1-D ones as rows)."""
    return concatenate([np.reshape(x, (1, -1)) if np.ndim(x) <= 1 else x
                        for x in map(tensor, xs)], axis=0)


def expand_dims(x, axis):
    """`x` with a size-1 axis inserted at `axis` (an int or a tuple)."""
    return np.expand_dims(tensor(x), axis)


def squeeze(x, axis=None):
    """`x` without its size-1 axes (only those in `axis` when given)."""
    return np.squeeze(tensor(x), axis=tuple(axis) if isinstance(axis, list) else axis)


def ravel(x):
    """`x` flattened to 1-D."""
    return np.reshape(tensor(x), -1)


def swapaxes(x, axis1, axis2):
    """`x` with two axes exchanged."""
    return np.swapaxes(tensor(x), axis1, axis2)


def moveaxis(x, source, destination):
    """`x` with axes moved from `source` to `destination` (ints or sequences)."""
    return np.moveaxis(tensor(x), source, destination)


def _tile_vjp(out, x, repeats):
    reps = tuple(np.atleast_1d(repeats).tolist())
    ndim = max(x.ndim, len(reps))
    reps = (1,) * (ndim - len(reps)) + reps
    shape = (1,) * (ndim - x.ndim) + x.shape

    def vjp(g):
        blocks = np.reshape(g, [size for pair in zip(reps, shape) for size in pair])
        return (blocks.sum(axis=tuple(range(0, 2 * ndim, 2))).reshape(x.shape), None)
    return vjp


@primitive(_tile_vjp)
def tile(x, repeats):
    """`x` repeated `repeats` times along each axis (an int or one count per axis).

    Example:
        >>> from fastconv import ops
        >>> ops.tile([1.0, 2.0], 2)
        array([1., 2., 1., 2.], dtype=float32)
    """
    return np.tile(tensor(x), repeats)


def _scatter_add(shape, axis, index, g):
    """Zeros of `shape` with `g` added at `index` along `axis` (repeats accumulate)."""
    grad = np.zeros(shape, g.dtype)
    np.add.at(grad, (slice(None),) * axis + (index,), g)
    return grad


def _repeat_vjp(out, x, repeats, axis=None):
    def vjp(g):
        source = x.reshape(-1) if axis is None else x
        along = 0 if axis is None else axis % x.ndim
        index = np.repeat(np.arange(source.shape[along]), repeats)
        return (_scatter_add(source.shape, along, index, g).reshape(x.shape), None)
    return vjp


@primitive(_repeat_vjp)
def repeat(x, repeats, axis=None):
    """Each element of `x` repeated `repeats` times along `axis` (None: flattened first)."""
    return np.repeat(tensor(x), repeats, axis=axis)


@primitive(lambda out, x, shape: lambda g: (g, None))  # the tape sums g back to x's shape
def broadcast_to(x, shape):
    """`x` broadcast to `shape` (a read-only view)."""
    return np.broadcast_to(tensor(x), shape)


def _split_vjp(out, x, indices_or_sections, axis=0):
    return lambda gs: (np.concatenate(gs, axis=axis), None)


@primitive(_split_vjp)
def split(x, indices_or_sections, axis=0):
    """`x` split along `axis` into equal sections or at the given indices (a list)."""
    return list(np.split(tensor(x), indices_or_sections, axis=axis))


@primitive(_split_vjp)
def array_split(x, indices_or_sections, axis=0):
    """As `split`, allowing sections of unequal sizes."""
    return list(np.array_split(tensor(x), indices_or_sections, axis=axis))


def _take_vjp(out, x, indices, axis=None):
    def vjp(g):
        if axis is None:
            return (_scatter_add(x.size, 0, indices, g).reshape(x.shape), None)
        return (_scatter_add(x.shape, axis % x.ndim, indices, g), None)
    return vjp


@primitive(_take_vjp)
def _take(x, indices, axis=None):
    return np.take(x, indices, axis=axis)


def take(x, indices, axis=None):
    """Elements of `x` at `indices` along `axis` (None: of the flattened `x`); repeated
    indices accumulate their gradients."""
    return _take(tensor(x), np.asarray(indices), axis=axis)


def _along_axis_index(indices, shape, axis):
    """The full fancy index that `take_along_axis(x, indices, axis)` reads."""
    index = []
    for dim, size in enumerate(shape):
        if dim == axis:
            index.append(indices)
        else:
            view = [1] * len(shape)
            view[dim] = size
            index.append(np.arange(size).reshape(view))
    return tuple(index)


def _take_along_axis_vjp(out, x, indices, axis=None):
    def vjp(g):
        if axis is None:
            return (_scatter_add(x.size, 0, indices, g).reshape(x.shape), None)
        grad = np.zeros(x.shape, g.dtype)
        np.add.at(grad, _along_axis_index(indices, x.shape, axis % x.ndim), g)
        return (grad, None)
    return vjp


@primitive(_take_along_axis_vjp)
def _take_along_axis(x, indices, axis=None):
    if axis is None:
        return np.take_along_axis(x.reshape(-1), indices.reshape(-1), axis=0)
    return np.take_along_axis(x, indices, axis=axis)


def take_along_axis(x, indices, axis=None):
    """Elements of `x` picked along `axis` by `indices` of x's rank."""
    return _take_along_axis(tensor(x), np.asarray(indices), axis=axis)


def get_item(x, key):
    """`x[key]`, differentiable."""
    return tensor(x)[key]


_INDEX_PAD_MODES = ("edge", "reflect", "symmetric", "wrap")


def _pad_vjp(out, x, pad_width, mode="constant", constant_values=None):
    widths = np.broadcast_to(np.asarray(pad_width, dtype=np.int64), (x.ndim, 2))
    if mode == "constant":
        inner = tuple(slice(int(before), int(before) + size)
                      for (before, _), size in zip(widths, x.shape))
        return lambda g: (g[inner], None)
    if mode not in _INDEX_PAD_MODES:
        raise TypeError(f"pad(mode={mode!r}) has no gradient in fastconv's tape; the "
                        f"differentiable modes are 'constant' and {_INDEX_PAD_MODES}.")
    # Every padded cell copies one input cell: pad the input's flat indices the same way
    # and send each output gradient back to its source.
    sources = np.pad(np.arange(x.size).reshape(x.shape), widths, mode=mode)

    def vjp(g):
        grad = np.zeros(x.size, g.dtype)
        np.add.at(grad, sources.reshape(-1), np.reshape(g, -1))
        return (grad.reshape(x.shape), None)
    return vjp


@primitive(_pad_vjp)
def _pad(x, pad_width, mode="constant", constant_values=None):
    if mode == "constant":
        return np.pad(x, pad_width, mode=mode, constant_values=constant_values or 0)
    return np.pad(x, pad_width, mode=mode)


def pad(x, pad_width, mode="constant", constant_values=None):
    """`x` padded by `pad_width` ((before, after) per axis, or one pair/int for all).

    Args:
        x: the array.
        pad_width: as np.pad's.
        mode: "constant", "edge", "reflect", "symmetric", "wrap" (differentiable), or
            "linear_ramp", "maximum", "mean", "median", "minimum" (forward only).
        constant_values: the fill value of "constant" mode (default 0).
    """
    if constant_values is not None and mode != "constant":
        raise ValueError("Argument `constant_values` can only be provided when `mode == "
                         f"'constant'`. Received: mode={mode}")
    return _pad(tensor(x), pad_width, mode=mode, constant_values=constant_values)


@primitive(lambda out, x, axis=None: lambda g: (np.flip(g, axis),))
def flip(x, axis=None):
    """`x` reversed along `axis` (None: every axis)."""
    return np.flip(tensor(x), axis)


def _roll_vjp(out, x, shift, axis=None):
    return lambda g: (np.roll(g, np.negative(shift), axis), None)


@primitive(_roll_vjp)
def roll(x, shift, axis=None):
    """`x` rolled by `shift` places along `axis` (None: flattened)."""
    return np.roll(tensor(x), shift, axis)


def where(condition, x1=None, x2=None):
    """`x1` where `condition` holds, else `x2`; with neither, the indices of true elements.

    Example:
        >>> from fastconv import ops
        >>> ops.where([True, False], [1.0, 2.0], 0.0)
        array([1., 0.], dtype=float32)
    """
    if x1 is None and x2 is None:
        return nonzero(condition)
    if x1 is None or x2 is None:
        raise ValueError("`x1` and `x2` must both be given, or neither. "
                         f"Received: x1={x1!r:.40}, x2={x2!r:.40}")
    return np.where(tensor(condition), *promote(x1, x2))


def select(condlist, choicelist, default=0):
    """Per element, the choice of the first true condition (`default` if none)."""
    if len(condlist) != len(choicelist):
        raise ValueError("`condlist` and `choicelist` must have the same length. Received: "
                         f"len(condlist)={len(condlist)}, len(choicelist)={len(choicelist)}")
    result = tensor(default)
    for condition, choice in zip(reversed(condlist), reversed(choicelist)):
        result = where(condition, choice, result)
    return result


def _diagonal_vjp(out, x, offset=0, axis1=0, axis2=1):
    def vjp(g):
        grad = np.zeros(x.shape, g.dtype)
        last_two = np.moveaxis(grad, (axis1, axis2), (-2, -1))  # a view into grad
        steps = np.arange(g.shape[-1])
        last_two[..., steps + max(-offset, 0), steps + max(offset, 0)] = g
        return (grad,)
    return vjp


@primitive(_diagonal_vjp)
def _diagonal(x, offset=0, axis1=0, axis2=1):
    return np.diagonal(x, offset, axis1, axis2).copy()


def diagonal(x, offset=0, axis1=0, axis2=1):
    """The `offset` diagonal of the `axis1`, `axis2` planes, along a new last axis."""
    return _diagonal(tensor(x), offset, axis1, axis2)


def _diag_vjp(out, x, k=0):
    return lambda g: (np.diagonal(g, k) if x.ndim == 1 else _diagonal_vjp(out, x, k)(g)[0],)


@primitive(_diag_vjp)
def _diag(x, k=0):
    return np.diag(x, k).copy()


def diag(x, k=0):
    """A 1-D `x` as the `k`-th diagonal of a square matrix; a 2-D `x`'s `k`-th diagonal."""
    x = tensor(x)
    if x.ndim not in (1, 2):
        raise ValueError(f"diag takes a 1-D or 2-D array. Received: x.shape={x.shape}")
    return _diag(x, k)


def nonzero(x):
    """The indices of the non-zero elements, one int array per axis. No gradient."""
    return np.nonzero(tensor(x))


def size(x):
    """The number of elements of `x`."""
    return int(np.size(x))


def ndim(x):
    """The rank of `x`."""
    return int(np.ndim(x))


def _numpy_take(a, indices, axis=None, out=None, mode="raise"):
    if out is not None or mode != "raise":
        raise TypeError("np.take on traced values takes no `out` and only mode='raise'.")
    return take(a, indices, axis)


def _numpy_pad(array, pad_width, mode="constant", **kwargs):
    if set(kwargs) - {"constant_values"}:
        raise TypeError(f"np.pad on traced values takes no {sorted(kwargs)}.")
    return pad(array, pad_width, mode, kwargs.get("constant_values"))


register_function(np.tile, lambda A, reps: tile(A, reps))
register_function(np.repeat, lambda a, repeats, axis=None: repeat(a, repeats, axis))
register_function(np.broadcast_to, lambda array, shape, subok=False: broadcast_to(array, shape))
register_function(np.split, lambda ary, indices_or_sections, axis=0:
                  split(ary, indices_or_sections, axis))
register_function(np.array_split, lambda ary, indices_or_sections, axis=0:
                  array_split(ary, indices_or_sections, axis))
register_function(np.take, _numpy_take)
register_function(np.take_along_axis, lambda arr, indices, axis=-1:
                  take_along_axis(arr, indices, axis))
register_function(np.pad, _numpy_pad)
register_function(np.flip, lambda m, axis=None: flip(m, axis))
register_function(np.roll, lambda a, shift, axis=None: roll(a, shift, axis))
register_function(np.diagonal, diagonal)
register_function(np.append, lambda arr, values, axis=None: append(arr, values, axis))
register_function(np.hstack, lambda tup, **kwargs: hstack(tup))
register_function(np.vstack, lambda tup, **kwargs: vstack(tup))
register_function(np.select, lambda condlist, choicelist, default=0:
                  select(condlist, choicelist, default))
register_function(np.diag, diag)
