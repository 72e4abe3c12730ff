"""The element-wise merges: Add, Subtract, Multiply, Average, Maximum, Minimum, and their
lower-case functions (`add([a, b])` is `Add()([a, b])`)."""

import numpy as np

from fastconv.layers.merging.base_merge import Merge

__all__ = ["Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum",
           "add", "subtract", "multiply", "average", "maximum", "minimum"]


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
