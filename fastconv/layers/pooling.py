"""Max and average pooling (on the compiled ops, as calls prepared per input signature) and
global pooling (vectorized NumPy)."""

import numpy as np

from fastconv.layers import _args
from fastconv.layers.base import Layer, output_size
from fastconv.layers.prepared_calls import PreparedCalls
from fastconv.ops.pool2d import prepare_pool2d

__all__ = [
    "MaxPooling2D", "MaxPool2D", "AveragePooling2D", "AvgPool2D",
    "GlobalAveragePooling2D", "GlobalMaxPooling2D", "GlobalAvgPool2D", "GlobalMaxPool2D",
]


class _Pooling2D(Layer):
    """Shared config, shapes and calls of the windowed pooling layers."""

    _kind = None  # "max" or "avg": the pooling op

    def __init__(self, pool_size=(2, 2), strides=None, padding="valid", data_format=None,
                 **kwargs):
        super().__init__(**kwargs)
        self.pool_size = _args.normalize_pair(pool_size, "pool_size")
        self.strides = self.pool_size if strides is None else _args.normalize_pair(strides, "strides")
        self.padding = _args.padding(padding)
        self.data_format = _args.data_format(data_format)
        self._calls = PreparedCalls()

    def _spatial(self, shape):
        return (shape[1], shape[2]) if self.data_format == "channels_last" else (shape[2], shape[3])

    def check_input_shape(self, input_shape):
        if len(input_shape) != 4:
            raise self._incompatible(f"expected ndim=4, found ndim={len(input_shape)}", input_shape)
        out = self.compute_output_shape(input_shape)
        if any(d is not None and d < 1 for d in self._spatial(out)):
            raise ValueError(
                f"Computed output size would be zero or negative for layer '{self.name}': "
                f"pool_size={self.pool_size}, strides={self.strides}, padding={self.padding!r}, "
                f"input shape {tuple(input_shape)} -> {out}."
            )

    def compute_output_shape(self, input_shape):
        h, w = self._spatial(input_shape)
        oh = output_size(h, self.pool_size[0], self.strides[0], self.padding)
        ow = output_size(w, self.pool_size[1], self.strides[1], self.padding)
        if self.data_format == "channels_last":
            return (input_shape[0], oh, ow, input_shape[3])
        return (input_shape[0], input_shape[1], oh, ow)

    def forward(self, state, inputs, training):
        key = (inputs.shape, inputs.dtype)
        call = self._calls.get(key) or self._calls.add(key, prepare_pool2d(
            self._kind, inputs, self.pool_size, self.strides, self.padding, self.data_format))
        state.call, state.inputs = call, inputs
        return call.forward(inputs, out=self._nhwc_buffer(state, "outputs", call.out_shape,
                                                          call.dtype))

    def _dx_buffer(self, state):
        call = state.call
        return self._nhwc_buffer(state, "dx", call.x_nhwc_shape, call.dtype)

    def grad(self, state, dy):
        return state.call.backward(dy, state.inputs, out=self._dx_buffer(state))

    def get_config(self):
        config = super().get_config()
        config.update({"pool_size": self.pool_size, "strides": self.strides,
                       "padding": self.padding, "data_format": self.data_format})
        return config


class MaxPooling2D(_Pooling2D):
    """Max pooling over 2-D windows (TensorFlow semantics: padded cells never win).

    Args:
        pool_size: an int or a pair, the window size (default (2, 2)).
        strides: an int, a pair, or None (= pool_size).
        padding: "valid" or "same".
        data_format: "channels_last" (default) or "channels_first".
        **kwargs: base `Layer` arguments.

    Input shape:
        `(batch, rows, cols, channels)` or `(batch, channels, rows, cols)`.

    Output shape:
        `(batch, pooled_rows, pooled_cols, channels)` or the channels_first order.

    Example:
        >>> import numpy as np
        >>> MaxPooling2D(2)(np.arange(16.0).reshape(1, 4, 4, 1))[0, :, :, 0]
        array([[ 5.,  7.],
               [13., 15.]], dtype=float32)
    """

    _kind = "max"

    def grad_through_relu(self, state, dy, logits=False):
        if logits:  # no activation of its own, so never handed a pre-activation gradient
            return None
        # The window's max is the ReLU output at the cell it picks: one pass masks both.
        return state.call.backward(dy, state.inputs, out=self._dx_buffer(state), relu=True)


class AveragePooling2D(_Pooling2D):
    """Average pooling over 2-D windows (padded cells are not counted, as TensorFlow).

    Args:
        pool_size: an int or a pair, the window size (default (2, 2)).
        strides: an int, a pair, or None (= pool_size).
        padding: "valid" or "same".
        data_format: "channels_last" (default) or "channels_first".
        **kwargs: base `Layer` arguments.

    Input shape:
        `(batch, rows, cols, channels)` or `(batch, channels, rows, cols)`.

    Output shape:
        `(batch, pooled_rows, pooled_cols, channels)` or the channels_first order.

    Example:
        >>> import numpy as np
        >>> AveragePooling2D(2)(np.arange(16.0).reshape(1, 4, 4, 1))[0, :, :, 0]
        array([[ 2.5,  4.5],
               [10.5, 12.5]], dtype=float32)
    """

    _kind = "avg"


class _GlobalPooling2D(Layer):
    def __init__(self, data_format=None, keepdims=False, **kwargs):
        super().__init__(**kwargs)
        self.data_format = _args.data_format(data_format)
        self.keepdims = bool(keepdims)

    def _axes(self):
        return (1, 2) if self.data_format == "channels_last" else (2, 3)

    def check_input_shape(self, input_shape):
        if len(input_shape) != 4:
            raise self._incompatible(f"expected ndim=4, found ndim={len(input_shape)}", input_shape)

    def compute_output_shape(self, input_shape):
        axes = self._axes()
        if self.keepdims:
            return tuple(1 if i in axes else d for i, d in enumerate(input_shape))
        return tuple(d for i, d in enumerate(input_shape) if i not in axes)

    def _expand(self, dy):
        """dy with the pooled axes restored as size 1, to broadcast over the window."""
        return dy if self.keepdims else np.expand_dims(dy, self._axes())

    def get_config(self):
        config = super().get_config()
        config.update({"data_format": self.data_format, "keepdims": self.keepdims})
        return config


class GlobalAveragePooling2D(_GlobalPooling2D):
    """The mean over all spatial positions of each channel.

    Args:
        data_format: "channels_last" (default) or "channels_first".
        keepdims: whether to keep the spatial axes (as size 1).
        **kwargs: base `Layer` arguments.

    Input shape:
        `(batch, rows, cols, channels)` or `(batch, channels, rows, cols)`.

    Output shape:
        `(batch, channels)`, or with `keepdims` `(batch, 1, 1, channels)` / `(batch, channels, 1, 1)`.

    Example:
        >>> import numpy as np
        >>> GlobalAveragePooling2D()(np.ones((2, 3, 3, 4))).shape
        (2, 4)
    """

    def forward(self, state, inputs, training):
        state.input_shape = inputs.shape
        return np.mean(inputs, axis=self._axes(), keepdims=self.keepdims)

    def grad(self, state, dy):
        axes = self._axes()
        count = state.input_shape[axes[0]] * state.input_shape[axes[1]]
        return np.broadcast_to(self._expand(dy) / count, state.input_shape).copy()


class GlobalMaxPooling2D(_GlobalPooling2D):
    """The maximum over all spatial positions of each channel.

    The gradient goes to the first maximal position in row-major order.

    Args:
        data_format: "channels_last" (default) or "channels_first".
        keepdims: whether to keep the spatial axes (as size 1).
        **kwargs: base `Layer` arguments.

    Input shape:
        `(batch, rows, cols, channels)` or `(batch, channels, rows, cols)`.

    Output shape:
        `(batch, channels)`, or with `keepdims` `(batch, 1, 1, channels)` / `(batch, channels, 1, 1)`.

    Example:
        >>> import numpy as np
        >>> GlobalMaxPooling2D()(np.arange(8.0).reshape(1, 2, 2, 2)).tolist()
        [[6.0, 7.0]]
    """

    def _flat(self, inputs):
        """inputs as (N, H*W, C): the spatial positions on axis 1."""
        if self.data_format == "channels_first":
            inputs = inputs.transpose(0, 2, 3, 1)
        n, h, w, c = inputs.shape
        return inputs.reshape(n, h * w, c)

    def forward(self, state, inputs, training):
        state.inputs = inputs
        return np.max(inputs, axis=self._axes(), keepdims=self.keepdims)

    def grad(self, state, dy):
        inputs = state.inputs
        flat = self._flat(inputs)
        first_max = np.argmax(flat, axis=1)  # (N, C); first occurrence, NaN wins as in np.max
        dflat = np.zeros(flat.shape, dtype=np.result_type(dy, flat))
        n, c = first_max.shape
        dy_nc = self._expand(dy).reshape(n, c)
        dflat[np.arange(n)[:, None], first_max, np.arange(c)[None, :]] = dy_nc
        if self.data_format == "channels_last":
            return dflat.reshape(inputs.shape)
        n, ch, h, w = inputs.shape
        return np.ascontiguousarray(dflat.reshape(n, h, w, ch).transpose(0, 3, 1, 2))


MaxPool2D = MaxPooling2D
AvgPool2D = AveragePooling2D
GlobalAvgPool2D = GlobalAveragePooling2D
GlobalMaxPool2D = GlobalMaxPooling2D
