"""Average: the element-wise mean of a list of inputs."""

from fastconv.layers.merging.base_merge import Merge

__all__ = ["Average", "average"]


class Average(Merge):
    """The element-wise mean of a list of inputs (all of the same shape).

    Example:
        >>> import numpy as np
        >>> Average()([np.ones((1, 2)), np.full((1, 2), 3.0)]).tolist()
        [[2.0, 2.0]]
    """

    def _merge(self, inputs):
        out = inputs[0].copy()
        for x in inputs[1:]:
            out += x
        out *= out.dtype.type(1.0 / len(inputs))
        return out

    def _merge_backward(self, dy, inputs):
        scaled = dy * dy.dtype.type(1.0 / len(inputs))
        return [self._unbroadcast(scaled, x.shape) for x in inputs]


def average(inputs, **kwargs):
    """Functional interface to the `Average` layer: `Average(**kwargs)(inputs)`."""
    return Average(**kwargs)(inputs)
