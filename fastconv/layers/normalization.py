"""BatchNormalization: normalize with batch statistics while training, moving statistics after."""

import numpy as np

from fastconv import initializers
from fastconv.layers import _args, weight_penalties
from fastconv.layers.base import Layer

__all__ = ["BatchNormalization"]


class BatchNormalization(Layer):
    """Normalizes each channel to zero mean and unit variance, then scales and shifts it.

    While training (`training=True` and the layer trainable) the mean and the
    biased variance of the current batch over every axis but `axis` are used,
    and the moving statistics are updated as Keras 3 does:
    `moving = moving * momentum + batch * (1 - momentum)`, with the same
    biased batch variance. At inference (or when the layer is frozen) the
    moving statistics are used:
    `gamma * (x - moving_mean) / sqrt(moving_variance + epsilon) + beta`.

    Args:
        axis: the channels axis (default -1, channels_last images).
        momentum: the moving-average momentum.
        epsilon: added to the variance before the square root.
        center: whether to add the learned offset `beta`.
        scale: whether to multiply by the learned scale `gamma`.
        beta_initializer: initializer of `beta`.
        gamma_initializer: initializer of `gamma`.
        moving_mean_initializer: initializer of `moving_mean`.
        moving_variance_initializer: initializer of `moving_variance`.
        beta_regularizer, gamma_regularizer: regularizers of `beta` and `gamma`.
        beta_constraint, gamma_constraint: constraints of `beta` and `gamma`.
        **kwargs: base `Layer` arguments.

    Input shape:
        Any, with a known size along `axis`.

    Output shape:
        Same as the input.

    Weights:
        `gamma` and `beta` are trainable; `moving_mean` and `moving_variance`
        are non-trainable (so 32 channels give 128 parameters, 64 of them
        trainable, as Keras counts them).

    Example:
        >>> import numpy as np
        >>> layer = BatchNormalization()
        >>> x = np.array([[1.0, 10.0], [3.0, 30.0]])
        >>> np.round(layer(x, training=True), 3).tolist()
        [[-1.0, -1.0], [1.0, 1.0]]
        >>> layer.count_params()
        8
    """

    def __init__(self, axis=-1, momentum=0.99, epsilon=1e-3, center=True, scale=True,
                 beta_initializer="zeros", gamma_initializer="ones",
                 moving_mean_initializer="zeros", moving_variance_initializer="ones",
                 beta_regularizer=None, gamma_regularizer=None, beta_constraint=None,
                 gamma_constraint=None, **kwargs):
        super().__init__(**kwargs)
        if isinstance(axis, bool) or not isinstance(axis, (int, np.integer)):
            raise ValueError(f"`axis` must be an int. Received: axis={axis!r}")
        self.axis = int(axis)
        self.momentum = float(momentum)
        self.epsilon = float(epsilon)
        if not self.epsilon > 0:
            raise ValueError(f"`epsilon` must be > 0. Received: epsilon={epsilon!r}")
        self.center = bool(center)
        self.scale = bool(scale)
        self.beta_initializer = initializers.get(beta_initializer)
        self.gamma_initializer = initializers.get(gamma_initializer)
        self.moving_mean_initializer = initializers.get(moving_mean_initializer)
        self.moving_variance_initializer = initializers.get(moving_variance_initializer)
        self.beta_regularizer = _args.regularizer(beta_regularizer)
        self.gamma_regularizer = _args.regularizer(gamma_regularizer)
        self.beta_constraint = _args.constraint(beta_constraint)
        self.gamma_constraint = _args.constraint(gamma_constraint)
        self.gamma = self.beta = self.moving_mean = self.moving_variance = None

    def _axis(self, ndim):
        axis = self.axis + ndim if self.axis < 0 else self.axis
        if not 0 < axis < ndim:
            raise ValueError(
                f"Layer '{self.name}': `axis` must be a non-batch axis of the inputs. "
                f"Received: axis={self.axis} for inputs of rank {ndim}"
            )
        return axis

    def check_input_shape(self, input_shape):
        axis = self._axis(len(input_shape))
        if input_shape[axis] is None:
            raise ValueError(
                f"Axis {self.axis} of the inputs to layer '{self.name}' should have a defined "
                f"dimension. Full input shape received: {tuple(input_shape)}"
            )
        if self.built and input_shape[axis] != self.moving_mean.shape[0]:
            raise self._incompatible(
                f"expected axis {self.axis} of input shape to have value "
                f"{self.moving_mean.shape[0]}", input_shape)

    def build(self, input_shape):
        shape = (input_shape[self._axis(len(input_shape))],)
        if self.scale:
            self.gamma = self.add_weight(name="gamma", shape=shape,
                                         initializer=self.gamma_initializer,
                                         regularizer=self.gamma_regularizer,
                                         constraint=self.gamma_constraint)
        if self.center:
            self.beta = self.add_weight(name="beta", shape=shape,
                                        initializer=self.beta_initializer,
                                        regularizer=self.beta_regularizer,
                                        constraint=self.beta_constraint)
        self.moving_mean = self.add_weight(name="moving_mean", shape=shape,
                                           initializer=self.moving_mean_initializer,
                                           trainable=False)
        self.moving_variance = self.add_weight(name="moving_variance", shape=shape,
                                               initializer=self.moving_variance_initializer,
                                               trainable=False)

    def _broadcast(self, values, ndim):
        shape = [1] * ndim
        shape[self._axis(ndim)] = -1
        return values.reshape(shape)

    def forward(self, state, inputs, training):
        ndim = inputs.ndim
        axis = self._axis(ndim)
        reduce = tuple(i for i in range(ndim) if i != axis)
        dtype = inputs.dtype.type
        batch_stats = bool(training) and self.trainable
        if batch_stats:
            mean = inputs.mean(axis=reduce, keepdims=True)
            centered = inputs - mean
            variance = np.mean(np.square(centered), axis=reduce, keepdims=True)
            momentum = self.momentum
            self.moving_mean *= momentum
            self.moving_mean += (1.0 - momentum) * mean.reshape(-1).astype(self.moving_mean.dtype)
            self.moving_variance *= momentum
            self.moving_variance += (1.0 - momentum) * variance.reshape(-1).astype(
                self.moving_variance.dtype)
        else:
            mean = self._broadcast(self.moving_mean.astype(inputs.dtype, copy=False), ndim)
            variance = self._broadcast(self.moving_variance.astype(inputs.dtype, copy=False), ndim)
            centered = inputs - mean
        inv_std = (1.0 / np.sqrt(variance + dtype(self.epsilon))).astype(inputs.dtype)
        normalized = centered * inv_std
        outputs = normalized
        if self.scale:
            outputs = outputs * self._broadcast(self.gamma.astype(inputs.dtype, copy=False), ndim)
        if self.center:
            outputs = outputs + self._broadcast(self.beta.astype(inputs.dtype, copy=False), ndim)
        state.cache = (normalized, inv_std, reduce, batch_stats)
        return outputs

    def grad(self, state, dy):
        normalized, inv_std, reduce, batch_stats = state.cache
        ndim = dy.ndim
        grads = {}
        if self.scale:
            grads["gamma"] = np.sum(dy * normalized, axis=reduce)
            dnormalized = dy * self._broadcast(self.gamma.astype(dy.dtype, copy=False), ndim)
        else:
            dnormalized = dy
        if self.center:
            grads["beta"] = np.sum(dy, axis=reduce)
        state.grads = [grads[name] for name in ("gamma", "beta") if name in grads] \
            if self.trainable else []
        if not state.needs_input_grad:
            return None
        if not batch_stats:
            return dnormalized * inv_std
        # The batch mean and variance depend on every input of the channel:
        # dx = inv_std * (dn - mean(dn) - n * mean(dn * n)).
        mean_dn = np.mean(dnormalized, axis=reduce, keepdims=True)
        mean_dn_n = np.mean(dnormalized * normalized, axis=reduce, keepdims=True)
        return inv_std * (dnormalized - mean_dn - normalized * mean_dn_n)

    def get_config(self):
        config = super().get_config()
        config.update({
            "axis": self.axis,
            "momentum": self.momentum,
            "epsilon": self.epsilon,
            "center": self.center,
            "scale": self.scale,
            "beta_initializer": initializers.serialize(self.beta_initializer),
            "gamma_initializer": initializers.serialize(self.gamma_initializer),
            "moving_mean_initializer": initializers.serialize(self.moving_mean_initializer),
            "moving_variance_initializer": initializers.serialize(
                self.moving_variance_initializer),
            **weight_penalties.config_entries(
                beta_regularizer=self.beta_regularizer, gamma_regularizer=self.gamma_regularizer,
                beta_constraint=self.beta_constraint, gamma_constraint=self.gamma_constraint),
        })
        return config
