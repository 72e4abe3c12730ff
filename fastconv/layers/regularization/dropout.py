"""Dropout: inverted dropout while training, the identity at inference."""

import numpy as np

from fastconv import backend
from fastconv.layers.base import Layer, standardize_shape

__all__ = ["Dropout"]


class Dropout(Layer):
    """Sets a random fraction `rate` of the inputs to 0 while training (inverted dropout).

    Kept values are scaled by `1 / (1 - rate)`, so nothing changes at inference.

    Args:
        rate: the fraction to drop, in [0, 1].
        noise_shape: optional shape of the binary mask, broadcast over the
            input (None entries take the input's size), e.g. `(batch, 1, 1, C)`.
        seed: optional int; by default masks come from `fastconv.backend.random_generator()`.
        **kwargs: base `Layer` arguments.

    Input shape:
        Any.

    Output shape:
        Same as the input.

    Example:
        >>> import numpy as np
        >>> Dropout(0.5)(np.ones((2, 3))).tolist()  # inference: the identity
        [[1.0, 1.0, 1.0], [1.0, 1.0, 1.0]]
    """

    def __init__(self, rate, noise_shape=None, seed=None, **kwargs):
        super().__init__(**kwargs)
        if isinstance(rate, bool) or not isinstance(rate, (int, float, np.floating)) \
                or not 0 <= rate <= 1:
            raise ValueError(
                "Invalid value received for argument `rate`. Expected a float value between "
                f"0 and 1. Received: rate={rate}"
            )
        self.rate = float(rate)
        self.noise_shape = None if noise_shape is None else standardize_shape(noise_shape,
                                                                               "noise_shape")
        self.seed = seed
        self._generator = None if seed is None else np.random.default_rng(seed)

    def _mask_shape(self, shape):
        if self.noise_shape is None:
            return shape
        if len(self.noise_shape) != len(shape):
            raise ValueError(f"`noise_shape` {self.noise_shape} must have the rank of the "
                             f"inputs, {shape}.")
        return tuple(s if n is None else n for n, s in zip(self.noise_shape, shape))

    def forward(self, state, inputs, training):
        if not training or self.rate == 0:
            state.mask = None
            return inputs
        generator = self._generator or backend.random_generator()
        if self.rate == 1:
            state.mask = np.zeros(self._mask_shape(inputs.shape), dtype=inputs.dtype)
        else:
            keep = generator.random(self._mask_shape(inputs.shape), dtype=np.float32) >= self.rate
            state.mask = keep * inputs.dtype.type(1.0 / (1.0 - self.rate))
        return inputs * state.mask

    def grad(self, state, dy):
        return dy if state.mask is None else dy * state.mask

    def get_config(self):
        config = super().get_config()
        config.update({"rate": self.rate, "noise_shape": self.noise_shape, "seed": self.seed})
        return config
