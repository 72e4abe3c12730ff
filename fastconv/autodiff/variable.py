"""Variable: a layer's weight, as Keras 3 exposes it, on a NumPy array.

A Variable is an ndarray subclass, so the kernels, optimizers and NumPy code use it as
the array it is (updated in place), while Keras code finds `name`, `path`, `trainable`,
`assign`, `numpy()` and `value`. Every recording `GradientTape` watches it.
"""

import numpy as np

from fastconv.autodiff.traced import _DETACHED, TapeArray

__all__ = ["Variable"]


class Variable(TapeArray):
    """A named, mutable array that the gradient tape watches.

    Args:
        initializer: the initial value (array-like), or a callable `f(shape, dtype)`
            with `shape` given.
        shape: the shape, for a callable initializer.
        dtype: the dtype (default: the value's, float32 for Python floats).
        trainable: whether optimizers update it.
        name: its name ("kernel"); `path` is "<layer name>/<name>" once a layer owns it.

    Example:
        >>> import numpy as np
        >>> v = Variable(np.zeros(3), name="bias")
        >>> v.assign_add(np.ones(3)).numpy()
        array([1., 1., 1.])
    """

    _origin = None

    def __new__(cls, initializer, shape=None, dtype=None, trainable=True, name=None,
                path=None, **kwargs):
        if kwargs:
            unknown = set(kwargs) - {"autocast", "aggregation", "synchronization"}
            if unknown:
                raise TypeError(f"Unrecognized keyword arguments passed to Variable: {unknown}")
        if callable(initializer):
            if shape is None:
                raise ValueError("A Variable with a callable initializer needs `shape`. "
                                 f"Received: initializer={initializer!r}, shape=None")
            value = initializer(tuple(shape), dtype=dtype or "float32")
        else:
            value = initializer
        value = np.array(value, dtype=dtype if dtype is not None else (
            None if isinstance(value, np.ndarray) else np.float32 if
            np.asarray(value).dtype.kind == "f" else None), copy=True, order="C")
        if shape is not None and tuple(value.shape) != tuple(shape):
            raise ValueError(f"Variable value of shape {value.shape} does not match "
                             f"shape={tuple(shape)}.")
        # The Variable owns its memory (not a view of `value`), as a weight array did: the
        # ops' overlap checks of `out=` buffers skip arrays that each own their memory.
        variable = np.ndarray.__new__(cls, value.shape, value.dtype)
        variable.view(np.ndarray)[...] = value
        variable.name = name or "variable"
        variable.path = path or variable.name
        variable.trainable = bool(trainable)
        return variable

    __hash__ = object.__hash__  # used as a key by identity, as Keras's variables

    def _traced_somewhere(self):
        return True

    def _node_on(self, tape):
        if self._origin is _DETACHED:
            if tape is None:
                return None
            raise TypeError("This array is a view of a Variable made by an ndarray method the "
                            "gradient tape does not follow; use the fastconv.ops function "
                            "(reshape, transpose, take, ...) instead.")
        if tape is None or self.dtype.kind != "f":
            return None
        return tape.leaf(self)

    @property
    def value(self):
        """The current value as a plain ndarray (a view: it follows later assigns)."""
        return self.view(np.ndarray)

    def numpy(self):
        """A copy of the current value."""
        return np.array(self.view(np.ndarray))

    def assign(self, value):
        """Sets the value in place (shapes must match); returns the variable."""
        value = np.asarray(value)
        if value.shape != self.shape:
            raise ValueError(f"The shape of the target variable and the shape of the target "
                             f"value in `variable.assign(value)` must match. "
                             f"variable.shape={self.shape}, Received: value.shape={value.shape}. "
                             f"Target variable: {self.path}")
        np.copyto(self.view(np.ndarray), value, casting="unsafe")
        return self

    def assign_add(self, value):
        """Adds `value` in place; returns the variable."""
        return self.assign(self.view(np.ndarray) + np.asarray(value))

    def assign_sub(self, value):
        """Subtracts `value` in place; returns the variable."""
        return self.assign(self.view(np.ndarray) - np.asarray(value))

    def __repr__(self):
        return (f"<Variable path={getattr(self, 'path', None)}, shape={self.shape}, "
                f"dtype={self.dtype}, value={self.view(np.ndarray)!r}>")

    def __reduce__(self):
        return (_rebuild, (self.view(np.ndarray).copy(), getattr(self, "name", None),
                           getattr(self, "path", None), getattr(self, "trainable", True)))

    def __deepcopy__(self, memo):
        rebuilt = _rebuild(*self.__reduce__()[1])
        memo[id(self)] = rebuilt
        return rebuilt


def _rebuild(value, name, path, trainable):
    return Variable(value, dtype=value.dtype, name=name, path=path, trainable=trainable)
