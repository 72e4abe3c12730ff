"""Subtract: the element-wise difference of two inputs."""

from fastconv.layers.merging.base_merge import Merge

__all__ = ["Subtract", "subtract"]


class Subtract(Merge):
    """Subtracts the second input from the first, element-wise (same shapes).

    Example:
        >>> import numpy as np
        >>> Subtract()([np.full((1, 2), 5.0), np.ones((1, 2))]).tolist()
        [[4.0, 4.0]]
    """

    def _check_list(self, inputs):
        inputs = super()._check_list(inputs)
        if len(inputs) != 2:
            raise ValueError("A `Subtract` layer should be called on exactly 2 inputs. "
                             f"Received: {len(inputs)} inputs")
        return inputs

    def _merge(self, inputs):
        return inputs[0] - inputs[1]

    def _merge_backward(self, dy, inputs):
        return [self._unbroadcast(dy, inputs[0].shape), self._unbroadcast(-dy, inputs[1].shape)]


def subtract(inputs, **kwargs):
    """Functional interface to the `Subtract` layer: `Subtract(**kwargs)(inputs)`."""
    return Subtract(**kwargs)(inputs)
