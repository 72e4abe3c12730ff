"""Dense: a densely-connected layer on the last axis, with a fused ReLU."""

import numpy as np

from fastconv import activations, initializers
from fastconv.layers import _args, weight_penalties
from fastconv.layers.base import Layer
from fastconv.layers.prepared_calls import PreparedCalls
from fastconv.ops.matmul import prepare_matmul

__all__ = ["Dense"]


class Dense(Layer):
    """Densely-connected layer: `activation(inputs @ kernel + bias)` on the last axis.

    Args:
        units: the output size.
        activation: None, "relu", "sigmoid", "softmax", "tanh" or "linear"
            (ReLU is fused into the matrix product).
        use_bias: whether to add a bias.
        kernel_initializer: initializer of the `(input_dim, units)` kernel.
        bias_initializer: initializer of the `(units,)` bias.
        kernel_regularizer, bias_regularizer: regularizers of the weights
            (`fastconv.regularizers`); their penalties join `losses`.
        kernel_constraint, bias_constraint: constraints applied to the weights
            after each optimizer step (`fastconv.constraints`).
        **kwargs: base `Layer` arguments (name, trainable, dtype, input_shape, input_dim,
            activity_regularizer).

    Input shape:
        `(batch, ..., input_dim)`, rank >= 2.

    Output shape:
        `(batch, ..., units)`.

    Example:
        >>> import numpy as np
        >>> layer = Dense(3, kernel_initializer="ones")
        >>> layer(np.ones((2, 4))).tolist()
        [[4.0, 4.0, 4.0], [4.0, 4.0, 4.0]]
    """

    def __init__(self, units, activation=None, use_bias=True, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, bias_regularizer=None,
                 kernel_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(**kwargs)
        self.units = _args.positive_int(units, "units")
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
        self._calls = PreparedCalls()  # the matmuls, checked once per input signature

    def check_input_shape(self, input_shape):
        if len(input_shape) < 2:
            raise self._incompatible(f"expected min_ndim=2, found ndim={len(input_shape)}",
                                     input_shape)
        if input_shape[-1] is None:
            raise ValueError("The last dimension of the inputs to a Dense layer should be "
                             f"defined. Found None. Full input shape received: {input_shape}")
        if self.built and input_shape[-1] != self.kernel.shape[0]:
            raise self._incompatible(
                f"expected axis -1 of input shape to have value {self.kernel.shape[0]}",
                input_shape)

    def build(self, input_shape):
        self.kernel = self.add_weight(name="kernel", shape=(input_shape[-1], self.units),
                                      initializer=self.kernel_initializer,
                                      regularizer=self.kernel_regularizer,
                                      constraint=self.kernel_constraint)
        if self.use_bias:
            self.bias = self.add_weight(name="bias", shape=(self.units,),
                                        initializer=self.bias_initializer,
                                        regularizer=self.bias_regularizer,
                                        constraint=self.bias_constraint)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (self.units,)

    def forward(self, state, inputs, training):
        flat = inputs if inputs.ndim == 2 else inputs.reshape(-1, inputs.shape[-1])
        kernel = self.kernel
        key = (flat.shape, flat.dtype, kernel.dtype)
        call = self._calls.get(key) or self._calls.add(key, prepare_matmul(
            flat, kernel, self.bias,
            activation="relu" if self.activation is activations.relu else None))
        outputs = call(flat, kernel, self.bias,
                       out=state.buffer("outputs", call.out_shape, call.dtype))
        if inputs.ndim != 2:
            outputs = outputs.reshape(inputs.shape[:-1] + (self.units,))
        if not call.relu:
            outputs = self.activation(outputs)
        state.inputs, state.outputs = inputs, outputs
        return outputs

    def grad(self, state, dy):
        return self._grad_through_activation(state, dy)

    def grad_logits(self, state, dz):
        inputs, kernel = state.inputs, self.kernel
        flat_dz = dz.reshape(-1, self.units)
        flat_x = inputs if inputs.ndim == 2 else inputs.reshape(-1, inputs.shape[-1])
        key = ("grad", flat_x.shape, flat_x.dtype, flat_dz.dtype, kernel.dtype)
        # dkernel = x^T dz and dx = dz kernel^T, on transposed views (not copied)
        dkernel_call, dx_call = self._calls.get(key) or self._calls.add(key, (
            prepare_matmul(flat_x.T, flat_dz), prepare_matmul(flat_dz, kernel.T)))
        dtype = dkernel_call.dtype
        dkernel = dkernel_call(flat_x.T, flat_dz, out=state.buffer("dkernel", kernel.shape, dtype))
        if self.use_bias:
            dbias = state.buffer("dbias", (self.units,), dtype)
            state.grads = [dkernel, np.add.reduce(flat_dz, axis=0, out=dbias)]  # (= .sum)
        else:
            state.grads = [dkernel]
        if not state.needs_input_grad:
            return None
        dx = dx_call(flat_dz, kernel.T, out=state.buffer("dx", flat_x.shape, dx_call.dtype))
        return dx if inputs.ndim == 2 else dx.reshape(inputs.shape)

    def get_config(self):
        config = super().get_config()
        config.update({
            "units": self.units,
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
