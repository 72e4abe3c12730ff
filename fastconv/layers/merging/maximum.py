"""Maximum and Minimum: the element-wise extremes of a list of inputs."""

import numpy as np

from fastconv.layers.merging.base_merge import Merge

__all__ = ["Maximum", "Minimum", "maximum", "minimum"]


class _Extreme(Merge):
    """The element-wise maximum or minimum (`_reduce`) of the inputs.

    The gradient goes to the input that holds the extreme; where several hold it (a tie)
    it is split equally between them, as JAX and PyTorch do.
    """

    _reduce = None

    def _merge(self, inputs):
        out = inputs[0].copy()
        for x in inputs[1:]:
            self._reduce(out, x, out=out)
        return out

    def _merge_backward(self, dy, inputs):
        out = self._merge(inputs)
        holds = [x == out for x in inputs]
        share = dy / np.sum(holds, axis=0).astype(dy.dtype)
        return [self._unbroadcast(np.where(mask, share, dy.dtype.type(0)), x.shape)
                for mask, x in zip(holds, inputs)]


class Maximum(_Extreme):
    """The element-wise maximum of a list of inputs (all of the same shape).

    Example:
        >>> import numpy as np
        >>> Maximum()([np.array([[1.0, 5.0]]), np.array([[3.0, 2.0]])]).tolist()
        [[3.0, 5.0]]
    """

    _reduce = np.maximum


class Minimum(_Extreme):
    """The element-wise minimum of a list of inputs (all of the same shape).

    Example:
        >>> import numpy as np
        >>> Minimum()([np.array([[1.0, 5.0]]), np.array([[3.0, 2.0]])]).tolist()
        [[1.0, 2.0]]
    """

    _reduce = np.minimum


def maximum(inputs, **kwargs):
    """Functional interface to the `Maximum` layer: `Maximum(**kwargs)(inputs)`."""
    return Maximum(**kwargs)(inputs)


def minimum(inputs, **kwargs):
    """Functional interface to the `Minimum` layer: `Minimum(**kwargs)(inputs)`."""
    return Minimum(**kwargs)(inputs)
