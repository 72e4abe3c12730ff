"""Softmax along an axis (fused with crossentropy when it is the model's output)."""

import numpy as np

from fastconv import activations
from fastconv.layers.base import Layer

__all__ = ["Softmax"]


class Softmax(Layer):
    """Softmax along `axis` (the last by default).

    Args:
        axis: the axis to normalize over.
        **kwargs: base `Layer` arguments.

    Input shape:
        Any.

    Output shape:
        Same as the input.

    Example:
        >>> import numpy as np
        >>> Softmax()(np.zeros((1, 4))).tolist()
        [[0.25, 0.25, 0.25, 0.25]]
    """

    def __init__(self, axis=-1, **kwargs):
        super().__init__(**kwargs)
        self.axis = axis

    @property
    def activation(self):
        """`activations.softmax` when this is a last-axis softmax the loss can fuse with."""
        return activations.softmax if self.axis == -1 else None

    def forward(self, state, inputs, training):
        state.outputs = activations.softmax(inputs, axis=self.axis)
        return state.outputs

    def grad(self, state, dy):
        y = state.outputs
        return y * (dy - np.sum(dy * y, axis=self.axis, keepdims=True))

    def grad_logits(self, state, dz):
        return dz

    def get_config(self):
        config = super().get_config()
        config["axis"] = self.axis
        return config
