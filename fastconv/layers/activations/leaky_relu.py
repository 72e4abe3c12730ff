"""LeakyReLU: a ReLU with a fixed slope below zero."""

import numpy as np

from fastconv.layers.base import Layer

__all__ = ["LeakyReLU"]


class LeakyReLU(Layer):
    """`f(x) = x` for `x >= 0`, `negative_slope * x` otherwise.

    Args:
        negative_slope: a float >= 0 (default 0.3, as Keras 3). Keras 2's `alpha=` is
            accepted as its old name.
        **kwargs: base `Layer` arguments.

    Input shape:
        Any.

    Output shape:
        Same as the input.

    Example:
        >>> import numpy as np
        >>> LeakyReLU(negative_slope=0.5)(np.array([[-2.0, 3.0]])).tolist()
        [[-1.0, 3.0]]
    """

    def __init__(self, negative_slope=0.3, **kwargs):
        if "alpha" in kwargs:
            negative_slope = kwargs.pop("alpha")
        super().__init__(**kwargs)
        if isinstance(negative_slope, bool) or not isinstance(
                negative_slope, (int, float, np.floating)) or not negative_slope >= 0:
            raise ValueError("The negative_slope value of a Leaky ReLU layer cannot be None or "
                             f"negative. Received: negative_slope={negative_slope!r}")
        self.negative_slope = float(negative_slope)

    def forward(self, state, inputs, training):
        state.inputs = inputs
        return np.where(inputs >= 0, inputs, inputs.dtype.type(self.negative_slope) * inputs)

    def grad(self, state, dy):
        return np.where(state.inputs >= 0, dy, dy.dtype.type(self.negative_slope) * dy)

    def get_config(self):
        config = super().get_config()
        config["negative_slope"] = self.negative_slope
        return config
