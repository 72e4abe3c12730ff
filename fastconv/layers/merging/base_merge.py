"""Merge: the base of the layers that combine a list of tensors into one (Add, Concatenate,
Dot, ...).

They join the branches of a functional model:

    x = layers.Conv2D(8, 3, padding="same")(inputs)
    y = layers.Add()([x, inputs])      # or layers.add([x, inputs])

Called on a list of KerasTensors they record the graph; called on a list of
arrays they compute eagerly. `backward(dy)` returns one gradient per input.
"""

import numpy as np

from fastconv.layers.base import KerasTensor, Layer

__all__ = ["Merge"]


class Merge(Layer):
    """Base class of the layers that combine a list of at least two inputs.

    Subclasses implement `_merge(inputs)` and `_merge_backward(dy, inputs)`; shapes
    must match exactly (None matches anything), except along the axis of a
    `Concatenate`.
    """

    multiple_inputs = True  # the functional model passes this layer a list

    def _check_list(self, inputs):
        if not isinstance(inputs, (list, tuple)) or len(inputs) < 2:
            raise ValueError(
                f"A merge layer should be called on a list of at least 2 inputs. "
                f"Received: inputs={inputs!r}"
            )
        return list(inputs)

    def check_input_shape(self, input_shapes):
        ranks = {len(shape) for shape in input_shapes}
        if len(ranks) != 1:
            raise ValueError(
                f"Layer '{self.name}' expects inputs of the same rank. "
                f"Received: input shapes={list(input_shapes)}"
            )
        for axis in range(1, len(input_shapes[0])):
            sizes = {shape[axis] for shape in input_shapes} - {None}
            if len(sizes) > 1:
                raise ValueError(
                    f"Inputs of layer '{self.name}' must have the same shape. "
                    f"Received: input shapes={list(input_shapes)}"
                )

    def compute_output_shape(self, input_shapes):
        first = list(input_shapes[0])
        for shape in input_shapes[1:]:
            first = [b if a is None else a for a, b in zip(first, shape)]
        return tuple(first)

    def build_for(self, input_shapes):
        input_shapes = [tuple(shape) for shape in input_shapes]
        self.check_input_shape(input_shapes)
        if not self.built:
            self.build(input_shapes)
            self.built = True
            self._build_input_shape = [(None,) + shape[1:] for shape in input_shapes]
        return self.compute_output_shape(input_shapes)

    def __call__(self, inputs, training=None, **kwargs):
        """Merges a list of arrays eagerly, or of KerasTensors symbolically."""
        if kwargs:
            raise TypeError(f"Unrecognized arguments in the call to layer '{self.name}': {kwargs}")
        inputs = self._check_list(inputs)
        symbolic = [isinstance(x, KerasTensor) for x in inputs]
        if any(symbolic):
            if not all(symbolic):
                raise ValueError(
                    f"Layer '{self.name}' was called on a mix of KerasTensors and arrays; "
                    "pass all symbolic inputs (functional API) or all arrays."
                )
            output_shape = self.build_for([x.shape for x in inputs])
            tensor = KerasTensor(output_shape, self.dtype, self, parent=inputs)
            tensor.call_training = None if training is None else bool(training)
            return tensor
        arrays = [self.cast_input(x) for x in inputs]
        self.build_for([x.shape for x in arrays])
        return self.call(arrays, training=self.resolve_training(training))

    def forward(self, state, inputs, training):
        inputs = self._check_list(inputs)
        state.inputs = inputs
        return self._merge(inputs)

    def grad(self, state, dy):
        """A list with dL/dinput for every input of the call that filled `state`."""
        return self._merge_backward(dy, state.inputs)

    @staticmethod
    def _unbroadcast(grad, shape):
        """Sums `grad` down to `shape` (inputs of size 1 broadcast along an axis)."""
        if grad.shape == tuple(shape):
            return grad
        axes = tuple(i for i, (g, s) in enumerate(zip(grad.shape, shape)) if s == 1 and g != 1)
        return np.ascontiguousarray(grad.sum(axis=axes, keepdims=True))
