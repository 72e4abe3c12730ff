"""Flatten: each sample to one axis."""

import numpy as np

from fastconv.layers import _args
from fastconv.layers.base import Layer, prod_or_none

__all__ = ["Flatten"]


class Flatten(Layer):
    """Flattens each sample to one axis: `(batch, ...)` -> `(batch, prod(...))`.

    Args:
        data_format: "channels_last" (default) or "channels_first"; with
            channels_first the channels axis is moved last first, so both
            formats flatten in the same order (as Keras).
        **kwargs: base `Layer` arguments.

    Input shape:
        `(batch, ...)`, rank >= 1.

    Output shape:
        `(batch, prod(...))`.

    Example:
        >>> import numpy as np
        >>> Flatten()(np.zeros((2, 3, 4, 5))).shape
        (2, 60)
    """

    def __init__(self, data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.data_format = _args.data_format(data_format)

    def _permuted(self, ndim):
        return self.data_format == "channels_first" and ndim >= 3

    def compute_output_shape(self, input_shape):
        if len(input_shape) == 1:
            return (input_shape[0], 1)
        return (input_shape[0], prod_or_none(input_shape[1:]))

    def forward(self, state, inputs, training):
        state.input_shape = inputs.shape
        if self._permuted(inputs.ndim):
            inputs = np.moveaxis(inputs, 1, -1)
        return np.ascontiguousarray(inputs).reshape(inputs.shape[0], -1)

    def grad(self, state, dy):
        shape = state.input_shape
        if not self._permuted(len(shape)):
            return dy.reshape(shape)
        moved = dy.reshape((shape[0],) + shape[2:] + (shape[1],))
        return np.ascontiguousarray(np.moveaxis(moved, -1, 1))

    def get_config(self):
        config = super().get_config()
        config["data_format"] = self.data_format
        return config
