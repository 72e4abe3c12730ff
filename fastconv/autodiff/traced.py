"""Traced arrays: the values a recording tape follows through NumPy.

`Traced` and `Variable` are ndarray subclasses, so NumPy code, the compiled kernels and
Python operators accept them unchanged. They intercept NumPy's two dispatch protocols:
ufuncs (`+`, `*`, `np.exp`, `x.sum()`, ...) and array functions (`np.concatenate`, ...).
Under a recording tape an intercepted call with a traced argument is recorded with its
vector-Jacobian product; anything the tape cannot differentiate raises a TypeError that
names it (never a silently missing gradient). Outside a tape they compute on plain
arrays and return plain arrays.
"""

import numpy as np

from fastconv.autodiff.tape import active_tape

__all__ = ["TapeArray", "Traced", "trace", "node_of", "register_ufunc", "register_function"]

_UFUNC_VJPS = {}       # (ufunc, method) -> vjp_maker(out, *inputs, **kwargs)
_FUNCTIONS = {}        # NumPy function -> its differentiable fastconv op
# Ufuncs and functions whose result carries no gradient (comparisons, indices, shapes):
# they run on plain values and return constants.
_CONSTANT_UFUNCS = frozenset({
    np.greater, np.greater_equal, np.less, np.less_equal, np.equal, np.not_equal,
    np.logical_and, np.logical_or, np.logical_xor, np.logical_not, np.isnan, np.isinf,
    np.isfinite, np.sign, np.floor, np.ceil, np.rint, np.trunc, np.signbit,
    np.floor_divide, np.remainder, np.bitwise_and, np.bitwise_or, np.invert,
})
_CONSTANT_FUNCTIONS = frozenset({
    np.shape, np.ndim, np.size, np.argmax, np.argmin, np.argsort, np.result_type,
    np.array_equal, np.allclose, np.isclose, np.nonzero, np.count_nonzero, np.zeros_like,
    np.ones_like, np.empty_like, np.full_like, np.unique, np.any, np.all, np.searchsorted,
    np.array_repr, np.array_str, np.can_cast, np.iscomplexobj, np.isrealobj, np.copyto,
    np.may_share_memory, np.shares_memory, np.around, np.round, np.nan_to_num,
})

# NumPy functions written in Python whose bodies touch the data only through ufuncs,
# reductions and the ndarray methods TapeArray routes (checked one by one).
_THROUGH_UFUNCS = frozenset({
    np.sum, np.max, np.min, np.amax, np.amin, np.prod,
    np.expand_dims, np.moveaxis, np.squeeze, np.swapaxes, np.reshape, np.transpose,
    np.ravel, np.stack, np.cumsum,
})


def register_ufunc(ufunc, vjp_maker, method="__call__"):
    """Declares the gradient of `ufunc` (or of `ufunc.reduce` etc. with `method`)."""
    _UFUNC_VJPS[(ufunc, method)] = vjp_maker


def register_function(numpy_function, op):
    """Routes `numpy_function` on traced values to the differentiable `op`."""
    _FUNCTIONS[numpy_function] = op


_DETACHED = object()


def node_of(value, tape):
    """The Node of `value` on `tape`, or None if `value` is a constant there."""
    if not isinstance(value, TapeArray):
        return None
    return value._node_on(tape)


def trace(array, node, tape):
    """`array` (plain) as a Traced value bound to `node` on `tape`."""
    traced = np.asarray(array).view(Traced)
    traced._bind(node, tape)
    return traced


def _plain_tree(value):
    if isinstance(value, TapeArray):
        return value.view(np.ndarray)
    if isinstance(value, (list, tuple)):
        return type(value)(_plain_tree(v) for v in value)
    return value


def _any_traced(values, tape):
    for value in values:
        if isinstance(value, (list, tuple)):
            if _any_traced(value, tape):
                return True
        elif node_of(value, tape) is not None:
            return True
    return False


def _describe(ufunc, method):
    return f"np.{ufunc.__name__}" + ("" if method == "__call__" else f".{method}")


class TapeArray(np.ndarray):
    """The ndarray base of `Traced` and `Variable`: NumPy dispatch through the tape."""

    def _node_on(self, tape):
        raise NotImplementedError

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        tape = active_tape()
        out = kwargs.get("out")
        if out is not None:
            kwargs["out"] = tuple(_plain_tree(o) for o in out)
        plain_inputs = [_plain_tree(x) for x in inputs]
        traced = tape is not None and _any_traced(inputs, tape)
        if traced and out is not None and _any_traced(out, tape) and not all(
                type(o).__name__ == "Variable" for o in out if isinstance(o, TapeArray)):
            raise TypeError(f"In-place {_describe(ufunc, method)} on a value the gradient tape "
                            "follows would lose its gradient; write `y = x + ...` instead.")
        result = getattr(ufunc, method)(*plain_inputs, **kwargs)
        if out is not None:
            return out[0] if len(out) == 1 else out
        if not traced or ufunc in _CONSTANT_UFUNCS:
            return result
        vjp_maker = _UFUNC_VJPS.get((ufunc, method))
        if vjp_maker is None:
            raise TypeError(f"{_describe(ufunc, method)} has no gradient in fastconv's tape; "
                            "use a fastconv.ops function or stop_gradient on its inputs.")
        from fastconv.autodiff.primitive import record
        return record(tape, result, inputs, vjp_maker(result, *plain_inputs, **kwargs))

    def __array_function__(self, func, types, args, kwargs):
        tape = active_tape()
        if tape is not None and (_any_traced(args, tape) or _any_traced(kwargs.values(), tape)):
            op = _FUNCTIONS.get(func)
            if op is not None:
                return op(*args, **kwargs)
            if func in _THROUGH_UFUNCS:
                # NumPy's own Python body: it reaches the data only through ufuncs and the
                # methods routed below, each of which the tape records.
                return func._implementation(*args, **kwargs)
            if func not in _CONSTANT_FUNCTIONS:
                raise TypeError(f"np.{func.__name__} has no gradient in fastconv's tape; use "
                                "the fastconv.ops function of that name or stop_gradient on "
                                "its inputs.")
        args = tuple(_plain_tree(a) for a in args)
        kwargs = {key: _plain_tree(value) for key, value in kwargs.items()}
        return func(*args, **kwargs)

    # ndarray methods that make views or copies without a ufunc: routed through the
    # differentiable ops, so `x.reshape(...)`, `x.T` and `x[i]` keep their gradients.
    # Without a recording tape they are NumPy's own on the plain array (built-in layers
    # reshape and index their weight Variables at every step).
    def reshape(self, *shape, order="C"):
        if active_tape() is None:
            return np.ndarray.reshape(self.view(np.ndarray), *shape, order=order)
        from fastconv.autodiff import basic_ops
        if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
            shape = tuple(shape[0])
        return basic_ops.reshape(self, shape, order=order)

    def transpose(self, *axes):
        if active_tape() is None:
            return np.ndarray.transpose(self.view(np.ndarray), *axes)
        from fastconv.autodiff import basic_ops
        if len(axes) == 1 and (axes[0] is None or isinstance(axes[0], (tuple, list))):
            axes = axes[0]
        return basic_ops.transpose(self, axes or None)

    @property
    def T(self):
        return self.transpose()

    @property
    def mT(self):
        return self.swapaxes(-1, -2)

    def __getitem__(self, index):
        if active_tape() is None:
            return np.ndarray.__getitem__(self.view(np.ndarray), index)
        from fastconv.autodiff import basic_ops
        return basic_ops.getitem(self, index)

    def astype(self, dtype, order="K", casting="unsafe", subok=True, copy=True):
        from fastconv.autodiff import basic_ops
        return basic_ops.astype(self, dtype)

    def flatten(self, order="C"):
        return self.reshape(-1, order=order)

    def ravel(self, order="C"):
        return self.reshape(-1, order=order)

    def squeeze(self, axis=None):
        shape = self.shape
        if axis is None:
            axes = {i for i, dim in enumerate(shape) if dim == 1}
        else:
            axes = {a % self.ndim for a in (axis if isinstance(axis, (tuple, list)) else (axis,))}
            if any(shape[a] != 1 for a in axes):
                raise ValueError("cannot select an axis to squeeze out which has size not "
                                 "equal to one")
        return self.reshape(tuple(d for i, d in enumerate(shape) if i not in axes))

    def swapaxes(self, axis1, axis2):
        axes = list(range(self.ndim))
        axes[axis1], axes[axis2] = axes[axis2], axes[axis1]
        return self.transpose(axes)

    def copy(self, order="C"):
        from fastconv.autodiff import basic_ops
        return basic_ops.copy(self)

    def mean(self, axis=None, dtype=None, out=None, keepdims=False):
        from fastconv.autodiff import basic_ops
        return basic_ops.mean(self, axis=axis, dtype=dtype, out=out, keepdims=keepdims)

    def var(self, axis=None, dtype=None, out=None, ddof=0, keepdims=False):
        from fastconv.autodiff import basic_ops
        return basic_ops.var(self, axis=axis, dtype=dtype, out=out, ddof=ddof, keepdims=keepdims)

    def std(self, axis=None, dtype=None, out=None, ddof=0, keepdims=False):
        from fastconv.autodiff import basic_ops
        return basic_ops.std(self, axis=axis, dtype=dtype, out=out, ddof=ddof, keepdims=keepdims)

    def clip(self, min=None, max=None, out=None, **kwargs):
        if out is not None:
            raise TypeError("clip on a traced value or Variable takes no `out`.")
        return np.clip(self, min, max, **kwargs)

    def dot(self, other):
        return np.matmul(self, other) if np.ndim(other) >= 1 and self.ndim >= 1 else self * other

    def __array_finalize__(self, obj):
        # A view or copy made by an ndarray method not routed above: mark it, so that a later
        # differentiable op on it raises instead of silently losing the gradient.
        if isinstance(obj, TapeArray) and obj._traced_somewhere():
            self._origin = _DETACHED

    def _traced_somewhere(self):
        return False


class Traced(TapeArray):
    """A value computed under a recording tape (see the module docstring)."""

    _node = None
    _tape = None
    _origin = None

    def _bind(self, node, tape):
        self._node = node
        self._tape = tape
        self._origin = None

    def _traced_somewhere(self):
        return self._node is not None or self._origin is _DETACHED

    def _node_on(self, tape):
        if self._origin is _DETACHED and tape is not None:
            raise TypeError("This array was made from a traced value by an ndarray method the "
                            "gradient tape does not follow; use the fastconv.ops function "
                            "(reshape, transpose, take, ...) instead.")
        return self._node if self._tape is tape else None

    # A traced value is a result, immutable as a TensorFlow or JAX tensor: `loss += x`
    # rebinds the name to a new value (recorded) instead of writing in place.
    def __iadd__(self, other):
        return self + other

    def __isub__(self, other):
        return self - other

    def __imul__(self, other):
        return self * other

    def __itruediv__(self, other):
        return self / other

    def __ipow__(self, other):
        return self ** other

    def __repr__(self):
        return "traced(" + repr(self.view(np.ndarray)) + ")"

    def __reduce__(self):  # pickles as the plain array it holds
        return self.view(np.ndarray).__reduce__()
