"""Core layers: Input/InputLayer, Dense, Activation, Dropout, Flatten, Reshape, Rescaling."""

import numpy as np

from fastconv import activations, backend, initializers, ops
from fastconv.layers import _args
from fastconv.layers.base import KerasTensor, Layer, prod_or_none, result_dtype, standardize_shape

__all__ = ["InputLayer", "Input", "Dense", "Activation", "Dropout", "Flatten", "Reshape",
           "Rescaling"]


class InputLayer(Layer):
    """The entry point of a model: holds the input shape, computes nothing.

    Args:
        shape: the shape of one sample, without the batch axis.
        batch_size: optional fixed batch size.
        dtype: the input dtype (default "float32").
        batch_shape: the full shape including the batch axis (instead of `shape`).
        name: the layer's name (default "input_layer", made unique).
        input_shape: Keras 2 spelling of `shape`.

    Example:
        >>> InputLayer(shape=(28, 28, 1)).output_shape
        (None, 28, 28, 1)
    """

    def __init__(self, shape=None, batch_size=None, dtype=None, batch_shape=None, name=None,
                 input_shape=None, batch_input_shape=None, **kwargs):
        shape = shape if shape is not None else input_shape
        batch_shape = batch_shape if batch_shape is not None else batch_input_shape
        if shape is not None and batch_shape is not None:
            raise ValueError("You cannot pass both `shape` and `batch_shape` at the same time.")
        if shape is None and batch_shape is None:
            raise ValueError("You must pass a `shape` argument.")
        if batch_shape is None:
            batch_shape = (batch_size,) + standardize_shape(shape)
        super().__init__(name=name, dtype=dtype, batch_input_shape=batch_shape, **kwargs)
        self.batch_shape = self._batch_input_shape
        self.built = True
        self.output = KerasTensor(self.batch_shape, self.dtype, self)

    @property
    def input_shape(self):
        return self.batch_shape

    def call(self, inputs, training=False):
        return inputs

    def backward(self, dy):
        self.grads = []
        return dy

    def get_config(self):
        return {"batch_shape": self.batch_shape, "dtype": self.dtype, "name": self.name}


def Input(shape=None, batch_size=None, dtype=None, batch_shape=None, name=None):
    """A symbolic input: the start of a functional model, or the first entry of a Sequential.

    Args:
        shape: the shape of one sample, without the batch axis.
        batch_size: optional fixed batch size.
        dtype: the input dtype (default "float32").
        batch_shape: the full shape including the batch axis (instead of `shape`).
        name: the input layer's name.

    Returns:
        A `KerasTensor` whose `layer` is the `InputLayer`.

    Example:
        >>> Input(shape=(4,)).shape
        (None, 4)
    """
    layer = InputLayer(shape=shape, batch_size=batch_size, dtype=dtype, batch_shape=batch_shape,
                       name=name)
    return layer.output


class Dense(Layer):
    """Densely-connected layer: `activation(inputs @ kernel + bias)` on the last axis.

    Args:
        units: the output size.
        activation: None, "relu", "sigmoid", "softmax", "tanh" or "linear"
            (ReLU is fused into the matrix product).
        use_bias: whether to add a bias.
        kernel_initializer: initializer of the `(input_dim, units)` kernel.
        bias_initializer: initializer of the `(units,)` bias.
        **kwargs: base `Layer` arguments (name, trainable, dtype, input_shape, input_dim).

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
                 bias_initializer="zeros", **kwargs):
        super().__init__(**kwargs)
        self.units = _args.positive_int(units, "units")
        self.activation = _args.activation(activation)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel = None
        self.bias = None

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
                                      initializer=self.kernel_initializer)
        if self.use_bias:
            self.bias = self.add_weight(name="bias", shape=(self.units,),
                                        initializer=self.bias_initializer)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (self.units,)

    def call(self, inputs, training=False):
        fused_relu = self.activation is activations.relu
        flat = inputs.reshape(-1, inputs.shape[-1])
        outputs = ops.matmul(flat, self.kernel, self.bias,
                             activation="relu" if fused_relu else None,
                             out=self._buffer("outputs", (len(flat), self.units),
                                              result_dtype(flat, self.kernel)))
        outputs = outputs.reshape(inputs.shape[:-1] + (self.units,))
        if not fused_relu:
            outputs = self.activation(outputs)
        self._inputs, self._outputs = inputs, outputs
        return outputs

    def backward(self, dy):
        return self._backward_through_activation(dy)

    def backward_logits(self, dz):
        flat_dz = dz.reshape(-1, self.units)
        flat_x = self._inputs.reshape(-1, self._inputs.shape[-1])
        dtype = result_dtype(flat_x, flat_dz, self.kernel)
        dkernel = ops.matmul(flat_x.T, flat_dz, out=self._buffer("dkernel", self.kernel.shape, dtype))
        if self.use_bias:
            dbias = self._buffer("dbias", (self.units,), dtype)
            self.grads = [dkernel, np.sum(flat_dz, axis=0, out=dbias)]
        else:
            self.grads = [dkernel]
        if not self.compute_input_gradient:
            return None
        dx = self._buffer("dx", flat_x.shape, dtype)
        return ops.matmul(flat_dz, self.kernel.T, out=dx).reshape(self._inputs.shape)

    def get_config(self):
        config = super().get_config()
        config.update({
            "units": self.units,
            "activation": activations.serialize(self.activation),
            "use_bias": self.use_bias,
            "kernel_initializer": initializers.serialize(self.kernel_initializer),
            "bias_initializer": initializers.serialize(self.bias_initializer),
        })
        return config


class Activation(Layer):
    """Applies an activation function to its input.

    Args:
        activation: "relu", "sigmoid", "softmax", "tanh", "linear" or None.
        **kwargs: base `Layer` arguments.

    Input shape:
        Any.

    Output shape:
        Same as the input.

    Example:
        >>> import numpy as np
        >>> Activation("relu")(np.array([[-1.0, 2.0]])).tolist()
        [[0.0, 2.0]]
    """

    def __init__(self, activation, **kwargs):
        super().__init__(**kwargs)
        self.activation = _args.activation(activation)

    def call(self, inputs, training=False):
        self._outputs = self.activation(inputs)
        return self._outputs

    def backward(self, dy):
        self.grads = []
        return activations.backward(self.activation, dy, self._outputs)

    def backward_logits(self, dz):
        self.grads = []
        return dz

    def get_config(self):
        config = super().get_config()
        config["activation"] = activations.serialize(self.activation)
        return config


class Dropout(Layer):
    """Sets a random fraction `rate` of the inputs to 0 while training (inverted dropout).

    Kept values are scaled by `1 / (1 - rate)`, so nothing changes at inference.

    Args:
        rate: the fraction to drop, in [0, 1].
        noise_shape: optional shape of the binary mask, broadcast over the
            input (None entries take the input's size), e.g. `(batch, 1, 1, C)`.
        seed: optional int; by default masks come from `fastconv.backend.random_generator()`.
        **kwargs: base `Layer` arguments.

    Input shape:
        Any.

    Output shape:
        Same as the input.

    Example:
        >>> import numpy as np
        >>> Dropout(0.5)(np.ones((2, 3))).tolist()  # inference: the identity
        [[1.0, 1.0, 1.0], [1.0, 1.0, 1.0]]
    """

    def __init__(self, rate, noise_shape=None, seed=None, **kwargs):
        super().__init__(**kwargs)
        if isinstance(rate, bool) or not isinstance(rate, (int, float, np.floating)) \
                or not 0 <= rate <= 1:
            raise ValueError(
                "Invalid value received for argument `rate`. Expected a float value between "
                f"0 and 1. Received: rate={rate}"
            )
        self.rate = float(rate)
        self.noise_shape = None if noise_shape is None else standardize_shape(noise_shape,
                                                                               "noise_shape")
        self.seed = seed
        self._generator = None if seed is None else np.random.default_rng(seed)
        self._mask = None

    def _mask_shape(self, shape):
        if self.noise_shape is None:
            return shape
        if len(self.noise_shape) != len(shape):
            raise ValueError(f"`noise_shape` {self.noise_shape} must have the rank of the "
                             f"inputs, {shape}.")
        return tuple(s if n is None else n for n, s in zip(self.noise_shape, shape))

    def call(self, inputs, training=False):
        if not training or self.rate == 0:
            self._mask = None
            return inputs
        generator = self._generator or backend.random_generator()
        if self.rate == 1:
            self._mask = np.zeros(self._mask_shape(inputs.shape), dtype=inputs.dtype)
        else:
            keep = generator.random(self._mask_shape(inputs.shape), dtype=np.float32) >= self.rate
            self._mask = keep * inputs.dtype.type(1.0 / (1.0 - self.rate))
        return inputs * self._mask

    def backward(self, dy):
        self.grads = []
        return dy if self._mask is None else dy * self._mask

    def get_config(self):
        config = super().get_config()
        config.update({"rate": self.rate, "noise_shape": self.noise_shape, "seed": self.seed})
        return config


class Flatten(Layer):
    """Flattens each sample to one axis: `(batch, ...)` -> `(batch, prod(...))`.

    Args:
        data_format: "channels_last" (default) or "channels_first"; with
            channels_first the channels axis is moved last first, so both
            formats flatten in the same order (as Keras).
        **kwargs: base `Layer` arguments.

    Input shape:
        `(batch, ...)`, rank >= 1.

    Output shape:
        `(batch, prod(...))`.

    Example:
        >>> import numpy as np
        >>> Flatten()(np.zeros((2, 3, 4, 5))).shape
        (2, 60)
    """

    def __init__(self, data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.data_format = _args.data_format(data_format)

    def _permuted(self, ndim):
        return self.data_format == "channels_first" and ndim >= 3

    def compute_output_shape(self, input_shape):
        if len(input_shape) == 1:
            return (input_shape[0], 1)
        return (input_shape[0], prod_or_none(input_shape[1:]))

    def call(self, inputs, training=False):
        self._input_shape = inputs.shape
        if self._permuted(inputs.ndim):
            inputs = np.moveaxis(inputs, 1, -1)
        return np.ascontiguousarray(inputs).reshape(inputs.shape[0], -1)

    def backward(self, dy):
        self.grads = []
        if not self._permuted(len(self._input_shape)):
            return dy.reshape(self._input_shape)
        shape = self._input_shape
        moved = dy.reshape((shape[0],) + shape[2:] + (shape[1],))
        return np.ascontiguousarray(np.moveaxis(moved, -1, 1))

    def get_config(self):
        config = super().get_config()
        config["data_format"] = self.data_format
        return config


class Reshape(Layer):
    """Reshapes each sample to `target_shape` (one entry may be -1).

    Args:
        target_shape: the new shape of one sample, without the batch axis.
        **kwargs: base `Layer` arguments.

    Input shape:
        `(batch, ...)`.

    Output shape:
        `(batch,) + target_shape`.

    Example:
        >>> import numpy as np
        >>> Reshape((2, -1))(np.zeros((3, 12))).shape
        (3, 2, 6)
    """

    def __init__(self, target_shape, **kwargs):
        super().__init__(**kwargs)
        try:
            target = tuple(int(d) for d in target_shape)
        except TypeError:
            raise ValueError("`target_shape` must be a tuple of ints. "
                             f"Received: target_shape={target_shape!r}") from None
        if sum(d == -1 for d in target) > 1 or any(d == 0 or d < -1 for d in target):
            raise ValueError(
                "`target_shape` must hold positive ints and at most one -1. "
                f"Received: target_shape={target_shape!r}"
            )
        self.target_shape = target

    def _resolved(self, input_shape):
        size = prod_or_none(input_shape[1:])
        known = prod_or_none([d for d in self.target_shape if d != -1])
        if -1 not in self.target_shape:
            if size is not None and size != known:
                raise ValueError(
                    f"The total size of the tensor must be unchanged. Received: "
                    f"input_shape={tuple(input_shape)}, target_shape={self.target_shape}"
                )
            return self.target_shape
        if size is None:
            return tuple(None if d == -1 else d for d in self.target_shape)
        if size % known:
            raise ValueError(
                f"The total size of the tensor must be unchanged. Received: "
                f"input_shape={tuple(input_shape)}, target_shape={self.target_shape}"
            )
        return tuple(size // known if d == -1 else d for d in self.target_shape)

    def check_input_shape(self, input_shape):
        self._resolved(input_shape)

    def compute_output_shape(self, input_shape):
        return (input_shape[0],) + self._resolved(input_shape)

    def call(self, inputs, training=False):
        self._input_shape = inputs.shape
        return inputs.reshape((inputs.shape[0],) + self._resolved(inputs.shape))

    def backward(self, dy):
        self.grads = []
        return dy.reshape(self._input_shape)

    def get_config(self):
        config = super().get_config()
        config["target_shape"] = self.target_shape
        return config


class Rescaling(Layer):
    """Computes `inputs * scale + offset` (e.g. `Rescaling(1 / 255)` for uint8 images).

    Args:
        scale: a float (or an array broadcasting against one sample).
        offset: a float (or such an array), default 0.
        **kwargs: base `Layer` arguments.

    Input shape:
        Any.

    Output shape:
        Same as the input.

    Example:
        >>> import numpy as np
        >>> Rescaling(1 / 255)(np.array([[0, 255]], np.uint8)).tolist()
        [[0.0, 1.0]]
    """

    def __init__(self, scale, offset=0.0, **kwargs):
        super().__init__(**kwargs)
        self.scale = scale
        self.offset = offset

    def call(self, inputs, training=False):
        scale = np.asarray(self.scale, dtype=inputs.dtype)
        offset = np.asarray(self.offset, dtype=inputs.dtype)
        return inputs * scale + offset

    def backward(self, dy):
        self.grads = []
        return dy * np.asarray(self.scale, dtype=dy.dtype)

    def get_config(self):
        config = super().get_config()
        config.update({"scale": self.scale, "offset": self.offset})
        return config
