"""1-D pooling: windows on the compiled 2-D pooling ops (a sequence is an image one row high),
global pooling in NumPy."""

import numpy as np

from fastconv import ops
from fastconv.layers import _args
from fastconv.layers.base import Layer, output_size, result_dtype
from fastconv.layers.conv1d import _single

__all__ = [
    "MaxPooling1D", "MaxPool1D", "AveragePooling1D", "AvgPool1D",
    "GlobalAveragePooling1D", "GlobalAvgPool1D", "GlobalMaxPooling1D", "GlobalMaxPool1D",
]


class _Pooling1D(Layer):
    """Shared config, shapes and calls of the windowed 1-D pooling layers."""

    _forward = None
    _backward = None

    def __init__(self, pool_size=2, strides=None, padding="valid", data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.pool_size = _single(pool_size, "pool_size")
        self.strides = self.pool_size if strides is None else _single(strides, "strides")
        self.padding = _args.padding(padding)
        self.data_format = _args.data_format(data_format)

    def _steps_axis(self):
        return 1 if self.data_format == "channels_last" else 2

    def check_input_shape(self, input_shape):
        if len(input_shape) != 3:
            raise self._incompatible(f"expected ndim=3, found ndim={len(input_shape)}", input_shape)
        out = self.compute_output_shape(input_shape)
        steps = out[self._steps_axis()]
        if steps is not None and steps < 1:
            raise ValueError(
                f"Computed output size would be zero or negative for layer '{self.name}': "
                f"pool_size={self.pool_size}, strides={self.strides}, padding={self.padding!r}, "
                f"input shape {tuple(input_shape)} -> {out}.")

    def compute_output_shape(self, input_shape):
        shape = list(input_shape)
        axis = self._steps_axis()
        shape[axis] = output_size(shape[axis], self.pool_size[0], self.strides[0], self.padding)
        return tuple(shape)

    def _as_2d(self, array):
        """(N, L, C) -> (N, 1, L, C); (N, C, L) -> (N, C, 1, L): views."""
        return np.expand_dims(array, 1 if self.data_format == "channels_last" else 2)

    def _op_args(self):
        return dict(pool_size=(1,) + self.pool_size, strides=(1,) + self.strides,
                    padding=self.padding, data_format=self.data_format)

    def forward(self, state, inputs, training):
        state.inputs = inputs
        outputs = type(self)._forward(self._as_2d(inputs), **self._op_args())
        return outputs.reshape(self.compute_output_shape(inputs.shape))

    def grad(self, state, dy):
        dx = type(self)._backward(self._as_2d(dy), self._as_2d(state.inputs), **self._op_args())
        return dx.reshape(state.inputs.shape).astype(result_dtype(dy, state.inputs), copy=False)

    def get_config(self):
        config = super().get_config()
        config.update({"pool_size": self.pool_size, "strides": self.strides,
                       "padding": self.padding, "data_format": self.data_format})
        return config


class MaxPooling1D(_Pooling1D):
    """Max pooling over windows of steps (padded cells never win, as TensorFlow).

    Args:
        pool_size: an int, the window size (default 2).
        strides: an int, or None (= pool_size).
        padding: "valid" or "same".
        data_format: "channels_last" (default, `(batch, steps, channels)`) or
            "channels_first".
        **kwargs: base `Layer` arguments.

    Input shape:
        `(batch, steps, channels)` or `(batch, channels, steps)`.

    Output shape:
        `(batch, pooled_steps, channels)` or `(batch, channels, pooled_steps)`.

    Example:
        >>> import numpy as np
        >>> MaxPooling1D(2)(np.array([[[1.0], [3.0], [2.0], [0.0]]]))[:, :, 0].tolist()
        [[3.0, 2.0]]
    """

    _forward = staticmethod(ops.max_pool2d)
    _backward = staticmethod(ops.max_pool2d_backward)


class AveragePooling1D(_Pooling1D):
    """Average pooling over windows of steps (padded cells are not counted).

    Args:
        pool_size: an int, the window size (default 2).
        strides: an int, or None (= pool_size).
        padding: "valid" or "same".
        data_format: "channels_last" (default) or "channels_first".
        **kwargs: base `Layer` arguments.

    Input shape:
        `(batch, steps, channels)` or `(batch, channels, steps)`.

    Output shape:
        `(batch, pooled_steps, channels)` or `(batch, channels, pooled_steps)`.

    Example:
        >>> import numpy as np
        >>> AveragePooling1D(2)(np.array([[[1.0], [3.0], [2.0], [0.0]]]))[:, :, 0].tolist()
        [[2.0, 1.0]]
    """

    _forward = staticmethod(ops.avg_pool2d)
    _backward = staticmethod(ops.avg_pool2d_backward)


class _GlobalPooling1D(Layer):
    def __init__(self, data_format=None, keepdims=False, **kwargs):
        super().__init__(**kwargs)
        self.data_format = _args.data_format(data_format)
        self.keepdims = bool(keepdims)

    def _axis(self):
        return 1 if self.data_format == "channels_last" else 2

    def check_input_shape(self, input_shape):
        if len(input_shape) != 3:
            raise self._incompatible(f"expected ndim=3, found ndim={len(input_shape)}", input_shape)

    def compute_output_shape(self, input_shape):
        axis = self._axis()
        if self.keepdims:
            return tuple(1 if i == axis else d for i, d in enumerate(input_shape))
        return tuple(d for i, d in enumerate(input_shape) if i != axis)

    def _expand(self, dy):
        return dy if self.keepdims else np.expand_dims(dy, self._axis())

    def get_config(self):
        config = super().get_config()
        config.update({"data_format": self.data_format, "keepdims": self.keepdims})
        return config


class GlobalAveragePooling1D(_GlobalPooling1D):
    """The mean over all steps of each channel.

    Args:
        data_format: "channels_last" (default) or "channels_first".
        keepdims: whether to keep the steps axis (as size 1).
        **kwargs: base `Layer` arguments.

    Input shape:
        `(batch, steps, channels)` or `(batch, channels, steps)`.

    Output shape:
        `(batch, channels)`, or with `keepdims` `(batch, 1, channels)` / `(batch, channels, 1)`.

    Example:
        >>> import numpy as np
        >>> GlobalAveragePooling1D()(np.arange(6.0).reshape(1, 3, 2)).tolist()
        [[2.0, 3.0]]
    """

    def forward(self, state, inputs, training):
        state.input_shape = inputs.shape
        return np.mean(inputs, axis=self._axis(), keepdims=self.keepdims)

    def grad(self, state, dy):
        count = state.input_shape[self._axis()]
        return np.broadcast_to(self._expand(dy) / count, state.input_shape).copy()


class GlobalMaxPooling1D(_GlobalPooling1D):
    """The maximum over all steps of each channel (the gradient goes to the first maximum).

    Args:
        data_format: "channels_last" (default) or "channels_first".
        keepdims: whether to keep the steps axis (as size 1).
        **kwargs: base `Layer` arguments.

    Input shape:
        `(batch, steps, channels)` or `(batch, channels, steps)`.

    Output shape:
        `(batch, channels)`, or with `keepdims` `(batch, 1, channels)` / `(batch, channels, 1)`.

    Example:
        >>> import numpy as np
        >>> GlobalMaxPooling1D()(np.array([[[1.0, 5.0], [4.0, 2.0]]])).tolist()
        [[4.0, 5.0]]
    """

    def forward(self, state, inputs, training):
        state.inputs = inputs
        return np.max(inputs, axis=self._axis(), keepdims=self.keepdims)

    def grad(self, state, dy):
        inputs, axis = state.inputs, self._axis()
        first = np.expand_dims(np.argmax(inputs, axis=axis), axis)  # NaN wins, as np.max
        dx = np.zeros(inputs.shape, dtype=np.result_type(dy, inputs))
        np.put_along_axis(dx, first, self._expand(dy), axis=axis)
        return dx


MaxPool1D = MaxPooling1D
AvgPool1D = AveragePooling1D
GlobalAvgPool1D = GlobalAveragePooling1D
GlobalMaxPool1D = GlobalMaxPooling1D
