"""Concatenate: a list of inputs joined along one axis."""

import numpy as np

from fastconv.layers.merging.base_merge import Merge

__all__ = ["Concatenate", "concatenate"]


class Concatenate(Merge):
    """Concatenates a list of inputs along `axis` (other axes must match).

    Args:
        axis: the concatenation axis (default -1, the channels of NHWC images).
        **kwargs: base `Layer` arguments.

    Example:
        >>> import numpy as np
        >>> Concatenate()([np.ones((2, 3)), np.zeros((2, 1))]).shape
        (2, 4)
    """

    def __init__(self, axis=-1, **kwargs):
        super().__init__(**kwargs)
        if isinstance(axis, bool) or not isinstance(axis, (int, np.integer)):
            raise ValueError(f"`axis` must be an int. Received: axis={axis!r}")
        self.axis = int(axis)

    def _resolved_axis(self, rank):
        axis = self.axis + rank if self.axis < 0 else self.axis
        if not 1 <= axis < rank:
            raise ValueError(
                f"Layer '{self.name}': `axis` must be a non-batch axis of inputs of rank {rank}. "
                f"Received: axis={self.axis}"
            )
        return axis

    def check_input_shape(self, input_shapes):
        ranks = {len(shape) for shape in input_shapes}
        if len(ranks) != 1:
            raise ValueError(
                "A `Concatenate` layer requires inputs with matching shapes except for the "
                f"concatenation axis. Received: input_shape={list(input_shapes)}"
            )
        axis = self._resolved_axis(len(input_shapes[0]))
        for i in range(1, len(input_shapes[0])):
            sizes = {shape[i] for shape in input_shapes} - {None}
            if i != axis and len(sizes) > 1:
                raise ValueError(
                    "A `Concatenate` layer requires inputs with matching shapes except for "
                    f"the concatenation axis. Received: input_shape={list(input_shapes)}"
                )

    def compute_output_shape(self, input_shapes):
        axis = self._resolved_axis(len(input_shapes[0]))
        shape = list(Merge.compute_output_shape(self, [
            tuple(s[:axis]) + (None,) + tuple(s[axis + 1:]) for s in input_shapes]))
        sizes = [s[axis] for s in input_shapes]
        shape[axis] = None if any(s is None for s in sizes) else sum(sizes)
        return tuple(shape)

    def _merge(self, inputs):
        return np.concatenate(inputs, axis=self._resolved_axis(inputs[0].ndim))

    def _merge_backward(self, dy, inputs):
        axis = self._resolved_axis(dy.ndim)
        splits = np.cumsum([x.shape[axis] for x in inputs])[:-1]
        return [np.ascontiguousarray(g) for g in np.split(dy, splits, axis=axis)]

    def get_config(self):
        config = super().get_config()
        config["axis"] = self.axis
        return config


def concatenate(inputs, **kwargs):
    """Functional interface to the `Concatenate` layer: `Concatenate(**kwargs)(inputs)`."""
    return Concatenate(**kwargs)(inputs)
