"""Conv2DTranspose on `fastconv.ops.conv2d_transpose` (the conv2d kernels, roles swapped)."""

from fastconv import ops
from fastconv.layers import _args
from fastconv.layers.base import result_dtype
from fastconv.layers.convolutional import Conv2D
from fastconv.ops.conv2d_transpose import transpose_axis

__all__ = ["Conv2DTranspose", "Convolution2DTranspose"]


class Conv2DTranspose(Conv2D):
    """Transposed 2-D convolution ("deconvolution"): the gradient of a Conv2D w.r.t. its input.

    Args:
        filters: the number of output channels.
        kernel_size: an int or a pair (height, width).
        strides: an int or a pair (strides > 1 cannot be combined with
            dilation_rate > 1).
        padding: "valid" or "same" ("same" with stride s gives `s` times the input size).
        output_padding: None, or an int or pair, each smaller than its stride: the
            extra rows/columns added after the output (None: Keras's default).
        data_format: "channels_last" (default) or "channels_first".
        dilation_rate: an int or a pair.
        activation: None, "relu", "sigmoid", "softmax", "tanh" or "linear".
        use_bias: whether to add a bias per filter.
        kernel_initializer: initializer of the `(KH, KW, filters, input channels)` kernel.
        bias_initializer: initializer of the `(filters,)` bias.
        kernel_regularizer, bias_regularizer: regularizers of the weights.
        kernel_constraint, bias_constraint: constraints of the weights.
        **kwargs: base `Layer` arguments (name, trainable, dtype, input_shape,
            activity_regularizer).

    Input shape:
        `(batch, rows, cols, channels)` or `(batch, channels, rows, cols)`.

    Output shape:
        `(batch, new_rows, new_cols, filters)` or the channels_first order, with
        `new_rows = rows * strides` ("same") or `(rows - 1) * strides + max(kernel, strides)`
        ("valid"), plus `output_padding` when given.

    Raises:
        ValueError: for invalid arguments, or inputs whose channels the kernel does not fit.

    Example:
        >>> import numpy as np
        >>> layer = Conv2DTranspose(4, 3, strides=2, padding="same")
        >>> layer(np.zeros((2, 8, 8, 3))).shape
        (2, 16, 16, 4)
        >>> layer.kernel.shape, layer.count_params()
        ((3, 3, 4, 3), 112)
    """

    def __init__(self, filters, kernel_size, strides=(1, 1), padding="valid", output_padding=None,
                 data_format=None, dilation_rate=(1, 1), activation=None, use_bias=True,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros",
                 kernel_regularizer=None, bias_regularizer=None, kernel_constraint=None,
                 bias_constraint=None, **kwargs):
        super().__init__(filters, kernel_size, strides=strides, padding=padding,
                         data_format=data_format, dilation_rate=dilation_rate,
                         activation=activation, use_bias=use_bias,
                         kernel_initializer=kernel_initializer, bias_initializer=bias_initializer,
                         kernel_regularizer=kernel_regularizer, bias_regularizer=bias_regularizer,
                         kernel_constraint=kernel_constraint, bias_constraint=bias_constraint,
                         **kwargs)
        self.output_padding = None
        if output_padding is not None:
            self.output_padding = _args.normalize_pair(output_padding, "output_padding",
                                                       minimum=0)
            if any(pad >= stride for pad, stride in zip(self.output_padding, self.strides)):
                raise ValueError("Strides must be greater than output padding. Received: "
                                 f"strides={self.strides}, output_padding={self.output_padding}")

    def check_input_shape(self, input_shape):
        if len(input_shape) != 4:
            raise self._incompatible(f"expected ndim=4, found ndim={len(input_shape)}", input_shape)
        axis = self._channel_axis()
        channels = input_shape[axis]
        if channels is None:
            raise ValueError("The channel dimension of the inputs to Conv2DTranspose should be "
                             f"defined. Received input_shape={tuple(input_shape)}")
        if self.built and channels != self.kernel.shape[3]:
            raise self._incompatible(
                f"expected axis {axis} of input shape to have value {self.kernel.shape[3]}",
                input_shape)
        self._check_output_size(input_shape)

    def build(self, input_shape):
        self._add_kernel_and_bias(self.kernel_size + (self.filters,
                                                      input_shape[self._channel_axis()]))

    def compute_output_shape(self, input_shape):
        if self.data_format == "channels_last":
            n, h, w = input_shape[0], input_shape[1], input_shape[2]
        else:
            n, h, w = input_shape[0], input_shape[2], input_shape[3]
        pads = self.output_padding or (None, None)
        oh, ow = [None if size is None else
                  transpose_axis(size, k, s, d, self.padding, pad)[0]
                  for size, k, s, d, pad in zip((h, w), self.kernel_size, self.strides,
                                                self.dilation_rate, pads)]
        if self.data_format == "channels_last":
            return (n, oh, ow, self.filters)
        return (n, self.filters, oh, ow)

    def _op_args(self):
        return dict(strides=self.strides, padding=self.padding,
                    output_padding=self.output_padding, dilation_rate=self.dilation_rate,
                    data_format=self.data_format)

    def forward(self, state, inputs, training):
        out = self._nhwc_buffer(state, "outputs", self.compute_output_shape(inputs.shape),
                                result_dtype(inputs, self.kernel))
        outputs = self.activation(ops.conv2d_transpose(inputs, self.kernel, self.bias, out=out,
                                                       **self._op_args()))
        state.inputs, state.outputs = inputs, outputs
        return outputs

    def grad_logits(self, state, dz):
        inputs = state.inputs
        dtype = result_dtype(dz, inputs, self.kernel)
        need_dx = state.needs_input_grad
        dx, dkernel, dbias = ops.conv2d_transpose_backward(
            dz, inputs, self.kernel, compute_dx=need_dx,
            out=(self._nhwc_buffer(state, "dx", inputs.shape, dtype) if need_dx else None,
                 state.buffer("dkernel", self.kernel.shape, dtype),
                 state.buffer("dbias", (self.filters,), dtype)),
            **self._op_args())
        state.grads = [dkernel, dbias] if self.use_bias else [dkernel]
        return dx

    def get_config(self):
        config = super().get_config()
        del config["groups"]
        config["output_padding"] = self.output_padding
        return config


Convolution2DTranspose = Conv2DTranspose
