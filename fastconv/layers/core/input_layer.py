"""InputLayer and Input: the entry point of a model."""

import numpy as np

from fastconv.layers.base import KerasTensor, Layer, standardize_shape

__all__ = ["InputLayer", "Input"]


class InputLayer(Layer):
    """The entry point of a model: holds the input shape, computes nothing.

    Args:
        shape: the shape of one sample, without the batch axis.
        batch_size: optional fixed batch size.
        dtype: the input dtype (default "float32"; an integer dtype for the indices an
            `Embedding` reads).
        batch_shape: the full shape including the batch axis (instead of `shape`).
        name: the layer's name (default "input_layer", made unique).
        input_shape: Keras 2 spelling of `shape`.

    Example:
        >>> InputLayer(shape=(28, 28, 1)).output_shape
        (None, 28, 28, 1)
    """

    def __init__(self, shape=None, batch_size=None, dtype=None, batch_shape=None, name=None,
                 input_shape=None, batch_input_shape=None, **kwargs):
        shape = shape if shape is not None else input_shape
        batch_shape = batch_shape if batch_shape is not None else batch_input_shape
        if shape is not None and batch_shape is not None:
            raise ValueError("You cannot pass both `shape` and `batch_shape` at the same time.")
        if shape is None and batch_shape is None:
            raise ValueError("You must pass a `shape` argument.")
        if batch_shape is None:
            batch_shape = (batch_size,) + standardize_shape(shape)
        super().__init__(name=name, dtype=dtype, batch_input_shape=batch_shape, **kwargs)
        self.batch_shape = self._batch_input_shape
        self.built = True
        KerasTensor(self.batch_shape, self.dtype, self)  # becomes `self.output`

    @staticmethod
    def _check_dtype(dtype):
        try:
            integer = dtype is not None and np.dtype(dtype).kind in "iu"
        except TypeError:
            integer = False
        return np.dtype(dtype).name if integer else Layer._check_dtype(dtype)

    @property
    def input_shape(self):
        return self.batch_shape

    def forward(self, state, inputs, training):
        return inputs

    def grad(self, state, dy):
        return dy

    def get_config(self):
        return {"batch_shape": self.batch_shape, "dtype": self.dtype, "name": self.name}


def Input(shape=None, batch_size=None, dtype=None, batch_shape=None, name=None):
    """A symbolic input: the start of a functional model, or the first entry of a Sequential.

    Args:
        shape: the shape of one sample, without the batch axis.
        batch_size: optional fixed batch size.
        dtype: the input dtype (default "float32").
        batch_shape: the full shape including the batch axis (instead of `shape`).
        name: the input layer's name.

    Returns:
        A `KerasTensor` whose `layer` is the `InputLayer`.

    Example:
        >>> Input(shape=(4,)).shape
        (None, 4)
    """
    layer = InputLayer(shape=shape, batch_size=batch_size, dtype=dtype, batch_shape=batch_shape,
                       name=name)
    return layer.output
