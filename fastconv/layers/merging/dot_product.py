"""Dot: the dot product of two batched inputs along one axis of each (Keras's `batch_dot`)."""

import string

import numpy as np

from fastconv.layers.merging.base_merge import Merge

__all__ = ["Dot", "dot"]

_EPSILON = 1e-7  # Keras's backend.epsilon(): the floor of the norm in `normalize=True`


class Dot(Merge):
    """The dot product of the samples of two inputs, summed over `axes`.

    For inputs of shapes `(batch, a1, ..., an)` and `(batch, b1, ..., bm)` with
    `axes=(i, j)` (`ai == bj`), the output has shape `(batch, a1.., without ai, b1..,
    without bj)`; an output of one axis gets a second of size 1, as Keras.

    Args:
        axes: an int (the same axis of both inputs) or a pair of ints; never the batch
            axis 0. Negative values count from the end.
        normalize: whether to L2-normalize each sample along its axis first (the output
            is then the cosine similarity).
        **kwargs: base `Layer` arguments.

    Input shape:
        A list of 2 tensors of rank >= 2.

    Output shape:
        As above.

    Example:
        >>> import numpy as np
        >>> x = np.arange(10.0).reshape(1, 5, 2)
        >>> y = np.arange(10.0, 20.0).reshape(1, 2, 5)
        >>> Dot(axes=(1, 2))([x, y]).tolist()
        [[[260.0, 360.0], [320.0, 445.0]]]
    """

    def __init__(self, axes, normalize=False, **kwargs):
        super().__init__(**kwargs)
        if isinstance(axes, (list, tuple)):
            if len(axes) != 2 or not all(_is_int(a) for a in axes):
                raise ValueError("Invalid format for argument `axes`: it should contain two "
                                 f"integers. Received: axes={axes}")
            axes = [int(a) for a in axes]
        elif _is_int(axes):
            axes = int(axes)
        else:
            raise TypeError("Invalid type for argument `axes`: it should be a list or an int. "
                            f"Received: axes={axes!r}")
        self.axes = axes
        self.normalize = bool(normalize)

    def _check_list(self, inputs):
        inputs = super()._check_list(inputs)
        if len(inputs) != 2:
            raise ValueError("A `Dot` layer should be called on exactly 2 inputs. "
                             f"Received: {len(inputs)} inputs")
        return inputs

    def _resolved_axes(self, ranks):
        axes = [self.axes] * 2 if isinstance(self.axes, int) else list(self.axes)
        axes = [a + r if a < 0 else a for a, r in zip(axes, ranks)]
        if any(not 1 <= a < r for a, r in zip(axes, ranks)):
            raise ValueError(f"Layer '{self.name}': `axes` must name a non-batch axis of each "
                             f"input (ranks {list(ranks)}). Received: axes={self.axes}")
        return axes

    def check_input_shape(self, input_shapes):
        if len(input_shapes) != 2:
            raise ValueError("A `Dot` layer should be called on a list of 2 inputs. "
                             f"Received: input_shape={list(input_shapes)}")
        if any(len(shape) < 2 for shape in input_shapes):
            raise ValueError("Cannot do batch_dot on inputs with rank < 2. Received inputs "
                             f"with shapes {list(input_shapes)}.")
        a, b = self._resolved_axes([len(s) for s in input_shapes])
        size_a, size_b = input_shapes[0][a], input_shapes[1][b]
        if size_a is not None and size_b is not None and size_a != size_b:
            raise ValueError(f"Incompatible input shapes: axis values {size_a} (at axis {a}) != "
                             f"{size_b} (at axis {b}). Full input shapes: "
                             f"{input_shapes[0]}, {input_shapes[1]}")

    def compute_output_shape(self, input_shapes):
        a, b = self._resolved_axes([len(s) for s in input_shapes])
        first, second = list(input_shapes[0]), list(input_shapes[1])
        del first[a]
        del second[b]
        shape = first + second[1:]
        return tuple(shape + [1] if len(shape) == 1 else shape)

    def _subscripts(self, inputs):
        """einsum subscripts of x, y and the output; whether the output gains an axis of 1."""
        a, b = self._resolved_axes([x.ndim for x in inputs])
        letters = iter(string.ascii_letters[2:])
        x = ["b"] + [next(letters) for _ in range(inputs[0].ndim - 1)]
        y = ["b"] + [next(letters) for _ in range(inputs[1].ndim - 1)]
        x[a] = y[b] = "a"  # the summed axis
        out = [c for c in x if c != "a"] + [c for c in y[1:] if c != "a"]
        return "".join(x), "".join(y), "".join(out), len(out) == 1

    def forward(self, state, inputs, training):
        inputs = self._check_list(inputs)
        x, y = inputs
        if self.normalize:
            a, b = self._resolved_axes([x.ndim, y.ndim])
            state.raw = (x, y)
            x, y = _l2_normalize(x, a), _l2_normalize(y, b)
        state.inputs = [x, y]
        sx, sy, so, expand = self._subscripts([x, y])
        out = np.einsum(f"{sx},{sy}->{so}", x, y)
        return out.reshape(out.shape + (1,)) if expand else out

    def grad(self, state, dy):
        x, y = state.inputs
        sx, sy, so, expand = self._subscripts([x, y])
        if expand:
            dy = dy.reshape(dy.shape[:1])
        dx = np.einsum(f"{so},{sy}->{sx}", dy, y)
        dyy = np.einsum(f"{so},{sx}->{sy}", dy, x)
        if self.normalize:
            a, b = self._resolved_axes([x.ndim, y.ndim])
            dx = _l2_normalize_backward(dx, state.raw[0], a)
            dyy = _l2_normalize_backward(dyy, state.raw[1], b)
        return [dx, dyy]

    def get_config(self):
        config = super().get_config()
        config.update(axes=self.axes, normalize=self.normalize)
        return config


def _is_int(value):
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


def _l2_normalize(x, axis):
    """x / max(||x||, epsilon) along `axis` (Keras's `ops.normalize`)."""
    squares = np.sum(x * x, axis=axis, keepdims=True)
    return x / np.sqrt(np.maximum(squares, x.dtype.type(_EPSILON * _EPSILON)))


def _l2_normalize_backward(dout, x, axis):
    """dL/dx of `_l2_normalize(x, axis)` given dL/d(out)."""
    squares = np.sum(x * x, axis=axis, keepdims=True)
    clamped = squares < _EPSILON * _EPSILON
    norm = np.sqrt(np.maximum(squares, x.dtype.type(_EPSILON * _EPSILON)))
    unit = x / norm
    radial = np.where(clamped, 0, np.sum(dout * unit, axis=axis, keepdims=True))
    return ((dout - unit * radial) / norm).astype(x.dtype, copy=False)


def dot(inputs, axes=-1, **kwargs):
    """Functional interface to the `Dot` layer: `Dot(axes, **kwargs)(inputs)`."""
    return Dot(axes=axes, **kwargs)(inputs)
