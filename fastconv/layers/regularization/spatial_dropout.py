"""SpatialDropout1D/2D: dropout of whole channels (one mask value per sample and channel)."""

from fastconv.layers import _args
from fastconv.layers.regularization.dropout import Dropout

__all__ = ["SpatialDropout1D", "SpatialDropout2D"]


class _SpatialDropout(Dropout):
    _ndim = None

    def __init__(self, rate, seed=None, **kwargs):
        super().__init__(rate, seed=seed, **kwargs)

    def check_input_shape(self, input_shape):
        if len(input_shape) != self._ndim:
            raise self._incompatible(f"expected ndim={self._ndim}, found ndim={len(input_shape)}",
                                     input_shape)

    def _channel_axis(self):
        return -1

    def _mask_shape(self, shape):
        channel = self._channel_axis() % len(shape)
        return tuple(d if i in (0, channel) else 1 for i, d in enumerate(shape))

    def get_config(self):
        config = super().get_config()
        del config["noise_shape"]
        return config


class SpatialDropout1D(_SpatialDropout):
    """Drops whole channels of `(batch, steps, channels)` while training (scaled by
    `1 / (1 - rate)`), the identity at inference.

    Args:
        rate: the fraction of channels to drop, in [0, 1].
        seed: optional int seed of the masks.
        **kwargs: base `Layer` arguments.

    Input shape:
        `(batch, steps, channels)`.

    Output shape:
        Same as the input.

    Example:
        >>> import numpy as np
        >>> y = SpatialDropout1D(0.5, seed=0)(np.ones((1, 4, 3)), training=True)
        >>> bool(((y == 0) | (y == 2)).all() and (y == y[:, :1]).all())
        True
    """

    _ndim = 3


class SpatialDropout2D(_SpatialDropout):
    """Drops whole feature maps while training (scaled by `1 / (1 - rate)`), the identity at
    inference: better than Dropout when neighbouring pixels are correlated.

    Args:
        rate: the fraction of channels to drop, in [0, 1].
        data_format: "channels_last" (default) or "channels_first".
        seed: optional int seed of the masks.
        **kwargs: base `Layer` arguments.

    Input shape:
        `(batch, rows, cols, channels)` or `(batch, channels, rows, cols)`.

    Output shape:
        Same as the input.

    Example:
        >>> import numpy as np
        >>> y = SpatialDropout2D(0.5, seed=0)(np.ones((1, 2, 2, 3)), training=True)
        >>> bool((y == y[:, :1, :1]).all())
        True
    """

    _ndim = 4

    def __init__(self, rate, data_format=None, seed=None, **kwargs):
        super().__init__(rate, seed=seed, **kwargs)
        self.data_format = _args.data_format(data_format)

    def _channel_axis(self):
        return -1 if self.data_format == "channels_last" else 1

    def get_config(self):
        config = super().get_config()
        config["data_format"] = self.data_format
        return config
