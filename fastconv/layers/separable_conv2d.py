"""SeparableConv2D: a depthwise convolution then a 1x1 (pointwise) convolution."""

from fastconv import activations, initializers, ops
from fastconv.layers import _args, weight_penalties
from fastconv.layers.convolutional import Conv2D

__all__ = ["SeparableConv2D", "SeparableConvolution2D"]


class SeparableConv2D(Conv2D):
    """Depthwise separable 2-D convolution: a `DepthwiseConv2D` (no bias) followed by a 1x1
    convolution to `filters` channels with the bias and activation.

    Args:
        filters: the number of output channels.
        kernel_size: an int or a pair, the depthwise window.
        strides: an int or a pair (of the depthwise step).
        padding: "valid" or "same".
        data_format: "channels_last" (default) or "channels_first".
        dilation_rate: an int or a pair.
        depth_multiplier: depthwise output channels per input channel.
        activation: None, "relu", "sigmoid", "softmax", "tanh" or "linear".
        use_bias: whether to add a bias per filter.
        depthwise_initializer: initializer of the `(KH, KW, channels, depth_multiplier)`
            depthwise kernel.
        pointwise_initializer: initializer of the `(1, 1, channels * depth_multiplier,
            filters)` pointwise kernel.
        bias_initializer: initializer of the `(filters,)` bias.
        depthwise_regularizer, pointwise_regularizer, bias_regularizer: regularizers.
        depthwise_constraint, pointwise_constraint, bias_constraint: constraints.
        **kwargs: base `Layer` arguments (name, trainable, dtype, input_shape,
            activity_regularizer).

    Input shape:
        `(batch, rows, cols, channels)` or `(batch, channels, rows, cols)`.

    Output shape:
        `(batch, new_rows, new_cols, filters)` or the channels_first order.

    Example:
        >>> import numpy as np
        >>> layer = SeparableConv2D(8, 3, padding="same")
        >>> layer(np.zeros((1, 8, 8, 4))).shape, layer.count_params()
        ((1, 8, 8, 8), 76)
    """

    def __init__(self, filters, kernel_size, strides=(1, 1), padding="valid", data_format=None,
                 dilation_rate=(1, 1), depth_multiplier=1, activation=None, use_bias=True,
                 depthwise_initializer="glorot_uniform", pointwise_initializer="glorot_uniform",
                 bias_initializer="zeros", depthwise_regularizer=None, pointwise_regularizer=None,
                 bias_regularizer=None, depthwise_constraint=None, pointwise_constraint=None,
                 bias_constraint=None, **kwargs):
        super().__init__(filters, kernel_size, strides=strides, padding=padding,
                         data_format=data_format, dilation_rate=dilation_rate,
                         activation=activation, use_bias=use_bias,
                         bias_initializer=bias_initializer, bias_regularizer=bias_regularizer,
                         bias_constraint=bias_constraint, **kwargs)
        self.depth_multiplier = _args.positive_int(depth_multiplier, "depth_multiplier")
        self.depthwise_initializer = initializers.get(depthwise_initializer)
        self.pointwise_initializer = initializers.get(pointwise_initializer)
        self.depthwise_regularizer = _args.regularizer(depthwise_regularizer)
        self.pointwise_regularizer = _args.regularizer(pointwise_regularizer)
        self.depthwise_constraint = _args.constraint(depthwise_constraint)
        self.pointwise_constraint = _args.constraint(pointwise_constraint)
        self.depthwise_kernel = self.pointwise_kernel = None

    def check_input_shape(self, input_shape):
        if len(input_shape) != 4:
            raise self._incompatible(f"expected ndim=4, found ndim={len(input_shape)}", input_shape)
        channels = input_shape[self._channel_axis()]
        if channels is None:
            raise ValueError("The channel dimension of the inputs to SeparableConv2D should be "
                             f"defined. Received input_shape={tuple(input_shape)}")
        if self.built and channels != self.depthwise_kernel.shape[2]:
            raise self._incompatible(f"expected axis {self._channel_axis()} of input shape to "
                                     f"have value {self.depthwise_kernel.shape[2]}", input_shape)
        self._check_output_size(input_shape)

    def build(self, input_shape):
        channels = input_shape[self._channel_axis()]
        self.depthwise_kernel = self.add_weight(
            name="depthwise_kernel", shape=self.kernel_size + (channels, self.depth_multiplier),
            initializer=self.depthwise_initializer, regularizer=self.depthwise_regularizer,
            constraint=self.depthwise_constraint)
        self.pointwise_kernel = self.add_weight(
            name="pointwise_kernel", shape=(1, 1, channels * self.depth_multiplier, self.filters),
            initializer=self.pointwise_initializer, regularizer=self.pointwise_regularizer,
            constraint=self.pointwise_constraint)
        if self.use_bias:
            self.bias = self.add_weight(name="bias", shape=(self.filters,),
                                        initializer=self.bias_initializer,
                                        regularizer=self.bias_regularizer,
                                        constraint=self.bias_constraint)

    def _depthwise_args(self):
        kh, kw, channels, multiplier = self.depthwise_kernel.shape
        return (self.depthwise_kernel.reshape(kh, kw, 1, channels * multiplier),
                dict(strides=self.strides, padding=self.padding,
                     dilation_rate=self.dilation_rate, groups=channels,
                     data_format=self.data_format))

    def forward(self, state, inputs, training):
        kernel, args = self._depthwise_args()
        depthwise = ops.conv2d(inputs, kernel, **args)
        fused_relu = self.activation is activations.relu
        outputs = ops.conv2d(depthwise, self.pointwise_kernel, self.bias,
                             activation="relu" if fused_relu else None,
                             data_format=self.data_format)
        if not fused_relu:
            outputs = self.activation(outputs)
        state.inputs, state.depthwise, state.outputs = inputs, depthwise, outputs
        return outputs

    def grad_logits(self, state, dz):
        ddepthwise, dpointwise, dbias = ops.conv2d_backward(
            dz, state.depthwise, self.pointwise_kernel, data_format=self.data_format)
        kernel, args = self._depthwise_args()
        dx, dkernel, _ = ops.conv2d_backward(ddepthwise, state.inputs, kernel,
                                             compute_dx=state.needs_input_grad, **args)
        state.grads = [dkernel.reshape(self.depthwise_kernel.shape), dpointwise]
        if self.use_bias:
            state.grads.append(dbias)
        return dx

    def get_config(self):
        config = super().get_config()
        for key in ("groups", "kernel_initializer", "kernel_regularizer", "kernel_constraint"):
            del config[key]
        config.update({
            "depth_multiplier": self.depth_multiplier,
            "depthwise_initializer": initializers.serialize(self.depthwise_initializer),
            "pointwise_initializer": initializers.serialize(self.pointwise_initializer),
            **weight_penalties.config_entries(
                depthwise_regularizer=self.depthwise_regularizer,
                pointwise_regularizer=self.pointwise_regularizer,
                depthwise_constraint=self.depthwise_constraint,
                pointwise_constraint=self.pointwise_constraint),
        })
        return config


SeparableConvolution2D = SeparableConv2D
