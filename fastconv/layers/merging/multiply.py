"""Multiply: the element-wise product of a list of inputs."""

from fastconv.layers.merging.base_merge import Merge

__all__ = ["Multiply", "multiply"]


class Multiply(Merge):
    """Multiplies a list of inputs element-wise (all of the same shape).

    Example:
        >>> import numpy as np
        >>> Multiply()([np.full((1, 2), 2.0), np.full((1, 2), 3.0)]).tolist()
        [[6.0, 6.0]]
    """

    def _merge(self, inputs):
        out = inputs[0].copy()
        for x in inputs[1:]:
            out *= x
        return out

    def _merge_backward(self, dy, inputs):
        grads = []
        for i, x in enumerate(inputs):
            grad = dy.copy()
            for j, other in enumerate(inputs):
                if j != i:
                    grad *= other
            grads.append(self._unbroadcast(grad, x.shape))
        return grads


def multiply(inputs, **kwargs):
    """Functional interface to the `Multiply` layer: `Multiply(**kwargs)(inputs)`."""
    return Multiply(**kwargs)(inputs)
