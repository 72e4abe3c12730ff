"""Permute: reorders the non-batch axes."""

import numpy as np

from fastconv.layers.base import Layer

__all__ = ["Permute"]


class Permute(Layer):
    """Permutes the axes of each sample (the batch axis stays first).

    Args:
        dims: a permutation of `1..rank` (1-based: axis 0 is the batch), e.g. `(2, 1)`
            swaps the two axes of `(batch, a, b)`.
        **kwargs: base `Layer` arguments.

    Input shape:
        Any, of rank `len(dims) + 1`.

    Output shape:
        The input shape with its non-batch axes reordered by `dims`.

    Example:
        >>> import numpy as np
        >>> Permute((2, 1))(np.zeros((4, 10, 64))).shape
        (4, 64, 10)
    """

    def __init__(self, dims, **kwargs):
        super().__init__(**kwargs)
        dims = tuple(dims) if isinstance(dims, (list, tuple)) else (dims,)
        if sorted(dims) != list(range(1, len(dims) + 1)):
            raise ValueError("Invalid permutation argument `dims` for Permute Layer. The set of "
                             "indices in `dims` must be consecutive and start from 1. "
                             f"Received dims={dims}")
        self.dims = tuple(int(d) for d in dims)

    def check_input_shape(self, input_shape):
        if len(input_shape) != len(self.dims) + 1:
            raise self._incompatible(f"expected ndim={len(self.dims) + 1}, found "
                                     f"ndim={len(input_shape)}", input_shape)

    def compute_output_shape(self, input_shape):
        return (input_shape[0],) + tuple(input_shape[d] for d in self.dims)

    def forward(self, state, inputs, training):
        return np.ascontiguousarray(np.transpose(inputs, (0,) + self.dims))

    def grad(self, state, dy):
        return np.ascontiguousarray(np.transpose(dy, np.argsort((0,) + self.dims)))

    def get_config(self):
        config = super().get_config()
        config["dims"] = self.dims
        return config
