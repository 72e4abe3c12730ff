"""Conv1D on the conv2d kernels: a sequence is an image one row high."""

from fastconv import activations, ops
from fastconv.layers import _args
from fastconv.layers.base import output_size, result_dtype
from fastconv.layers.convolutional import Conv2D

__all__ = ["Conv1D", "Convolution1D"]


def _single(value, name):
    """An int or a 1-tuple as a 1-tuple of ints >= 1 (Keras's 1-D argument form)."""
    if isinstance(value, (list, tuple)) and len(value) != 1:
        raise ValueError(f"The `{name}` argument must be a tuple of 1 integers. "
                         f"Received {name}={value!r}")
    return _args.normalize_pair(value[0] if isinstance(value, (list, tuple)) else value,
                                name)[:1]


class Conv1D(Conv2D):
    """1-D convolution over the steps of a sequence (cross-correlation, as Keras).

    Args:
        filters: the number of output channels.
        kernel_size: an int or a 1-tuple.
        strides: an int or a 1-tuple (strides > 1 cannot be combined with dilation_rate > 1).
        padding: "valid", "same" or "causal" (left padding only: output step t sees inputs
            up to t).
        data_format: "channels_last" (default, `(batch, steps, channels)`) or "channels_first".
        dilation_rate: an int or a 1-tuple.
        groups: number of channel groups; must divide `filters` and the input channels.
        activation: None, "relu", "sigmoid", "softmax", "tanh" or "linear".
        use_bias: whether to add a bias per filter.
        kernel_initializer: initializer of the `(kernel_size, channels // groups, filters)`
            kernel.
        bias_initializer: initializer of the `(filters,)` bias.
        kernel_regularizer, bias_regularizer: regularizers of the weights.
        kernel_constraint, bias_constraint: constraints of the weights.
        **kwargs: base `Layer` arguments (name, trainable, dtype, input_shape,
            activity_regularizer).

    Input shape:
        `(batch, steps, channels)` or `(batch, channels, steps)`.

    Output shape:
        `(batch, new_steps, filters)` or `(batch, filters, new_steps)`.

    Example:
        >>> import numpy as np
        >>> layer = Conv1D(4, 3, padding="causal")
        >>> layer(np.zeros((2, 10, 3))).shape, layer.kernel.shape, layer.count_params()
        ((2, 10, 4), (3, 3, 4), 40)
    """

    def __init__(self, filters, kernel_size, strides=1, padding="valid", data_format=None,
                 dilation_rate=1, groups=1, activation=None, use_bias=True,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros",
                 kernel_regularizer=None, bias_regularizer=None, kernel_constraint=None,
                 bias_constraint=None, **kwargs):
        causal = isinstance(padding, str) and padding.lower() == "causal"
        super().__init__(filters, (1,) + _single(kernel_size, "kernel_size"),
                         strides=(1,) + _single(strides, "strides"),
                         padding="valid" if causal else padding, data_format=data_format,
                         dilation_rate=(1,) + _single(dilation_rate, "dilation_rate"),
                         groups=groups, activation=activation, use_bias=use_bias,
                         kernel_initializer=kernel_initializer, bias_initializer=bias_initializer,
                         kernel_regularizer=kernel_regularizer, bias_regularizer=bias_regularizer,
                         kernel_constraint=kernel_constraint, bias_constraint=bias_constraint,
                         **kwargs)
        if causal:
            self.padding = "causal"
        # The 1-D config, as Keras reports it.
        self.kernel_size = self.kernel_size[1:]
        self.strides = self.strides[1:]
        self.dilation_rate = self.dilation_rate[1:]

    def _as_2d(self, shape):
        """A 1-D shape (N, L, C) / (N, C, L) as the 2-D one with a unit row axis."""
        if self.data_format == "channels_last":
            return (shape[0], 1) + tuple(shape[1:])
        return tuple(shape[:2]) + (1, shape[2])

    def check_input_shape(self, input_shape):
        if len(input_shape) != 3:
            raise self._incompatible(f"expected ndim=3, found ndim={len(input_shape)}", input_shape)
        out = self.compute_output_shape(input_shape)
        steps = out[1] if self.data_format == "channels_last" else out[2]
        if steps is not None and steps < 1:
            raise ValueError(
                f"Computed output size would be zero or negative for layer '{self.name}': "
                f"kernel_size={self.kernel_size}, dilation_rate={self.dilation_rate}, "
                f"padding={self.padding!r}, input shape {tuple(input_shape)} -> {out}.")
        channels = input_shape[self._channel_axis()]
        if channels is None:
            raise ValueError("The channel dimension of the inputs to Conv1D should be defined. "
                             f"Received input_shape={tuple(input_shape)}")
        if self.built and channels != self.kernel.shape[1] * self.groups:
            raise self._incompatible(f"expected axis {self._channel_axis()} of input shape to "
                                     f"have value {self.kernel.shape[1] * self.groups}",
                                     input_shape)
        if channels % self.groups:
            raise ValueError(
                "The number of input channels must be evenly divisible by the number of groups. "
                f"Received groups={self.groups}, but the input has {channels} channels "
                f"(full input shape is {tuple(input_shape)}).")

    def build(self, input_shape):
        channels = input_shape[self._channel_axis()]
        self._add_kernel_and_bias(self.kernel_size + (channels // self.groups, self.filters))

    def compute_output_shape(self, input_shape):
        steps = input_shape[1] if self.data_format == "channels_last" else input_shape[2]
        if self.padding == "causal" and steps is not None:
            steps += self.dilation_rate[0] * (self.kernel_size[0] - 1)
        out = output_size(steps, self.kernel_size[0], self.strides[0],
                          "same" if self.padding == "same" else "valid", self.dilation_rate[0])
        if self.data_format == "channels_last":
            return (input_shape[0], out, self.filters)
        return (input_shape[0], self.filters, out)

    def _op_kernel(self):
        return self.kernel.reshape((1,) + self.kernel.shape)

    def _op_args(self):
        padding = self.padding
        if padding == "causal":
            padding = ((0, 0), (self.dilation_rate[0] * (self.kernel_size[0] - 1), 0))
        return dict(strides=(1,) + self.strides, padding=padding,
                    dilation_rate=(1,) + self.dilation_rate, groups=self.groups,
                    data_format=self.data_format)

    def forward(self, state, inputs, training):
        fused_relu = self.activation is activations.relu
        outputs = ops.conv2d(inputs.reshape(self._as_2d(inputs.shape)), self._op_kernel(),
                             self.bias, activation="relu" if fused_relu else None,
                             **self._op_args())
        outputs = outputs.reshape(self.compute_output_shape(inputs.shape))
        if not fused_relu:
            outputs = self.activation(outputs)
        state.inputs, state.outputs = inputs, outputs
        return outputs

    def grad_logits(self, state, dz):
        inputs = state.inputs
        dx, dkernel, dbias = ops.conv2d_backward(
            dz.reshape(self._as_2d(dz.shape)), inputs.reshape(self._as_2d(inputs.shape)),
            self._op_kernel(), compute_dx=state.needs_input_grad, **self._op_args())
        dtype = result_dtype(dz, inputs, self.kernel)
        state.grads = [dkernel.reshape(self.kernel.shape).astype(dtype, copy=False)]
        if self.use_bias:
            state.grads.append(dbias)
        return None if dx is None else dx.reshape(inputs.shape)


Convolution1D = Conv1D
