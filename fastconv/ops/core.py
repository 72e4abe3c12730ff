"""Core ops of `keras.ops`: conversion, casting, control flow, slicing and scattering.

Everything runs eagerly: `cond` is a Python `if`, the loops are Python loops (so the
gradient tape records each iteration), and `vectorized_map` maps one element at a time.
"""

import builtins
import functools

import numpy as np

from fastconv import autodiff
from fastconv.autodiff import primitive
from fastconv.ops._tensor import standardize_dtype, tensor
from fastconv.ops.shape_ops import split, squeeze

__all__ = ["convert_to_tensor", "convert_to_numpy", "is_tensor", "shape", "dtype", "cast",
           "stop_gradient", "custom_gradient", "cond", "switch", "fori_loop", "while_loop", "scan", "map",
           "vectorized_map", "unstack", "slice", "slice_update", "scatter", "scatter_update"]


def convert_to_tensor(x, dtype=None, sparse=None, ragged=None):
    """`x` as an array: Python floats give float32, Python ints int32; arrays keep their dtype
    (and, under a gradient tape, their gradient).

    Example:
        >>> from fastconv import ops
        >>> ops.convert_to_tensor([1.0, 2.0]).dtype, ops.convert_to_tensor(3).dtype
        (dtype('float32'), dtype('int32'))
    """
    if sparse:
        raise ValueError("`sparse=True` is not supported by fastconv (NumPy arrays are dense).")
    if ragged:
        raise ValueError("`ragged=True` is not supported by fastconv (NumPy arrays are dense).")
    return tensor(x, dtype)


def convert_to_numpy(x):
    """A plain NumPy copy of `x` (no gradient, no Variable)."""
    return np.array(autodiff.plain(x))


def is_tensor(x):
    """Whether `x` is an array fastconv's ops return (a NumPy array or scalar)."""
    return isinstance(x, (np.ndarray, np.generic))


def shape(x):
    """The shape of `x` as a tuple of ints."""
    return tuple(np.shape(x))


def dtype(x):
    """The dtype of `x` as Keras names it ("float32", "int32", ...)."""
    return tensor(x).dtype.name


def cast(x, dtype):
    """`x` converted to `dtype` (differentiable between float types)."""
    return tensor(x, standardize_dtype(dtype))


def stop_gradient(variable):
    """`variable` as a constant: the gradient tape passes no gradient through it."""
    return autodiff.stop_gradient(variable)


def custom_gradient(f):
    """Decorates `f(*args) -> (result, grad_fn)` into an op whose gradient is `grad_fn`.

    `f` runs on plain arrays (what it computes is not recorded); under a gradient tape,
    `grad_fn(upstream)` is called with dL/d(result) and returns dL/d(arg), one per
    positional argument (a single value for one argument).

    Example:
        >>> from fastconv import ops
        >>> from fastconv.autodiff import GradientTape
        >>> @ops.custom_gradient
        ... def log1pexp(x):
        ...     e = ops.exp(x)
        ...     def grad(upstream):
        ...         return upstream * (1.0 - 1.0 / (1 + e))
        ...     return ops.log(1 + e), grad
        >>> with GradientTape() as tape:
        ...     x = tape.watch(ops.convert_to_tensor([100.0], "float64"))
        ...     y = log1pexp(x)
        >>> tape.gradient(y, x)
        array([1.])
    """
    @functools.wraps(f)
    def op(*args, **kwargs):
        tape = autodiff.active_tape()
        result, grad_fn = f(*[autodiff.plain(arg) for arg in args], **kwargs)
        if tape is None or builtins.all(tape.node_for(arg) is None for arg in args):
            return result

        def vjp(upstream):
            grads = grad_fn(upstream)
            return tuple(grads) if isinstance(grads, (tuple, list)) else (grads,)
        return autodiff.record(tape, autodiff.plain(result), args, vjp)
    return op


def cond(pred, true_fn, false_fn):
    """`true_fn()` if `pred` else `false_fn()` (eager: a Python `if`)."""
    return true_fn() if bool(pred) else false_fn()


def switch(index, branches, *operands):
    """`branches[index](*operands)`, with `index` clamped to the valid range."""
    position = int(np.clip(int(index), 0, len(branches) - 1))
    return branches[position](*operands)


def fori_loop(lower, upper, body_fun, init_val):
    """`val = body_fun(i, val)` for i in range(lower, upper), starting from `init_val`."""
    value = init_val
    for i in range(int(lower), int(upper)):
        value = body_fun(i, value)
    return value


def while_loop(cond, body, loop_vars, maximum_iterations=None):
    """`loop_vars = body(*loop_vars)` while `cond(*loop_vars)` (and fewer than
    `maximum_iterations` steps); a single loop variable may be passed unwrapped."""
    is_sequence = isinstance(loop_vars, (tuple, list))
    values = tuple(loop_vars) if is_sequence else (loop_vars,)
    steps = 0
    while (maximum_iterations is None or steps < maximum_iterations) and bool(cond(*values)):
        values = body(*values)
        values = tuple(values) if isinstance(values, (tuple, list)) else (values,)
        steps += 1
    return type(loop_vars)(values) if is_sequence else values[0]


def _stack_tree(items):
    first = items[0]
    if first is None:
        return None
    if isinstance(first, (tuple, list)):
        return type(first)(_stack_tree([item[i] for item in items]) for i in range(len(first)))
    if isinstance(first, dict):
        return {key: _stack_tree([item[key] for item in items]) for key in first}
    return np.stack([tensor(item) for item in items])


def _index_tree(xs, i):
    if isinstance(xs, (tuple, list)):
        return type(xs)(_index_tree(x, i) for x in xs)
    if isinstance(xs, dict):
        return {key: _index_tree(value, i) for key, value in xs.items()}
    return xs[i]


def _leading_size(xs):
    if isinstance(xs, (tuple, list)):
        return _leading_size(xs[0])
    if isinstance(xs, dict):
        return _leading_size(next(iter(xs.values())))
    return np.shape(xs)[0]


def scan(f, init, xs=None, length=None, reverse=False, unroll=1):
    """`carry, y = f(carry, x)` over the leading axis of `xs`; returns the last carry and the
    stacked ys (in the order of `xs`). `xs` may be an array or a tuple/list/dict of them."""
    if xs is None and length is None:
        raise ValueError("Got no `xs` to scan over and `length` not provided.")
    steps = length if xs is None else _leading_size(xs)
    if length is not None and length != steps:
        raise ValueError(f"`length` ({length}) does not match the leading size of `xs` "
                         f"({steps}).")
    carry, ys = init, []
    for i in (reversed(range(steps)) if reverse else range(steps)):
        carry, y = f(carry, None if xs is None else _index_tree(xs, i))
        ys.append(y)
    if reverse:
        ys.reverse()
    return carry, (_stack_tree(ys) if ys else None)


def map(f, xs):  # noqa: A001 - Keras's name
    """`f` applied to each slice of `xs` along its leading axis, results stacked."""
    return _stack_tree([f(_index_tree(xs, i)) for i in range(_leading_size(xs))])


def vectorized_map(function, elements):
    """`function` applied to each element along the leading axis (one at a time), stacked."""
    return map(function, elements)


def unstack(x, num=None, axis=0):
    """The slices of `x` along `axis`, as a list."""
    x = tensor(x)
    size = x.shape[axis]
    if num is not None and num != size:
        raise ValueError(f"`num` must equal x.shape[axis]. Received: num={num}, "
                         f"x.shape={x.shape}, axis={axis}")
    return [squeeze(part, axis) for part in split(x, size, axis=axis)]


def _window(inputs, start_indices, sizes):
    """The index tuple of the box at `start_indices` with `sizes` (checked to fit)."""
    starts = [int(s) for s in np.reshape(autodiff.plain(start_indices), -1)]
    sizes = [int(n) for n in sizes]
    if len(starts) != np.ndim(inputs) or len(sizes) != np.ndim(inputs) or builtins.any(
            s < 0 or n < 0 or s + n > d for s, n, d in zip(starts, sizes, np.shape(inputs))):
        raise ValueError("The slice must lie inside `inputs`, one start and size per axis. "
                         f"Received: inputs.shape={np.shape(inputs)}, "
                         f"start_indices={starts}, shape={sizes}")
    return tuple(builtins.slice(s, s + n) for s, n in zip(starts, sizes))


def slice(inputs, start_indices, shape):  # noqa: A001 - Keras's name
    """The box of `inputs` of `shape` starting at `start_indices` (differentiable).

    Example:
        >>> import numpy as np
        >>> from fastconv import ops
        >>> ops.slice(np.arange(6).reshape(2, 3), (0, 1), (2, 2)).tolist()
        [[1, 2], [4, 5]]
    """
    inputs = tensor(inputs)
    return inputs[_window(inputs, start_indices, shape)]


def _slice_update_vjp(out, inputs, start_indices, updates):
    box = _window(inputs, start_indices, np.shape(updates))

    def vjp(g):
        outside = np.array(g)
        outside[box] = 0
        return outside, None, g[box]
    return vjp


@primitive(_slice_update_vjp)
def _slice_update(inputs, start_indices, updates):
    result = np.array(inputs)
    result[_window(inputs, start_indices, np.shape(updates))] = updates
    return result


def slice_update(inputs, start_indices, updates):
    """A copy of `inputs` with the box at `start_indices` replaced by `updates`."""
    return _slice_update(tensor(inputs), start_indices, tensor(updates))


def _points(indices, shape):
    """Integer `indices` of shape (..., k) as the fancy index of k leading axes."""
    indices = np.asarray(autodiff.plain(indices))
    if indices.dtype.kind not in "iu" or indices.ndim < 1 or indices.shape[-1] > len(shape):
        raise ValueError("`indices` must be integers of shape (..., k) with k <= rank. "
                         f"Received: indices.shape={indices.shape}, dtype={indices.dtype}, "
                         f"target shape={tuple(shape)}")
    return tuple(np.moveaxis(indices, -1, 0))


def _scatter_vjp(out, indices, values, shape):
    where = _points(indices, shape)
    return lambda g: (None, g[where], None)


@primitive(_scatter_vjp)
def _scatter(indices, values, shape):
    result = np.zeros(tuple(shape), values.dtype)
    np.add.at(result, _points(indices, shape), values)  # repeated indices add up, as Keras's
    return result


def scatter(indices, values, shape):
    """Zeros of `shape` with `values` added at `indices` ((..., k) integer coordinates)."""
    return _scatter(indices, tensor(values), tuple(shape))


def _scatter_update_vjp(out, inputs, indices, updates):
    where = _points(indices, inputs.shape)

    def vjp(g):
        outside = np.array(g)
        outside[where] = 0
        return outside, None, g[where]
    return vjp


@primitive(_scatter_update_vjp)
def _scatter_update(inputs, indices, updates):
    result = np.array(inputs)
    result[_points(indices, inputs.shape)] = updates
    return result


def scatter_update(inputs, indices, updates, reduction=None):
    """A copy of `inputs` with `updates` written at `indices` ((..., k) coordinates)."""
    if reduction is not None:
        raise ValueError("scatter_update supports only reduction=None in fastconv. "
                         f"Received: reduction={reduction!r}")
    return _scatter_update(tensor(inputs), indices, tensor(updates))
