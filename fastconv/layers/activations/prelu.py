"""PReLU: a leaky ReLU whose negative slopes are learned."""

import numpy as np

from fastconv import initializers
from fastconv.layers import _args, weight_penalties
from fastconv.layers.base import Layer

__all__ = ["PReLU"]


class PReLU(Layer):
    """`f(x) = x` for `x > 0`, `alpha * x` otherwise, with a learned `alpha` per input cell.

    Args:
        alpha_initializer: initializer of `alpha` (default zeros: a ReLU to start).
        alpha_regularizer: a regularizer of `alpha`.
        alpha_constraint: a constraint of `alpha`.
        shared_axes: the axes (1-based, the batch axis is 0) along which one slope is
            shared, e.g. `[1, 2]` for one slope per channel of `(batch, rows, cols, channels)`.
        **kwargs: base `Layer` arguments.

    Input shape:
        Any (the non-batch dimensions must be known).

    Output shape:
        Same as the input.

    Weights:
        `alpha`, of the input shape without the batch axis, with 1 on `shared_axes`.

    Example:
        >>> import numpy as np
        >>> layer = PReLU(alpha_initializer="ones", shared_axes=[1, 2])
        >>> layer(np.array([[[[-2.0, 3.0]]]])).tolist(), layer.alpha.shape
        ([[[[-2.0, 3.0]]]], (1, 1, 2))
    """

    def __init__(self, alpha_initializer="Zeros", alpha_regularizer=None, alpha_constraint=None,
                 shared_axes=None, **kwargs):
        super().__init__(**kwargs)
        self.alpha_initializer = initializers.get(alpha_initializer)
        self.alpha_regularizer = _args.regularizer(alpha_regularizer)
        self.alpha_constraint = _args.constraint(alpha_constraint)
        if shared_axes is None:
            self.shared_axes = None
        else:
            axes = list(shared_axes) if isinstance(shared_axes, (list, tuple)) else [shared_axes]
            if not all(isinstance(a, (int, np.integer)) and not isinstance(a, bool) and a >= 1
                       for a in axes):
                raise ValueError("`shared_axes` must be ints >= 1 (axis 0 is the batch). "
                                 f"Received: shared_axes={shared_axes!r}")
            self.shared_axes = [int(a) for a in axes]
        self.alpha = None

    def check_input_shape(self, input_shape):
        if len(input_shape) < 2:
            raise self._incompatible(f"expected min_ndim=2, found ndim={len(input_shape)}",
                                     input_shape)
        if any(a >= len(input_shape) for a in self.shared_axes or ()):
            raise ValueError(f"`shared_axes` {self.shared_axes} out of range for inputs of "
                             f"shape {tuple(input_shape)}.")
        if any(d is None for d in input_shape[1:]):
            raise ValueError(f"PReLU needs the non-batch dimensions. Received input_shape="
                             f"{tuple(input_shape)}")
        if self.built and self._alpha_shape(input_shape) != self.alpha.shape:
            raise self._incompatible(f"expected a shape fitting alpha {self.alpha.shape}",
                                     input_shape)

    def _alpha_shape(self, input_shape):
        shape = list(input_shape[1:])
        for axis in self.shared_axes or ():
            shape[axis - 1] = 1
        return tuple(shape)

    def build(self, input_shape):
        self.alpha = self.add_weight(name="alpha", shape=self._alpha_shape(input_shape),
                                     initializer=self.alpha_initializer,
                                     regularizer=self.alpha_regularizer,
                                     constraint=self.alpha_constraint)

    def forward(self, state, inputs, training):
        state.inputs = inputs
        alpha = np.asarray(self.alpha, dtype=inputs.dtype)
        return np.where(inputs > 0, inputs, alpha * inputs)

    def grad(self, state, dy):
        x = state.inputs
        negative = x <= 0
        # Sum over the batch and the shared axes: the cells one slope serves.
        dalpha = np.sum(np.where(negative, dy * x, 0), axis=0)
        state.grads = [np.sum(dalpha, axis=tuple(a - 1 for a in self.shared_axes or ()),
                              keepdims=True).reshape(self.alpha.shape)]
        return np.where(negative, dy * np.asarray(self.alpha, dtype=dy.dtype), dy)

    def get_config(self):
        config = super().get_config()
        config.update({
            "alpha_initializer": initializers.serialize(self.alpha_initializer),
            "shared_axes": self.shared_axes,
            **weight_penalties.config_entries(alpha_regularizer=self.alpha_regularizer,
                                              alpha_constraint=self.alpha_constraint),
        })
        return config
