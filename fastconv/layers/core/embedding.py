"""Embedding: rows of a learned table, looked up by integer index."""

import numpy as np

from fastconv import initializers
from fastconv.layers import _args, weight_penalties
from fastconv.layers.base import Layer

__all__ = ["Embedding"]


class Embedding(Layer):
    """Maps each integer index in `[0, input_dim)` to row `index` of a learned
    `(input_dim, output_dim)` table.

    Args:
        input_dim: the vocabulary size (largest index + 1).
        output_dim: the size of each embedding vector.
        embeddings_initializer: initializer of the table (default "uniform", as Keras:
            uniform in [-0.05, 0.05]).
        embeddings_regularizer: a regularizer of the table.
        embeddings_constraint: a constraint of the table.
        mask_zero: must be False (fastconv has no masking).
        weights: optional initial table, a `(input_dim, output_dim)` array.
        **kwargs: base `Layer` arguments (`input_length`, Keras 2's, is accepted and ignored).

    Input shape:
        Integer indices of any shape `(batch, ...)` (floats holding integers are accepted).

    Output shape:
        `(batch, ..., output_dim)`.

    Raises:
        ValueError: for indices outside `[0, input_dim)` or not integers.

    Example:
        >>> import numpy as np
        >>> layer = Embedding(10, 3, embeddings_initializer="ones")
        >>> layer(np.array([[1, 2, 9]])).shape, layer.count_params()
        ((1, 3, 3), 30)
    """

    def __init__(self, input_dim, output_dim, embeddings_initializer="uniform",
                 embeddings_regularizer=None, embeddings_constraint=None, mask_zero=False,
                 weights=None, **kwargs):
        kwargs.pop("input_length", None)
        super().__init__(**kwargs)
        self.input_dim = _args.positive_int(input_dim, "input_dim")
        self.output_dim = _args.positive_int(output_dim, "output_dim")
        self.embeddings_initializer = initializers.get(embeddings_initializer)
        self.embeddings_regularizer = _args.regularizer(embeddings_regularizer)
        self.embeddings_constraint = _args.constraint(embeddings_constraint)
        if mask_zero:
            raise ValueError("Embedding(mask_zero=True) needs masking, which fastconv does not "
                             "implement. Received: mask_zero=True")
        self.mask_zero = False
        self._initial_weights = None if weights is None else np.asarray(weights)
        if self._initial_weights is not None and \
                self._initial_weights.shape != (self.input_dim, self.output_dim):
            raise ValueError(f"`weights` must have shape ({self.input_dim}, {self.output_dim}). "
                             f"Received: weights.shape={self._initial_weights.shape}")
        self.embeddings = None

    def build(self, input_shape):
        self.embeddings = self.add_weight(name="embeddings",
                                          shape=(self.input_dim, self.output_dim),
                                          initializer=self.embeddings_initializer,
                                          regularizer=self.embeddings_regularizer,
                                          constraint=self.embeddings_constraint)
        if self._initial_weights is not None:
            self.embeddings[...] = self._initial_weights
            self._initial_weights = None

    def compute_output_shape(self, input_shape):
        return tuple(input_shape) + (self.output_dim,)

    def cast_input(self, inputs):
        return np.asarray(inputs)  # indices keep their integer dtype

    def _indices(self, inputs):
        indices = np.asarray(inputs)
        if indices.dtype.kind == "f":
            as_int = indices.astype(np.intp)
            if not np.array_equal(as_int, indices):
                raise ValueError(f"Layer '{self.name}' expects integer indices. Received "
                                 f"non-integer values in inputs of dtype {indices.dtype}")
            indices = as_int
        elif indices.dtype.kind not in "iu":
            raise TypeError(f"Layer '{self.name}' expects integer indices. Received: inputs "
                            f"with dtype={indices.dtype}")
        if indices.size and (indices.min() < 0 or indices.max() >= self.input_dim):
            raise ValueError(f"Layer '{self.name}': indices must be in [0, {self.input_dim}). "
                             f"Received values in [{indices.min()}, {indices.max()}]")
        return indices

    def forward(self, state, inputs, training):
        indices = self._indices(inputs)
        state.indices = indices
        return np.asarray(self.embeddings)[indices]

    def grad(self, state, dy):
        dtable = np.zeros(self.embeddings.shape, dtype=dy.dtype)
        np.add.at(dtable, state.indices.reshape(-1), dy.reshape(-1, self.output_dim))
        state.grads = [dtable] if self.trainable else []
        # Indices have no gradient: zeros keep a model's backward pass uniform.
        return np.zeros(state.indices.shape, dtype=dy.dtype) if state.needs_input_grad else None

    def get_config(self):
        config = super().get_config()
        config.update({
            "input_dim": self.input_dim,
            "output_dim": self.output_dim,
            "embeddings_initializer": initializers.serialize(self.embeddings_initializer),
            "mask_zero": self.mask_zero,
            **weight_penalties.config_entries(
                embeddings_regularizer=self.embeddings_regularizer,
                embeddings_constraint=self.embeddings_constraint),
        })
        return config
