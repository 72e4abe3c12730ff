"""DepthwiseConv2D: a grouped conv2d with one group per input channel (the depthwise kernels)."""

from fastconv.layers import _args
from fastconv.layers.convolutional import Conv2D

__all__ = ["DepthwiseConv2D"]


class DepthwiseConv2D(Conv2D):
    """Depthwise 2-D convolution: each input channel convolved with its own
    `depth_multiplier` filters (output channel `c * depth_multiplier + m`, as Keras).

    Runs `ops.conv2d` with `groups` = input channels, which dispatches to the compiled
    depthwise kernels.

    Args:
        kernel_size: an int or a pair (height, width).
        strides: an int or a pair.
        padding: "valid" or "same".
        depth_multiplier: output channels per input channel.
        data_format: "channels_last" (default) or "channels_first".
        dilation_rate: an int or a pair.
        activation: None, "relu", "sigmoid", "softmax", "tanh" or "linear".
        use_bias: whether to add a bias per output channel.
        depthwise_initializer: initializer of the `(KH, KW, channels, depth_multiplier)`
            kernel.
        bias_initializer: initializer of the `(channels * depth_multiplier,)` bias.
        depthwise_regularizer, bias_regularizer: regularizers of the weights.
        depthwise_constraint, bias_constraint: constraints of the weights.
        **kwargs: base `Layer` arguments (name, trainable, dtype, input_shape,
            activity_regularizer).

    Input shape:
        `(batch, rows, cols, channels)` or `(batch, channels, rows, cols)`.

    Output shape:
        `(batch, new_rows, new_cols, channels * depth_multiplier)` or the channels_first order.

    Example:
        >>> import numpy as np
        >>> layer = DepthwiseConv2D(3, depth_multiplier=2, padding="same")
        >>> layer(np.zeros((1, 8, 8, 4))).shape, layer.kernel.shape, layer.count_params()
        ((1, 8, 8, 8), (3, 3, 4, 2), 80)
    """

    def __init__(self, kernel_size, strides=(1, 1), padding="valid", depth_multiplier=1,
                 data_format=None, dilation_rate=(1, 1), activation=None, use_bias=True,
                 depthwise_initializer="glorot_uniform", bias_initializer="zeros",
                 depthwise_regularizer=None, bias_regularizer=None, depthwise_constraint=None,
                 bias_constraint=None, **kwargs):
        # `filters` and `groups` follow from the input channels, known at build time.
        super().__init__(1, kernel_size, strides=strides, padding=padding,
                         data_format=data_format, dilation_rate=dilation_rate,
                         activation=activation, use_bias=use_bias,
                         kernel_initializer=depthwise_initializer,
                         bias_initializer=bias_initializer,
                         kernel_regularizer=depthwise_regularizer,
                         bias_regularizer=bias_regularizer, kernel_constraint=depthwise_constraint,
                         bias_constraint=bias_constraint, **kwargs)
        self.depth_multiplier = _args.positive_int(depth_multiplier, "depth_multiplier")
        self.filters = None

    def check_input_shape(self, input_shape):
        if len(input_shape) != 4:
            raise self._incompatible(f"expected ndim=4, found ndim={len(input_shape)}", input_shape)
        channels = input_shape[self._channel_axis()]
        if channels is None:
            raise ValueError("The channel dimension of the inputs to DepthwiseConv2D should be "
                             f"defined. Received input_shape={tuple(input_shape)}")
        if self.built and channels != self.kernel.shape[2]:
            raise self._incompatible(f"expected axis {self._channel_axis()} of input shape to "
                                     f"have value {self.kernel.shape[2]}", input_shape)
        self._check_output_size(input_shape)

    def build(self, input_shape):
        channels = input_shape[self._channel_axis()]
        self.groups, self.filters = channels, channels * self.depth_multiplier
        self._add_kernel_and_bias(self.kernel_size + (channels, self.depth_multiplier))

    def compute_output_shape(self, input_shape):
        shape = list(super().compute_output_shape(input_shape))
        channels = input_shape[self._channel_axis()]
        shape[self._channel_axis()] = None if channels is None else channels * self.depth_multiplier
        return tuple(shape)

    def _op_kernel(self):
        # (KH, KW, C, m) and (KH, KW, 1, C * m) hold the same numbers in the same order.
        kh, kw, channels, multiplier = self.kernel.shape
        return self.kernel.reshape(kh, kw, 1, channels * multiplier)

    def get_config(self):
        config = super().get_config()
        for key in ("filters", "groups"):
            del config[key]
        for key in ("initializer", "regularizer", "constraint"):
            config[f"depthwise_{key}"] = config.pop(f"kernel_{key}")
        config["depth_multiplier"] = self.depth_multiplier
        return config
