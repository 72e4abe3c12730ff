"""Reshape: each sample to a target shape."""

from fastconv.layers.base import Layer, prod_or_none

__all__ = ["Reshape"]


class Reshape(Layer):
    """Reshapes each sample to `target_shape` (one entry may be -1).

    Args:
        target_shape: the new shape of one sample, without the batch axis.
        **kwargs: base `Layer` arguments.

    Input shape:
        `(batch, ...)`.

    Output shape:
        `(batch,) + target_shape`.

    Example:
        >>> import numpy as np
        >>> Reshape((2, -1))(np.zeros((3, 12))).shape
        (3, 2, 6)
    """

    def __init__(self, target_shape, **kwargs):
        super().__init__(**kwargs)
        try:
            target = tuple(int(d) for d in target_shape)
        except TypeError:
            raise ValueError("`target_shape` must be a tuple of ints. "
                             f"Received: target_shape={target_shape!r}") from None
        if sum(d == -1 for d in target) > 1 or any(d == 0 or d < -1 for d in target):
            raise ValueError(
                "`target_shape` must hold positive ints and at most one -1. "
                f"Received: target_shape={target_shape!r}"
            )
        self.target_shape = target

    def _resolved(self, input_shape):
        size = prod_or_none(input_shape[1:])
        known = prod_or_none([d for d in self.target_shape if d != -1])
        if -1 not in self.target_shape:
            if size is not None and size != known:
                raise ValueError(
                    f"The total size of the tensor must be unchanged. Received: "
                    f"input_shape={tuple(input_shape)}, target_shape={self.target_shape}"
                )
            return self.target_shape
        if size is None:
            return tuple(None if d == -1 else d for d in self.target_shape)
        if size % known:
            raise ValueError(
                f"The total size of the tensor must be unchanged. Received: "
                f"input_shape={tuple(input_shape)}, target_shape={self.target_shape}"
            )
        return tuple(size // known if d == -1 else d for d in self.target_shape)

    def check_input_shape(self, input_shape):
        self._resolved(input_shape)

    def compute_output_shape(self, input_shape):
        return (input_shape[0],) + self._resolved(input_shape)

    def forward(self, state, inputs, training):
        state.input_shape = inputs.shape
        return inputs.reshape((inputs.shape[0],) + self._resolved(inputs.shape))

    def grad(self, state, dy):
        return dy.reshape(state.input_shape)

    def get_config(self):
        config = super().get_config()
        config["target_shape"] = self.target_shape
        return config
