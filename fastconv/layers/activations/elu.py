"""ELU: the exponential linear unit."""

import numpy as np

from fastconv.layers.base import Layer

__all__ = ["ELU"]


class ELU(Layer):
    """`f(x) = x` for `x > 0`, `alpha * (exp(x) - 1)` otherwise.

    Args:
        alpha: the scale of the negative part (default 1.0).
        **kwargs: base `Layer` arguments.

    Input shape:
        Any.

    Output shape:
        Same as the input.

    Example:
        >>> import numpy as np
        >>> ELU()(np.array([[0.0, 2.0]])).tolist()
        [[0.0, 2.0]]
    """

    def __init__(self, alpha=1.0, **kwargs):
        super().__init__(**kwargs)
        if isinstance(alpha, bool) or not isinstance(alpha, (int, float, np.floating)):
            raise ValueError(f"`alpha` must be a float. Received: alpha={alpha!r}")
        self.alpha = float(alpha)

    def forward(self, state, inputs, training):
        alpha = inputs.dtype.type(self.alpha)
        # expm1 of the clipped input: no overflow warning from the discarded positive side.
        negative = alpha * np.expm1(np.minimum(inputs, 0))
        state.inputs, state.negative = inputs, negative
        return np.where(inputs > 0, inputs, negative)

    def grad(self, state, dy):
        # d/dx alpha * (exp(x) - 1) = alpha * exp(x) = negative part + alpha.
        return np.where(state.inputs > 0, dy, dy * (state.negative + dy.dtype.type(self.alpha)))

    def get_config(self):
        config = super().get_config()
        config["alpha"] = self.alpha
        return config
