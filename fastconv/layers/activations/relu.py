"""ReLU with Keras's options (max_value, negative_slope, threshold)."""

import numpy as np

from fastconv.layers.base import Layer

__all__ = ["ReLU"]


class ReLU(Layer):
    """Rectified linear unit with Keras's options.

    `f(x) = max_value` for `x >= max_value`, `x` for `threshold <= x < max_value`,
    `negative_slope * (x - threshold)` otherwise.

    Args:
        max_value: an optional float >= 0, the saturation value.
        negative_slope: a float >= 0, the slope below the threshold.
        threshold: a float, below which values are damped.
        **kwargs: base `Layer` arguments.

    Input shape:
        Any.

    Output shape:
        Same as the input.

    Example:
        >>> import numpy as np
        >>> ReLU(max_value=1.0)(np.array([[-1.0, 0.5, 3.0]])).tolist()
        [[0.0, 0.5, 1.0]]
    """

    def __init__(self, max_value=None, negative_slope=0.0, threshold=0.0, **kwargs):
        super().__init__(**kwargs)
        if max_value is not None and max_value < 0:
            raise ValueError("max_value of a ReLU layer cannot be a negative value. "
                             f"Received: max_value={max_value}")
        if negative_slope is None or negative_slope < 0:
            raise ValueError("negative_slope of a ReLU layer cannot be a negative value. "
                             f"Received: negative_slope={negative_slope}")
        if threshold is None:
            raise ValueError(f"threshold of a ReLU layer cannot be None. Received: threshold={threshold}")
        self.max_value = max_value
        self.negative_slope = negative_slope
        self.threshold = threshold

    def forward(self, state, inputs, training):
        state.inputs = inputs
        dtype = inputs.dtype.type
        if self.negative_slope == 0 and self.threshold == 0:
            outputs = np.maximum(inputs, dtype(0))
        else:
            outputs = np.where(inputs >= self.threshold, inputs,
                               dtype(self.negative_slope) * (inputs - dtype(self.threshold)))
        if self.max_value is not None:
            outputs = np.minimum(outputs, dtype(self.max_value))
        return outputs

    def grad(self, state, dy):
        x = state.inputs
        slope = np.where(x >= self.threshold, 1.0, self.negative_slope).astype(dy.dtype)
        if self.max_value is not None:
            slope[x >= self.max_value] = 0
        return dy * slope

    def get_config(self):
        config = super().get_config()
        config.update({"max_value": self.max_value, "negative_slope": self.negative_slope,
                       "threshold": self.threshold})
        return config
