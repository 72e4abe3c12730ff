"""LayerNormalization: each sample normalized over its feature axes."""

import numpy as np

from fastconv import initializers
from fastconv.layers import _args, weight_penalties
from fastconv.layers.base import Layer

__all__ = ["LayerNormalization"]


class LayerNormalization(Layer):
    """`gamma * (x - mean) / sqrt(variance + epsilon) + beta`, the mean and (population)
    variance taken over `axis` within each sample.

    Args:
        axis: an int or a list of ints, the axes to normalize over (default -1); `gamma`
            and `beta` have the shape of the input on these axes.
        epsilon: added to the variance before the square root (default 1e-3).
        center: whether to add the learned offset `beta`.
        scale: whether to multiply by the learned scale `gamma`.
        rms_scaling: must be False (fastconv does not implement Keras's RMS variant).
        beta_initializer, gamma_initializer: initializers of `beta` and `gamma`.
        beta_regularizer, gamma_regularizer: regularizers of `beta` and `gamma`.
        beta_constraint, gamma_constraint: constraints of `beta` and `gamma`.
        **kwargs: base `Layer` arguments.

    Input shape:
        Any, with known sizes along `axis`.

    Output shape:
        Same as the input.

    Example:
        >>> import numpy as np
        >>> layer = LayerNormalization(epsilon=0.0)
        >>> layer(np.array([[1.0, 3.0], [10.0, 30.0]])).tolist(), layer.count_params()
        ([[-1.0, 1.0], [-1.0, 1.0]], 4)
    """

    def __init__(self, axis=-1, epsilon=1e-3, center=True, scale=True, rms_scaling=False,
                 beta_initializer="zeros", gamma_initializer="ones", beta_regularizer=None,
                 gamma_regularizer=None, beta_constraint=None, gamma_constraint=None, **kwargs):
        super().__init__(**kwargs)
        axes = list(axis) if isinstance(axis, (list, tuple)) else [axis]
        if not axes or not all(isinstance(a, (int, np.integer)) and not isinstance(a, bool)
                               for a in axes):
            raise TypeError("Expected an int or a list/tuple of ints for the argument 'axis'. "
                            f"Received: {axis!r}")
        self.axis = [int(a) for a in axes] if isinstance(axis, (list, tuple)) else int(axis)
        if isinstance(epsilon, bool) or not isinstance(epsilon, (int, float, np.floating)) \
                or not epsilon >= 0:
            raise ValueError(f"`epsilon` must be a float >= 0. Received: epsilon={epsilon!r}")
        self.epsilon = float(epsilon)
        if rms_scaling:
            raise ValueError("LayerNormalization(rms_scaling=True) is not implemented in "
                             "fastconv. Received: rms_scaling=True")
        self.rms_scaling = False
        self.center = bool(center)
        self.scale = bool(scale)
        self.beta_initializer = initializers.get(beta_initializer)
        self.gamma_initializer = initializers.get(gamma_initializer)
        self.beta_regularizer = _args.regularizer(beta_regularizer)
        self.gamma_regularizer = _args.regularizer(gamma_regularizer)
        self.beta_constraint = _args.constraint(beta_constraint)
        self.gamma_constraint = _args.constraint(gamma_constraint)
        self.gamma = self.beta = None

    def _axes(self, ndim):
        axes = self.axis if isinstance(self.axis, list) else [self.axis]
        resolved = sorted({a + ndim if a < 0 else a for a in axes})
        if not all(0 < a < ndim for a in resolved):
            raise ValueError(f"Layer '{self.name}': `axis` must name non-batch axes of the "
                             f"inputs. Received: axis={self.axis} for inputs of rank {ndim}")
        return tuple(resolved)

    def check_input_shape(self, input_shape):
        axes = self._axes(len(input_shape))
        if any(input_shape[a] is None for a in axes):
            raise ValueError(f"The normalized axes {self.axis} of the inputs to layer "
                             f"'{self.name}' must be known. Received: {tuple(input_shape)}")
        weight = self.gamma if self.gamma is not None else self.beta
        if self.built and weight is not None and \
                tuple(input_shape[a] for a in axes) != weight.shape:
            raise self._incompatible(f"expected axes {self.axis} to have sizes {weight.shape}",
                                     input_shape)

    def build(self, input_shape):
        shape = tuple(input_shape[a] for a in self._axes(len(input_shape)))
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

    def _broadcast(self, weight, ndim, dtype):
        """`weight` shaped to broadcast against inputs of rank `ndim`."""
        axes = self._axes(ndim)
        shape = [weight.shape[axes.index(i)] if i in axes else 1 for i in range(ndim)]
        return np.asarray(weight, dtype=dtype).reshape(shape)

    def forward(self, state, inputs, training):
        axes = self._axes(inputs.ndim)
        mean = inputs.mean(axis=axes, keepdims=True)
        centered = inputs - mean
        variance = np.mean(np.square(centered), axis=axes, keepdims=True)
        inv_std = 1.0 / np.sqrt(variance + inputs.dtype.type(self.epsilon))
        normalized = centered * inv_std
        outputs = normalized
        if self.scale:
            outputs = outputs * self._broadcast(self.gamma, inputs.ndim, inputs.dtype)
        if self.center:
            outputs = outputs + self._broadcast(self.beta, inputs.ndim, inputs.dtype)
        state.normalized, state.inv_std = normalized, inv_std
        return outputs

    def grad(self, state, dy):
        normalized, inv_std = state.normalized, state.inv_std
        axes = self._axes(dy.ndim)
        others = tuple(i for i in range(dy.ndim) if i not in axes)
        grads = []
        if self.scale:
            grads.append(np.sum(dy * normalized, axis=others))
            dnormalized = dy * self._broadcast(self.gamma, dy.ndim, dy.dtype)
        else:
            dnormalized = dy
        if self.center:
            grads.append(np.sum(dy, axis=others))
        state.grads = grads if self.trainable else []
        if not state.needs_input_grad:
            return None
        # The sample's mean and variance depend on every normalized cell:
        # dx = inv_std * (dn - mean(dn) - n * mean(dn * n)) over the normalized axes.
        mean_dn = np.mean(dnormalized, axis=axes, keepdims=True)
        mean_dn_n = np.mean(dnormalized * normalized, axis=axes, keepdims=True)
        return inv_std * (dnormalized - mean_dn - normalized * mean_dn_n)

    def get_config(self):
        config = super().get_config()
        config.update({
            "axis": self.axis,
            "epsilon": self.epsilon,
            "center": self.center,
            "scale": self.scale,
            "rms_scaling": self.rms_scaling,
            "beta_initializer": initializers.serialize(self.beta_initializer),
            "gamma_initializer": initializers.serialize(self.gamma_initializer),
            **weight_penalties.config_entries(
                beta_regularizer=self.beta_regularizer, gamma_regularizer=self.gamma_regularizer,
                beta_constraint=self.beta_constraint, gamma_constraint=self.gamma_constraint),
        })
        return config
