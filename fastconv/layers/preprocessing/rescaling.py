"""Rescaling: `inputs * scale + offset`."""

import numpy as np

from fastconv.layers.base import Layer

__all__ = ["Rescaling"]


class Rescaling(Layer):
    """Computes `inputs * scale + offset` (e.g. `Rescaling(1 / 255)` for uint8 images).

    Args:
        scale: a float (or an array broadcasting against one sample).
        offset: a float (or such an array), default 0.
        **kwargs: base `Layer` arguments.

    Input shape:
        Any.

    Output shape:
        Same as the input.

    Example:
        >>> import numpy as np
        >>> Rescaling(1 / 255)(np.array([[0, 255]], np.uint8)).tolist()
        [[0.0, 1.0]]
    """

    def __init__(self, scale, offset=0.0, **kwargs):
        super().__init__(**kwargs)
        self.scale = scale
        self.offset = offset

    def forward(self, state, inputs, training):
        scale = np.asarray(self.scale, dtype=inputs.dtype)
        offset = np.asarray(self.offset, dtype=inputs.dtype)
        return inputs * scale + offset

    def grad(self, state, dy):
        return dy * np.asarray(self.scale, dtype=dy.dtype)

    def get_config(self):
        config = super().get_config()
        config.update({"scale": self.scale, "offset": self.offset})
        return config
