"""Identity: returns its input unchanged."""

from fastconv.layers.base import Layer

__all__ = ["Identity"]


class Identity(Layer):
    """The identity layer, a placeholder (e.g. where a model's variant has no layer).

    Args:
        **kwargs: base `Layer` arguments.

    Input shape:
        Any.

    Output shape:
        Same as the input.

    Example:
        >>> import numpy as np
        >>> Identity()(np.array([[1.0, 2.0]])).tolist()
        [[1.0, 2.0]]
    """

    def forward(self, state, inputs, training):
        return inputs

    def grad(self, state, dy):
        return dy
