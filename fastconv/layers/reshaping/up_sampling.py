"""UpSampling1D/2D: repeat each step (or pixel), or interpolate bilinearly."""

import numpy as np

from fastconv.layers import _args
from fastconv.layers.base import Layer
from fastconv.layers.reshaping._spatial import spatial_axes

__all__ = ["UpSampling1D", "UpSampling2D"]


def _interpolation_matrix(size, factor, dtype):
    """(size * factor, size) weights of linear interpolation with half-pixel centres, the
    source coordinate clamped to the image (TensorFlow's and JAX's resize when enlarging)."""
    source = np.clip((np.arange(size * factor) + 0.5) / factor - 0.5, 0, size - 1)
    low = np.floor(source).astype(np.intp)
    high = np.minimum(low + 1, size - 1)
    frac = source - low
    matrix = np.zeros((size * factor, size), dtype)
    rows = np.arange(size * factor)
    np.add.at(matrix, (rows, low), 1 - frac)
    np.add.at(matrix, (rows, high), frac)
    return matrix


class UpSampling1D(Layer):
    """Repeats each step `size` times.

    Args:
        size: the repetition factor (default 2).
        **kwargs: base `Layer` arguments.

    Input shape:
        `(batch, steps, features)`.

    Output shape:
        `(batch, steps * size, features)`.

    Example:
        >>> import numpy as np
        >>> UpSampling1D(2)(np.array([[[1.0], [2.0]]]))[0, :, 0].tolist()
        [1.0, 1.0, 2.0, 2.0]
    """

    def __init__(self, size=2, **kwargs):
        super().__init__(**kwargs)
        self.size = _args.positive_int(size, "size")

    def check_input_shape(self, input_shape):
        if len(input_shape) != 3:
            raise self._incompatible(f"expected ndim=3, found ndim={len(input_shape)}", input_shape)

    def compute_output_shape(self, input_shape):
        steps = input_shape[1]
        return (input_shape[0], None if steps is None else steps * self.size, input_shape[2])

    def forward(self, state, inputs, training):
        return np.repeat(inputs, self.size, axis=1)

    def grad(self, state, dy):
        n, steps, features = dy.shape
        return dy.reshape(n, steps // self.size, self.size, features).sum(axis=2)

    def get_config(self):
        config = super().get_config()
        config["size"] = self.size
        return config


class UpSampling2D(Layer):
    """Enlarges images by integer factors: each pixel repeated ("nearest") or a bilinear
    interpolation with half-pixel centres ("bilinear", as Keras's `ops.image.resize`).

    Args:
        size: an int or a pair `(rows, cols)`, the factors (default (2, 2)).
        data_format: "channels_last" (default) or "channels_first".
        interpolation: "nearest" or "bilinear".
        **kwargs: base `Layer` arguments.

    Input shape:
        `(batch, rows, cols, channels)` or `(batch, channels, rows, cols)`.

    Output shape:
        `(batch, rows * size[0], cols * size[1], channels)` or the channels_first order.

    Example:
        >>> import numpy as np
        >>> x = np.array([[[[0.0], [4.0]]]])
        >>> UpSampling2D((1, 2), interpolation="bilinear")(x)[0, 0, :, 0].tolist()
        [0.0, 1.0, 3.0, 4.0]
    """

    def __init__(self, size=(2, 2), data_format=None, interpolation="nearest", **kwargs):
        super().__init__(**kwargs)
        self.size = _args.normalize_pair(size, "size")
        self.data_format = _args.data_format(data_format)
        if interpolation not in ("nearest", "bilinear"):
            raise ValueError("`interpolation` must be 'nearest' or 'bilinear' (fastconv has no "
                             f"other). Received: interpolation={interpolation!r}")
        self.interpolation = interpolation

    def check_input_shape(self, input_shape):
        if len(input_shape) != 4:
            raise self._incompatible(f"expected ndim=4, found ndim={len(input_shape)}", input_shape)

    def compute_output_shape(self, input_shape):
        shape = list(input_shape)
        for axis, factor in zip(spatial_axes(2, self.data_format), self.size):
            shape[axis] = None if shape[axis] is None else shape[axis] * factor
        return tuple(shape)

    def _matrices(self, shape, dtype):
        axes = spatial_axes(2, self.data_format)
        return [_interpolation_matrix(shape[axis], factor, dtype)
                for axis, factor in zip(axes, self.size)]

    def _apply(self, array, rows, cols):
        """`rows` along the row axis and `cols` along the column axis of `array`."""
        spec = "nhwc" if self.data_format == "channels_last" else "nchw"
        out = spec.replace("h", "H").replace("w", "W")
        return np.einsum(f"Hh,Ww,{spec}->{out}", rows, cols, array, optimize=True)

    def forward(self, state, inputs, training):
        if self.interpolation == "nearest":
            rows_axis, cols_axis = spatial_axes(2, self.data_format)
            return np.repeat(np.repeat(inputs, self.size[0], axis=rows_axis),
                             self.size[1], axis=cols_axis)
        state.matrices = self._matrices(inputs.shape, inputs.dtype)
        return self._apply(inputs, *state.matrices)

    def grad(self, state, dy):
        if self.interpolation == "bilinear":
            rows, cols = state.matrices
            return self._apply(dy, rows.T, cols.T)
        rows_axis, cols_axis = spatial_axes(2, self.data_format)
        shape = list(dy.shape)
        shape[cols_axis:cols_axis + 1] = [shape[cols_axis] // self.size[1], self.size[1]]
        shape[rows_axis:rows_axis + 1] = [shape[rows_axis] // self.size[0], self.size[0]]
        return dy.reshape(shape).sum(axis=(rows_axis + 1, cols_axis + 2))

    def get_config(self):
        config = super().get_config()
        config.update({"size": self.size, "data_format": self.data_format,
                       "interpolation": self.interpolation})
        return config
