"""Add: the element-wise sum of a list of inputs."""

from fastconv.layers.merging.base_merge import Merge

__all__ = ["Add", "add"]


class Add(Merge):
    """Adds a list of inputs element-wise (all of the same shape).

    Example:
        >>> import numpy as np
        >>> Add()([np.ones((1, 2)), np.full((1, 2), 2.0)]).tolist()
        [[3.0, 3.0]]
    """

    def _merge(self, inputs):
        out = inputs[0].copy()
        for x in inputs[1:]:
            out += x
        return out

    def _merge_backward(self, dy, inputs):
        return [self._unbroadcast(dy, x.shape) for x in inputs]


def add(inputs, **kwargs):
    """Functional interface to the `Add` layer: `Add(**kwargs)(inputs)`."""
    return Add(**kwargs)(inputs)
