"""RepeatVector: a feature vector repeated n times."""

import numpy as np

from fastconv.layers import _args
from fastconv.layers.base import Layer

__all__ = ["RepeatVector"]


class RepeatVector(Layer):
    """Repeats each input vector `n` times: `(batch, features)` -> `(batch, n, features)`.

    Args:
        n: the number of repetitions.
        **kwargs: base `Layer` arguments.

    Input shape:
        `(batch, features)`.

    Output shape:
        `(batch, n, features)`.

    Example:
        >>> import numpy as np
        >>> RepeatVector(3)(np.zeros((2, 5))).shape
        (2, 3, 5)
    """

    def __init__(self, n, **kwargs):
        super().__init__(**kwargs)
        self.n = _args.positive_int(n, "n")

    def check_input_shape(self, input_shape):
        if len(input_shape) != 2:
            raise self._incompatible(f"expected ndim=2, found ndim={len(input_shape)}", input_shape)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.n, input_shape[1])

    def forward(self, state, inputs, training):
        return np.repeat(inputs[:, None, :], self.n, axis=1)

    def grad(self, state, dy):
        return dy.sum(axis=1)

    def get_config(self):
        config = super().get_config()
        config["n"] = self.n
        return config
