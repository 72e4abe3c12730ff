"""Cropping1D/2D: cells removed from the ends of the steps or the rows and columns."""

import numpy as np

from fastconv.layers import _args
from fastconv.layers.base import Layer
from fastconv.layers.reshaping._spatial import normalize_amounts, spatial_axes

__all__ = ["Cropping1D", "Cropping2D"]


class _Cropping(Layer):
    _rank = None

    def __init__(self, cropping, data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.cropping = normalize_amounts(cropping, self._rank, "cropping")
        self.data_format = _args.data_format(data_format)

    def _amounts(self, ndim):
        amounts = [(0, 0)] * ndim
        for axis, crop in zip(spatial_axes(self._rank, self.data_format), self.cropping):
            amounts[axis] = crop
        return amounts

    def check_input_shape(self, input_shape):
        if len(input_shape) != self._rank + 2:
            raise self._incompatible(f"expected ndim={self._rank + 2}, found "
                                     f"ndim={len(input_shape)}", input_shape)
        out = self.compute_output_shape(input_shape)
        if any(d is not None and d < 1 for d in out[1:]):
            raise ValueError(f"`cropping` {self.cropping} leaves nothing of inputs of shape "
                             f"{tuple(input_shape)}. Received: cropping={self.cropping}")

    def compute_output_shape(self, input_shape):
        return tuple(None if d is None else d - before - after
                     for d, (before, after) in zip(input_shape, self._amounts(len(input_shape))))

    def forward(self, state, inputs, training):
        state.input_shape = inputs.shape
        return np.ascontiguousarray(inputs[tuple(
            slice(before, dim - after)
            for dim, (before, after) in zip(inputs.shape, self._amounts(inputs.ndim)))])

    def grad(self, state, dy):
        return np.pad(dy, self._amounts(dy.ndim))

    def get_config(self):
        config = super().get_config()
        config["cropping"] = self.cropping if self._rank > 1 else self.cropping[0]
        if self._rank > 1:
            config["data_format"] = self.data_format
        return config


class Cropping1D(_Cropping):
    """Removes cells from the start and end of the steps axis.

    Args:
        cropping: an int (both ends) or a pair `(start, end)`.
        **kwargs: base `Layer` arguments.

    Input shape:
        `(batch, steps, channels)`.

    Output shape:
        `(batch, steps - start - end, channels)`.

    Example:
        >>> import numpy as np
        >>> Cropping1D((1, 0))(np.arange(3.0).reshape(1, 3, 1))[0, :, 0].tolist()
        [1.0, 2.0]
    """

    _rank = 1

    def __init__(self, cropping=(1, 1), **kwargs):
        super().__init__(cropping, **kwargs)


class Cropping2D(_Cropping):
    """Removes rows and columns at the borders of images.

    Args:
        cropping: an int (all sides), a pair `(rows, cols)` (symmetric), or
            `((top, bottom), (left, right))`.
        data_format: "channels_last" (default) or "channels_first".
        **kwargs: base `Layer` arguments.

    Input shape:
        `(batch, rows, cols, channels)` or `(batch, channels, rows, cols)`.

    Output shape:
        `(batch, cropped_rows, cropped_cols, channels)` or the channels_first order.

    Example:
        >>> import numpy as np
        >>> Cropping2D(((1, 0), (0, 1)))(np.arange(9.0).reshape(1, 3, 3, 1))[0, :, :, 0].tolist()
        [[3.0, 4.0], [6.0, 7.0]]
    """

    _rank = 2

    def __init__(self, cropping=((0, 0), (0, 0)), data_format=None, **kwargs):
        super().__init__(cropping, data_format, **kwargs)
