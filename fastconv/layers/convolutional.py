"""Conv2D on `fastconv.ops.conv2d` / `conv2d_backward`, as a call prepared per input signature."""

from fastconv import activations, initializers
from fastconv.layers import _args, weight_penalties
from fastconv.layers.base import Layer, output_size
from fastconv.layers.prepared_calls import PreparedCalls
from fastconv.ops.conv2d import prepare_conv2d

__all__ = ["Conv2D", "Convolution2D"]


class Conv2D(Layer):
    """2-D convolution layer (cross-correlation, as Keras), with a fused activation.

    Args:
        filters: the number of output channels.
        kernel_size: an int or a pair (height, width).
        strides: an int or a pair; strides > 1 cannot be combined with
            dilation_rate > 1 (as in Keras).
        padding: "valid" or "same" (TensorFlow's split).
        data_format: "channels_last" (default, `(N, H, W, C)`) or "channels_first".
        dilation_rate: an int or a pair.
        groups: number of channel groups; must divide `filters` and the input channels.
        activation: None, "relu", "sigmoid", "softmax", "tanh" or "linear"
            (ReLU is applied inside the convolution kernel).
        use_bias: whether to add a bias per filter.
        kernel_initializer: initializer of the `(KH, KW, C // groups, filters)` kernel.
        bias_initializer: initializer of the `(filters,)` bias.
        kernel_regularizer, bias_regularizer: regularizers of the weights
            (`fastconv.regularizers`); their penalties join `losses`.
        kernel_constraint, bias_constraint: constraints applied to the weights
            after each optimizer step (`fastconv.constraints`).
        **kwargs: base `Layer` arguments (name, trainable, dtype, input_shape,
            activity_regularizer).

    Input shape:
        `(batch, rows, cols, channels)` (channels_last) or
        `(batch, channels, rows, cols)` (channels_first).

    Output shape:
        `(batch, new_rows, new_cols, filters)` or `(batch, filters, new_rows, new_cols)`.

    Raises:
        ValueError: for invalid arguments, or inputs whose channels the kernel does not fit.

    Example:
        >>> import numpy as np
        >>> layer = Conv2D(4, 3, padding="same")
        >>> layer(np.zeros((2, 8, 8, 3))).shape
        (2, 8, 8, 4)
        >>> layer.kernel.shape, layer.count_params()
        ((3, 3, 3, 4), 112)
    """

    def __init__(self, filters, kernel_size, strides=(1, 1), padding="valid", data_format=None,
                 dilation_rate=(1, 1), groups=1, activation=None, use_bias=True,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros",
                 kernel_regularizer=None, bias_regularizer=None, kernel_constraint=None,
                 bias_constraint=None, **kwargs):
        super().__init__(**kwargs)
        self.filters = _args.positive_int(filters, "filters")
        self.kernel_size = _args.normalize_pair(kernel_size, "kernel_size")
        self.strides = _args.normalize_pair(strides, "strides")
        self.padding = _args.padding(padding)
        self.data_format = _args.data_format(data_format)
        self.dilation_rate = _args.normalize_pair(dilation_rate, "dilation_rate")
        self.groups = _args.positive_int(groups, "groups")
        if self.filters % self.groups:
            raise ValueError(
                "The number of filters must be evenly divisible by the number of groups. "
                f"Received: groups={self.groups}, filters={self.filters}."
            )
        if max(self.strides) > 1 and max(self.dilation_rate) > 1:
            raise ValueError(
                "`strides > 1` not supported in conjunction with `dilation_rate > 1`. "
                f"Received: strides={self.strides} and dilation_rate={self.dilation_rate}"
            )
        self.activation = _args.activation(activation)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = _args.regularizer(kernel_regularizer)
        self.bias_regularizer = _args.regularizer(bias_regularizer)
        self.kernel_constraint = _args.constraint(kernel_constraint)
        self.bias_constraint = _args.constraint(bias_constraint)
        self.kernel = None
        self.bias = None
        self._calls = PreparedCalls()

    def _channel_axis(self):
        return -1 if self.data_format == "channels_last" else 1

    def check_input_shape(self, input_shape):
        if len(input_shape) != 4:
            raise self._incompatible(f"expected ndim=4, found ndim={len(input_shape)}", input_shape)
        channels = input_shape[self._channel_axis()]
        if self.built and channels != self.kernel.shape[2] * self.groups:
            raise self._incompatible(
                f"expected axis {self._channel_axis()} of input shape to have value "
                f"{self.kernel.shape[2] * self.groups}", input_shape)
        if channels is None:
            raise ValueError("The channel dimension of the inputs to Conv2D should be defined. "
                             f"Received input_shape={tuple(input_shape)}")
        if channels % self.groups:
            raise ValueError(
                "The number of input channels must be evenly divisible by the number of groups. "
                f"Received groups={self.groups}, but the input has {channels} channels "
                f"(full input shape is {tuple(input_shape)})."
            )
        self._check_output_size(input_shape)

    def _check_output_size(self, input_shape):
        out = self.compute_output_shape(input_shape)
        spatial = out[1:3] if self.data_format == "channels_last" else out[2:4]
        if any(d is not None and d < 1 for d in spatial):
            raise ValueError(
                f"Computed output size would be zero or negative for layer '{self.name}': "
                f"kernel_size={self.kernel_size}, dilation_rate={self.dilation_rate}, "
                f"padding={self.padding!r}, input shape {tuple(input_shape)} -> {out}."
            )

    def build(self, input_shape):
        channels = input_shape[self._channel_axis()]
        self._add_kernel_and_bias(self.kernel_size + (channels // self.groups, self.filters))

    def _add_kernel_and_bias(self, kernel_shape):
        self.kernel = self.add_weight(name="kernel", shape=kernel_shape,
                                      initializer=self.kernel_initializer,
                                      regularizer=self.kernel_regularizer,
                                      constraint=self.kernel_constraint)
        if self.use_bias:
            self.bias = self.add_weight(name="bias", shape=(self.filters,),
                                        initializer=self.bias_initializer,
                                        regularizer=self.bias_regularizer,
                                        constraint=self.bias_constraint)

    def compute_output_shape(self, input_shape):
        if self.data_format == "channels_last":
            n, h, w = input_shape[0], input_shape[1], input_shape[2]
        else:
            n, h, w = input_shape[0], input_shape[2], input_shape[3]
        oh = output_size(h, self.kernel_size[0], self.strides[0], self.padding, self.dilation_rate[0])
        ow = output_size(w, self.kernel_size[1], self.strides[1], self.padding, self.dilation_rate[1])
        if self.data_format == "channels_last":
            return (n, oh, ow, self.filters)
        return (n, self.filters, oh, ow)

    def _op_args(self):
        return dict(strides=self.strides, padding=self.padding, dilation_rate=self.dilation_rate,
                    groups=self.groups, data_format=self.data_format)

    def _call_for(self, inputs, kernel):
        """The conv2d call for inputs like `inputs` (and `kernel`, the op's), checked once per
        signature."""
        key = (inputs.shape, inputs.dtype, kernel.dtype)
        return self._calls.get(key) or self._calls.add(key, prepare_conv2d(
            inputs, kernel, self.bias,
            activation="relu" if self.activation is activations.relu else None,
            **self._op_args()))

    def _op_kernel(self):
        """The kernel in the op's (KH, KW, C // groups, filters) layout (subclasses reshape)."""
        return self.kernel

    def forward(self, state, inputs, training):
        kernel = self._op_kernel()
        call = self._call_for(inputs, kernel)
        outputs = call.forward(inputs, kernel, self.bias, out=self._nhwc_buffer(
            state, "outputs", call.out_shape, call.dtype))
        if not call.relu:
            outputs = self.activation(outputs)
        state.call, state.inputs, state.outputs = call, inputs, outputs
        return outputs

    def forward_pooled(self, state, inputs):
        """Inference through the 2 x 2, stride-2, valid max pool that alone reads this layer's
        output (the executor's plan): that pool's output, the conv's own never written, or None
        when no kernel takes the call (then `forward` and the pool run)."""
        if type(self).forward is not Conv2D.forward:  # a subclass's own pass
            return None
        kernel = self._op_kernel()
        call = self._call_for(inputs, kernel)
        if not call.takes_pooled_forward or (
                not call.relu and self.activation is not activations.linear):
            return None  # no kernel for it, or an activation after the conv kernels
        N, OH, OW, F = call.out_shape
        return call.forward_pooled(inputs, kernel, self.bias, out=self._nhwc_buffer(
            state, "pooled", (N, OH // 2, OW // 2, F), call.dtype))

    def grad(self, state, dy):
        return self._grad_through_activation(state, dy)

    def grad_logits(self, state, dz):
        return self._backward(state, dz)

    def grad_through_relu(self, state, dy, logits=False):
        # The input gradient is masked by the ReLU below as it is written (no pass of its own).
        own = type(self)
        if own.grad_logits is not Conv2D.grad_logits or own.grad is not Conv2D.grad:
            return None  # a subclass's own backward pass
        return self._backward(state, dy if logits else self._activation_gradient(state, dy),
                              relu_below=True)

    def takes_max_pool_gradient(self, state):
        """Whether `grad_through_max_pool` runs for the last call (at most 3 input channels, NHWC,
        this class's own passes): the executor asks it of a first layer before a 2 x 2 max
        pool."""
        own = type(self)
        return (own.forward is Conv2D.forward and own.grad_logits is Conv2D.grad_logits
                and state.call.takes_pooled_gradient)

    def grad_through_max_pool(self, state, dpool):
        """The weight gradients when this layer's ReLU output went only through a 2 x 2,
        stride-2, valid max pool with gradient `dpool` and no input gradient is wanted, in one
        pass: the conv output's gradient is never written."""
        call, kernel = state.call, self._op_kernel()
        dkernel, dbias = call.backward_weight_pooled(
            dpool, state.inputs, state.outputs,
            out=(state.buffer("dkernel", kernel.shape, call.dtype),
                 state.buffer("dbias", (kernel.shape[3],), call.dtype)))
        dkernel = dkernel.reshape(self.kernel.shape)
        state.grads = [dkernel, dbias] if self.use_bias else [dkernel]

    def _backward(self, state, dz, relu_below=False):
        """`grad_logits`, the input gradient also through the ReLU below with `relu_below`."""
        call, inputs, kernel = state.call, state.inputs, self._op_kernel()
        need_dx, dtype = state.needs_input_grad, call.dtype
        dx, dkernel, dbias = call.backward(
            dz, inputs, kernel, compute_dx=need_dx, relu_below=relu_below,
            out=(self._nhwc_buffer(state, "dx", inputs.shape, dtype) if need_dx else None,
                 state.buffer("dkernel", kernel.shape, dtype),
                 state.buffer("dbias", (kernel.shape[3],), dtype)))
        dkernel = dkernel.reshape(self.kernel.shape)
        state.grads = [dkernel, dbias] if self.use_bias else [dkernel]
        return dx

    def get_config(self):
        config = super().get_config()
        config.update({
            "filters": self.filters,
            "kernel_size": self.kernel_size,
            "strides": self.strides,
            "padding": self.padding,
            "data_format": self.data_format,
            "dilation_rate": self.dilation_rate,
            "groups": self.groups,
            "activation": activations.serialize(self.activation),
            "use_bias": self.use_bias,
            "kernel_initializer": initializers.serialize(self.kernel_initializer),
            "bias_initializer": initializers.serialize(self.bias_initializer),
            **weight_penalties.config_entries(
                kernel_regularizer=self.kernel_regularizer,
                bias_regularizer=self.bias_regularizer,
                kernel_constraint=self.kernel_constraint,
                bias_constraint=self.bias_constraint),
        })
        return config


Convolution2D = Conv2D
