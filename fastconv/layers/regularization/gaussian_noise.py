"""GaussianNoise: additive zero-mean noise while training."""

import numpy as np

from fastconv import backend
from fastconv.layers.base import Layer

__all__ = ["GaussianNoise"]


class GaussianNoise(Layer):
    """Adds `N(0, stddev**2)` noise to the inputs while training; the identity at inference.

    Args:
        stddev: the standard deviation of the noise, >= 0.
        seed: optional int; by default the noise comes from
            `fastconv.backend.random_generator()`.
        **kwargs: base `Layer` arguments.

    Input shape:
        Any.

    Output shape:
        Same as the input.

    Example:
        >>> import numpy as np
        >>> GaussianNoise(0.1)(np.ones((1, 2))).tolist()  # inference: the identity
        [[1.0, 1.0]]
    """

    def __init__(self, stddev, seed=None, **kwargs):
        super().__init__(**kwargs)
        if isinstance(stddev, bool) or not isinstance(stddev, (int, float, np.floating)) \
                or not 0 <= stddev < float("inf"):
            raise ValueError("Invalid value received for argument `stddev`. Expected a float "
                             f"value >= 0. Received: stddev={stddev!r}")
        self.stddev = float(stddev)
        self.seed = seed
        self._generator = None if seed is None else np.random.default_rng(seed)

    def forward(self, state, inputs, training):
        if not training or self.stddev == 0:
            return inputs
        generator = self._generator or backend.random_generator()
        noise = generator.standard_normal(inputs.shape, dtype=inputs.dtype)
        return inputs + inputs.dtype.type(self.stddev) * noise

    def grad(self, state, dy):
        return dy

    def get_config(self):
        config = super().get_config()
        config.update({"stddev": self.stddev, "seed": self.seed})
        return config
