"""Activation: applies an activation function given by name."""

from fastconv import activations
from fastconv.layers import _args
from fastconv.layers.base import Layer

__all__ = ["Activation"]


class Activation(Layer):
    """Applies an activation function to its input.

    Args:
        activation: "relu", "sigmoid", "softmax", "tanh", "linear" or None.
        **kwargs: base `Layer` arguments.

    Input shape:
        Any.

    Output shape:
        Same as the input.

    Example:
        >>> import numpy as np
        >>> Activation("relu")(np.array([[-1.0, 2.0]])).tolist()
        [[0.0, 2.0]]
    """

    def __init__(self, activation, **kwargs):
        super().__init__(**kwargs)
        self.activation = _args.activation(activation)

    def forward(self, state, inputs, training):
        state.outputs = self.activation(inputs)
        return state.outputs

    def grad(self, state, dy):
        return activations.backward(self.activation, dy, state.outputs)

    def grad_logits(self, state, dz):
        return dz

    def get_config(self):
        config = super().get_config()
        config["activation"] = activations.serialize(self.activation)
        return config
