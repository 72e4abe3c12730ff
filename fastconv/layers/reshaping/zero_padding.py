"""ZeroPadding1D/2D: zeros around the steps or the rows and columns."""

import numpy as np

from fastconv.layers import _args
from fastconv.layers.base import Layer
from fastconv.layers.reshaping._spatial import normalize_amounts, spatial_axes

__all__ = ["ZeroPadding1D", "ZeroPadding2D"]


class _ZeroPadding(Layer):
    _rank = None

    def __init__(self, padding, data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.padding = normalize_amounts(padding, self._rank, "padding")
        self.data_format = _args.data_format(data_format)

    def check_input_shape(self, input_shape):
        if len(input_shape) != self._rank + 2:
            raise self._incompatible(f"expected ndim={self._rank + 2}, found "
                                     f"ndim={len(input_shape)}", input_shape)

    def _widths(self, ndim):
        widths = [(0, 0)] * ndim
        for axis, pad in zip(spatial_axes(self._rank, self.data_format), self.padding):
            widths[axis] = pad
        return widths

    def compute_output_shape(self, input_shape):
        return tuple(None if d is None else d + before + after
                     for d, (before, after) in zip(input_shape, self._widths(len(input_shape))))

    def forward(self, state, inputs, training):
        return np.pad(inputs, self._widths(inputs.ndim))

    def grad(self, state, dy):
        return np.ascontiguousarray(dy[tuple(slice(before, dim - after) for dim, (before, after)
                                             in zip(dy.shape, self._widths(dy.ndim)))])

    def get_config(self):
        config = super().get_config()
        config.update({"padding": self.padding if self._rank > 1 else self.padding[0],
                       "data_format": self.data_format})
        return config


class ZeroPadding1D(_ZeroPadding):
    """Pads the steps axis with zeros.

    Args:
        padding: an int (both sides) or a pair `(left, right)`.
        data_format: "channels_last" (default, `(batch, steps, channels)`) or
            "channels_first".
        **kwargs: base `Layer` arguments.

    Input shape:
        `(batch, steps, channels)` or `(batch, channels, steps)`.

    Output shape:
        `(batch, left + steps + right, channels)` or the channels_first order.

    Example:
        >>> import numpy as np
        >>> ZeroPadding1D((1, 2))(np.ones((1, 2, 1)))[0, :, 0].tolist()
        [0.0, 1.0, 1.0, 0.0, 0.0]
    """

    _rank = 1

    def __init__(self, padding=1, data_format=None, **kwargs):
        super().__init__(padding, data_format, **kwargs)


class ZeroPadding2D(_ZeroPadding):
    """Pads rows and columns with zeros.

    Args:
        padding: an int (all sides), a pair `(rows, cols)` (symmetric), or
            `((top, bottom), (left, right))`.
        data_format: "channels_last" (default) or "channels_first".
        **kwargs: base `Layer` arguments.

    Input shape:
        `(batch, rows, cols, channels)` or `(batch, channels, rows, cols)`.

    Output shape:
        `(batch, padded_rows, padded_cols, channels)` or the channels_first order.

    Example:
        >>> import numpy as np
        >>> ZeroPadding2D(((1, 0), (0, 1)))(np.ones((1, 1, 1, 1)))[0, :, :, 0].tolist()
        [[0.0, 0.0], [1.0, 0.0]]
    """

    _rank = 2

    def __init__(self, padding=(1, 1), data_format=None, **kwargs):
        super().__init__(padding, data_format, **kwargs)
