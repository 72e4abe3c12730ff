"""Keras-style losses with the analytic gradients the model's backward pass needs.

Each `Loss` gives the batch loss (`loss(y_true, y_pred)`, reduced as Keras's
default "sum_over_batch_size": the mean of the per-sample losses), its
gradient with respect to `y_pred` (`loss.gradient`), and for the
crossentropies the fused gradient with respect to the logits feeding a final
softmax (resp. sigmoid) layer (`loss.logits_gradient`), which is both faster
and better conditioned than chaining through the activation.

Values follow Keras 3 (`keras/src/backend/numpy/nn.py`): probability inputs of
the categorical losses are renormalized to sum to 1 along the class axis and
clipped to `[1e-7, 1 - 1e-7]` (the gradient is zero where the clip is
active); `from_logits=True` uses log-sum-exp forms.
"""

import numbers

import numpy as np

__all__ = [
    "Loss", "SparseCategoricalCrossentropy", "CategoricalCrossentropy",
    "BinaryCrossentropy", "MeanSquaredError",
    "sparse_categorical_crossentropy", "categorical_crossentropy",
    "binary_crossentropy", "mean_squared_error", "mse", "get",
]

EPSILON = 1e-7
_REDUCTIONS = ("sum_over_batch_size", "sum")


def _as_float(y_pred, name="y_pred"):
    y_pred = np.asarray(y_pred)
    if y_pred.dtype in (np.float32, np.float64):
        return y_pred
    if y_pred.dtype.kind in "biu":
        return y_pred.astype(np.float32)
    if y_pred.dtype.kind == "f":
        return y_pred.astype(np.float32)
    raise TypeError(f"`{name}` must hold real numbers. Received: {name}.dtype={y_pred.dtype}")


def _as_targets(y_true):
    y_true = np.asarray(y_true)
    if y_true.dtype.kind not in "biuf":
        raise ValueError(
            f"Targets must be numbers (int, float or bool). Received: y_true.dtype={y_true.dtype}"
        )
    return y_true


def _check_batch(y_true, y_pred_shape):
    y_pred_shape = tuple(y_pred_shape)
    if len(y_pred_shape) == 0:
        raise ValueError("`y_pred` must have a batch axis. Received: y_pred.shape=()")
    if y_true.ndim == 0:
        raise ValueError(f"`y_true` must have a batch axis. Received: y_true.shape=(), "
                         f"y_pred.shape={y_pred_shape}")
    if y_true.shape[0] != y_pred_shape[0]:
        raise ValueError(
            f"`y_true` and `y_pred` must have the same number of samples. Received: "
            f"y_true.shape={y_true.shape} ({y_true.shape[0]} samples), "
            f"y_pred.shape={y_pred_shape} ({y_pred_shape[0]} samples)"
        )
    if y_true.dtype.kind == "f" and not np.all(np.isfinite(y_true)):
        bad = int(np.count_nonzero(~np.isfinite(y_true)))
        raise ValueError(f"`y_true` contains {bad} NaN or Inf value(s); targets must be finite.")


def _same_rank(y_true, y_pred_shape):
    """Keras's `squeeze_or_expand_to_same_rank` for element-wise losses."""
    if y_true.ndim == len(y_pred_shape) - 1 and y_pred_shape[-1] == 1:
        return y_true.reshape(y_true.shape + (1,))
    if y_true.ndim == len(y_pred_shape) + 1 and y_true.shape[-1] == 1:
        return y_true.reshape(y_true.shape[:-1])
    return y_true


def _log_softmax(logits):
    shifted = logits - np.max(logits, axis=-1, keepdims=True)
    return shifted - np.log(np.sum(np.exp(shifted), axis=-1, keepdims=True))


def _softmax(logits):
    e = np.exp(logits - np.max(logits, axis=-1, keepdims=True))
    return e / np.sum(e, axis=-1, keepdims=True)


def _sigmoid(x):
    # exp of a non-positive number only, so no overflow for large |x|
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e)).astype(x.dtype, copy=False)


class Loss:
    """Base class. Subclasses implement `_elementwise` and `_d_elementwise`.

    The per-sample loss is the class-axis sum (categorical) or the last-axis
    mean (element-wise losses) of an element-wise term; the batch loss is the
    (sample-weighted) sum of the per-sample losses divided by their number
    ("sum_over_batch_size") or not divided ("sum").

    Args:
        name: the loss's name.
        reduction: "sum_over_batch_size" (default) or "sum".
    """

    from_logits = False

    def __init__(self, name=None, reduction="sum_over_batch_size"):
        if reduction not in _REDUCTIONS:
            raise ValueError(
                f"Invalid value for argument `reduction`. Expected one of {list(_REDUCTIONS)}. "
                f"Received: reduction={reduction!r}"
            )
        self.name = name
        self.reduction = reduction

    # Public API --------------------------------------------------------------
    def __call__(self, y_true, y_pred, sample_weight=None):
        """The reduced loss of a batch, as a Python float."""
        y_pred = _as_float(y_pred)
        y_true = self._targets(y_true, y_pred.shape)
        per_sample = self.call(y_true, y_pred)
        weights = self._weights(sample_weight, per_sample.shape)
        if weights is not None:
            per_sample = per_sample * weights
        total = float(np.sum(per_sample, dtype=np.float64))
        if self.reduction == "sum_over_batch_size":
            total /= max(per_sample.size, 1)
        return total

    def call(self, y_true, y_pred):
        """Per-sample losses (shape `y_pred.shape[:-1]`), unreduced."""
        raise NotImplementedError

    def gradient(self, y_true, y_pred, sample_weight=None):
        """d(reduced loss) / d(y_pred), with y_pred's shape and float dtype."""
        raise NotImplementedError

    def logits_gradient(self, y_true, probs, sample_weight=None):
        """Fused d(loss)/d(logits) when `probs` is the activation of `logits`."""
        raise NotImplementedError(f"{type(self).__name__} has no fused logits gradient.")

    def check_targets(self, y_true, y_pred_shape):
        """Validates targets against the prediction shape; returns nothing.

        Raises:
            ValueError: with a message saying what is wrong with `y_true`.
        """
        self._targets(y_true, tuple(y_pred_shape))

    def get_config(self):
        return {"name": self.name, "reduction": self.reduction}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __repr__(self):
        return f"<{type(self).__name__} name={self.name!r}>"

    # Helpers -----------------------------------------------------------------
    def _targets(self, y_true, y_pred_shape):
        y_true = _as_targets(y_true)
        _check_batch(y_true, y_pred_shape)
        return y_true

    def _weights(self, sample_weight, per_sample_shape):
        if sample_weight is None:
            return None
        weights = np.asarray(sample_weight, dtype=np.float64)
        if weights.ndim > len(per_sample_shape) and weights.shape[-1] == 1:
            weights = weights.reshape(weights.shape[:-1])
        try:
            return np.broadcast_to(
                weights.reshape(weights.shape + (1,) * (len(per_sample_shape) - weights.ndim)),
                per_sample_shape,
            )
        except ValueError:
            raise ValueError(
                f"`sample_weight` of shape {np.shape(sample_weight)} does not match the "
                f"per-sample losses of shape {per_sample_shape}."
            ) from None

    def _scale(self, sample_weight, per_sample_shape, dtype, inner=1):
        """Per-sample factor d(reduced loss)/d(per-sample loss), shaped to broadcast."""
        count = int(np.prod(per_sample_shape)) if self.reduction == "sum_over_batch_size" else 1
        factor = 1.0 / (max(count, 1) * inner)
        weights = self._weights(sample_weight, per_sample_shape)
        if weights is None:
            return dtype.type(factor)
        return (weights * factor).astype(dtype)[..., None]


class _Categorical(Loss):
    """Shared math of the two categorical crossentropies (class axis last)."""

    def __init__(self, from_logits=False, name=None, reduction="sum_over_batch_size"):
        super().__init__(name=name, reduction=reduction)
        self.from_logits = bool(from_logits)

    def _dense_targets(self, y_true, y_pred):
        """Targets as a float array shaped like y_pred (one-hot / smoothed)."""
        raise NotImplementedError

    def call(self, y_true, y_pred):
        target = self._dense_targets(y_true, y_pred)
        if self.from_logits:
            log_prob = _log_softmax(y_pred)
        else:
            q = y_pred / np.sum(y_pred, axis=-1, keepdims=True)
            log_prob = np.log(np.clip(q, EPSILON, 1.0 - EPSILON))
        return -np.sum(target * log_prob, axis=-1)

    def gradient(self, y_true, y_pred, sample_weight=None):
        y_pred = _as_float(y_pred)
        y_true = self._targets(y_true, y_pred.shape)
        target = self._dense_targets(y_true, y_pred)
        scale = self._scale(sample_weight, y_pred.shape[:-1], y_pred.dtype)
        if self.from_logits:
            return self._fused(target, _softmax(y_pred), scale)
        total = np.sum(y_pred, axis=-1, keepdims=True)
        q = y_pred / total
        inside = (q >= EPSILON) & (q <= 1.0 - EPSILON)
        d_q = np.where(inside, -target / np.clip(q, EPSILON, 1.0 - EPSILON), 0.0)
        # through the renormalization q = p / sum(p)
        d_p = (d_q - np.sum(d_q * q, axis=-1, keepdims=True)) / total
        return (d_p * scale).astype(y_pred.dtype, copy=False)

    def logits_gradient(self, y_true, probs, sample_weight=None):
        """(probs * sum(target) - target) / batch, i.e. (probs - onehot) / batch.

        Valid when `probs = softmax(logits)` computed by the model's last
        layer; `from_logits` is irrelevant here.
        """
        probs = _as_float(probs, "probs")
        y_true = self._targets(y_true, probs.shape)
        target = self._dense_targets(y_true, probs)
        return self._fused(target, probs, self._scale(sample_weight, probs.shape[:-1], probs.dtype))

    @staticmethod
    def _fused(target, probs, scale):
        grad = probs * np.sum(target, axis=-1, keepdims=True, dtype=probs.dtype) - target
        grad *= scale
        return grad.astype(probs.dtype, copy=False)

    def get_config(self):
        config = super().get_config()
        config["from_logits"] = self.from_logits
        return config


class SparseCategoricalCrossentropy(_Categorical):
    """Crossentropy between integer labels and predicted class scores.

    Args:
        from_logits: whether `y_pred` holds logits (else probabilities).
        name: defaults to "sparse_categorical_crossentropy".
        reduction: "sum_over_batch_size" (default) or "sum".

    Input shape:
        `y_true`: integer labels `(n,)` or `(n, 1)` (any int dtype, or floats
        holding integers); `y_pred`: `(n, num_classes)`.

    Example:
        >>> import numpy as np
        >>> loss = SparseCategoricalCrossentropy()
        >>> round(loss([1, 2], np.array([[0.05, 0.95, 0.0], [0.1, 0.8, 0.1]])), 4)
        1.1769
    """

    def __init__(self, from_logits=False, name="sparse_categorical_crossentropy",
                 reduction="sum_over_batch_size"):
        super().__init__(from_logits=from_logits, name=name, reduction=reduction)

    def _targets(self, y_true, y_pred_shape):
        y_true = _as_targets(y_true)
        _check_batch(y_true, y_pred_shape)
        if len(y_pred_shape) < 2:
            raise ValueError(
                "`y_pred` for a sparse categorical crossentropy needs a class axis: "
                f"(batch, ..., num_classes). Received: y_pred.shape={y_pred_shape}"
            )
        classes = y_pred_shape[-1]
        expected = tuple(y_pred_shape[:-1])
        if y_true.shape == expected + (1,):
            y_true = y_true.reshape(expected)
        elif y_true.shape != expected:
            if y_true.shape == tuple(y_pred_shape) and classes > 1:
                raise ValueError(
                    "SparseCategoricalCrossentropy expects integer class labels of shape "
                    f"{expected}, but `y_true` has the shape of `y_pred`, {y_true.shape}: it looks "
                    "one-hot encoded. Use CategoricalCrossentropy ('categorical_crossentropy') "
                    "for one-hot targets, or pass `y_true.argmax(-1)`."
                )
            raise ValueError(
                "Arguments `y_true` and `y_pred` must have the same shape up until the last "
                f"dimension. Received: y_true.shape={y_true.shape}, y_pred.shape={tuple(y_pred_shape)}"
            )
        if y_true.dtype.kind == "f":
            if np.any(y_true != np.floor(y_true)):
                raise ValueError(
                    "SparseCategoricalCrossentropy expects integer class labels; `y_true` "
                    "holds non-integer values such as "
                    f"{y_true[y_true != np.floor(y_true)].ravel()[0]!r}."
                )
        if y_true.size:
            low, high = y_true.min(), y_true.max()
            if low < 0 or high >= classes:
                raise ValueError(
                    f"Labels must be in [0, {classes - 1}] for {classes} classes "
                    f"(y_pred.shape[-1]). Received labels from {low} to {high}."
                )
        return y_true.astype(np.intp, copy=False)

    def _dense_targets(self, y_true, y_pred):
        target = np.zeros(y_pred.shape, dtype=y_pred.dtype)
        np.put_along_axis(target, y_true[..., None], 1, axis=-1)
        return target

    def call(self, y_true, y_pred):
        if self.from_logits:
            log_prob = _log_softmax(y_pred)
        else:
            q = y_pred / np.sum(y_pred, axis=-1, keepdims=True)
            log_prob = np.log(np.clip(q, EPSILON, 1.0 - EPSILON))
        return -np.take_along_axis(log_prob, y_true[..., None], axis=-1)[..., 0]

    def logits_gradient(self, y_true, probs, sample_weight=None):
        """(probs - onehot) / batch, valid when `probs = softmax(logits)`."""
        probs = _as_float(probs, "probs")
        labels = self._targets(y_true, probs.shape)
        grad = probs.copy()
        flat = grad.reshape(-1, probs.shape[-1])
        flat[np.arange(flat.shape[0]), labels.ravel()] -= 1
        grad *= self._scale(sample_weight, probs.shape[:-1], probs.dtype)
        return grad


class CategoricalCrossentropy(_Categorical):
    """Crossentropy between one-hot (or soft) targets and predicted class scores.

    Args:
        from_logits: whether `y_pred` holds logits (else probabilities).
        label_smoothing: in [0, 1]: targets become
            `y_true * (1 - label_smoothing) + label_smoothing / num_classes`.
        name: defaults to "categorical_crossentropy".
        reduction: "sum_over_batch_size" (default) or "sum".

    Input shape:
        `y_true` and `y_pred`: `(n, num_classes)`.

    Example:
        >>> import numpy as np
        >>> loss = CategoricalCrossentropy()
        >>> round(loss([[0, 1, 0], [0, 0, 1]], np.array([[0.05, 0.95, 0.0], [0.1, 0.8, 0.1]])), 4)
        1.1769
    """

    def __init__(self, from_logits=False, label_smoothing=0.0, name="categorical_crossentropy",
                 reduction="sum_over_batch_size"):
        super().__init__(from_logits=from_logits, name=name, reduction=reduction)
        if (isinstance(label_smoothing, bool) or not isinstance(label_smoothing, numbers.Real)
                or not 0.0 <= label_smoothing <= 1.0):
            raise ValueError(
                f"Argument `label_smoothing` must be a float in [0, 1]. "
                f"Received: label_smoothing={label_smoothing!r}"
            )
        self.label_smoothing = float(label_smoothing)

    def _targets(self, y_true, y_pred_shape):
        y_true = _as_targets(y_true)
        _check_batch(y_true, y_pred_shape)
        y_pred_shape = tuple(y_pred_shape)
        if y_true.shape != y_pred_shape:
            if (len(y_pred_shape) >= 2 and y_pred_shape[-1] > 1
                    and y_true.shape in (y_pred_shape[:-1], y_pred_shape[:-1] + (1,))):
                raise ValueError(
                    "CategoricalCrossentropy expects one-hot targets of shape "
                    f"{y_pred_shape}, but `y_true` has shape {y_true.shape}: it looks like "
                    "integer class labels. Use SparseCategoricalCrossentropy "
                    "('sparse_categorical_crossentropy'), or one-hot encode the labels with "
                    "fastconv.utils.to_categorical."
                )
            raise ValueError(
                "Arguments `y_true` and `y_pred` must have the same shape. "
                f"Received: y_true.shape={y_true.shape}, y_pred.shape={y_pred_shape}"
            )
        return y_true

    def _dense_targets(self, y_true, y_pred):
        target = y_true.astype(y_pred.dtype, copy=False)
        if self.label_smoothing:
            target = target * (1.0 - self.label_smoothing) + self.label_smoothing / y_pred.shape[-1]
        return target

    def get_config(self):
        config = super().get_config()
        config["label_smoothing"] = self.label_smoothing
        return config


class _Elementwise(Loss):
    """Losses that average an element-wise term over the last axis."""

    def _targets(self, y_true, y_pred_shape):
        y_true = _as_targets(y_true)
        _check_batch(y_true, y_pred_shape)
        y_pred_shape = tuple(y_pred_shape)
        aligned = _same_rank(y_true, y_pred_shape)
        if aligned.shape != y_pred_shape:
            raise ValueError(
                "Arguments `y_true` and `y_pred` must have the same shape. "
                f"Received: y_true.shape={y_true.shape}, y_pred.shape={y_pred_shape}"
            )
        return aligned

    def _inner(self, y_pred):
        return y_pred.shape[-1] if y_pred.ndim >= 2 else 1

    def _reduce_last(self, elementwise):
        return np.mean(elementwise, axis=-1) if elementwise.ndim >= 2 else elementwise

    def _scale_for(self, sample_weight, y_pred):
        per_sample = y_pred.shape[:-1] if y_pred.ndim >= 2 else y_pred.shape
        scale = self._scale(sample_weight, per_sample, y_pred.dtype, inner=self._inner(y_pred))
        if y_pred.ndim < 2 and np.ndim(scale):
            scale = scale[..., 0]
        return scale


class BinaryCrossentropy(_Elementwise):
    """Crossentropy for binary (0/1) targets, averaged over the last axis.

    Args:
        from_logits: whether `y_pred` holds logits (else probabilities).
        label_smoothing: in [0, 1]: targets become
            `y_true * (1 - label_smoothing) + 0.5 * label_smoothing`.
        name: defaults to "binary_crossentropy".
        reduction: "sum_over_batch_size" (default) or "sum".

    Input shape:
        `y_pred`: `(n, k)` (usually k = 1) or `(n,)`; `y_true`: the same, or
        `(n,)` against `(n, 1)`. Targets must lie in [0, 1].

    Example:
        >>> import numpy as np
        >>> loss = BinaryCrossentropy()
        >>> round(loss([[0.0, 1.0], [0.0, 0.0]], np.array([[0.6, 0.4], [0.4, 0.6]])), 4)
        0.8149
    """

    def __init__(self, from_logits=False, label_smoothing=0.0, name="binary_crossentropy",
                 reduction="sum_over_batch_size"):
        super().__init__(name=name, reduction=reduction)
        self.from_logits = bool(from_logits)
        if (isinstance(label_smoothing, bool) or not isinstance(label_smoothing, numbers.Real)
                or not 0.0 <= label_smoothing <= 1.0):
            raise ValueError(
                f"Argument `label_smoothing` must be a float in [0, 1]. "
                f"Received: label_smoothing={label_smoothing!r}"
            )
        self.label_smoothing = float(label_smoothing)

    def _targets(self, y_true, y_pred_shape):
        y_true = super()._targets(y_true, y_pred_shape)
        if y_true.size and (y_true.min() < 0 or y_true.max() > 1):
            raise ValueError(
                "BinaryCrossentropy expects targets in [0, 1]. "
                f"Received values from {y_true.min()} to {y_true.max()}."
            )
        return y_true

    def _smoothed(self, y_true, dtype):
        target = y_true.astype(dtype, copy=False)
        if self.label_smoothing:
            target = target * (1.0 - self.label_smoothing) + 0.5 * self.label_smoothing
        return target

    def call(self, y_true, y_pred):
        target = self._smoothed(y_true, y_pred.dtype)
        if self.from_logits:
            # max(x, 0) - x * z + log(1 + exp(-|x|))
            elementwise = np.maximum(y_pred, 0) - y_pred * target + np.log1p(np.exp(-np.abs(y_pred)))
        else:
            p = np.clip(y_pred, EPSILON, 1.0 - EPSILON)
            elementwise = -(target * np.log(p) + (1.0 - target) * np.log(1.0 - p))
        return self._reduce_last(elementwise)

    def gradient(self, y_true, y_pred, sample_weight=None):
        y_pred = _as_float(y_pred)
        y_true = self._targets(y_true, y_pred.shape)
        target = self._smoothed(y_true, y_pred.dtype)
        scale = self._scale_for(sample_weight, y_pred)
        if self.from_logits:
            grad = _sigmoid(y_pred) - target
        else:
            inside = (y_pred >= EPSILON) & (y_pred <= 1.0 - EPSILON)
            p = np.clip(y_pred, EPSILON, 1.0 - EPSILON)
            grad = np.where(inside, (1.0 - target) / (1.0 - p) - target / p, 0.0)
        return (grad * scale).astype(y_pred.dtype, copy=False)

    def logits_gradient(self, y_true, probs, sample_weight=None):
        """(probs - target) / size, valid when `probs = sigmoid(logits)`."""
        probs = _as_float(probs, "probs")
        y_true = self._targets(y_true, probs.shape)
        grad = probs - self._smoothed(y_true, probs.dtype)
        return (grad * self._scale_for(sample_weight, probs)).astype(probs.dtype, copy=False)

    def get_config(self):
        config = super().get_config()
        config.update({"from_logits": self.from_logits, "label_smoothing": self.label_smoothing})
        return config


class MeanSquaredError(_Elementwise):
    """Mean of squared errors over the last axis, then over the batch.

    Args:
        name: defaults to "mean_squared_error".
        reduction: "sum_over_batch_size" (default) or "sum".

    Example:
        >>> import numpy as np
        >>> MeanSquaredError()([[0.0, 1.0], [0.0, 0.0]], np.array([[1.0, 1.0], [1.0, 0.0]]))
        0.5
    """

    def __init__(self, name="mean_squared_error", reduction="sum_over_batch_size"):
        super().__init__(name=name, reduction=reduction)

    def call(self, y_true, y_pred):
        return self._reduce_last(np.square(y_pred - y_true.astype(y_pred.dtype, copy=False)))

    def gradient(self, y_true, y_pred, sample_weight=None):
        y_pred = _as_float(y_pred)
        y_true = self._targets(y_true, y_pred.shape)
        grad = 2.0 * (y_pred - y_true.astype(y_pred.dtype, copy=False))
        return (grad * self._scale_for(sample_weight, y_pred)).astype(y_pred.dtype, copy=False)


# Functional forms (per-sample losses, as keras.losses.<name> returns) ---------
def sparse_categorical_crossentropy(y_true, y_pred, from_logits=False):
    """Per-sample sparse categorical crossentropy, shape `y_pred.shape[:-1]`."""
    loss = SparseCategoricalCrossentropy(from_logits=from_logits)
    y_pred = _as_float(y_pred)
    return loss.call(loss._targets(y_true, y_pred.shape), y_pred)


def categorical_crossentropy(y_true, y_pred, from_logits=False, label_smoothing=0.0):
    """Per-sample categorical crossentropy, shape `y_pred.shape[:-1]`."""
    loss = CategoricalCrossentropy(from_logits=from_logits, label_smoothing=label_smoothing)
    y_pred = _as_float(y_pred)
    return loss.call(loss._targets(y_true, y_pred.shape), y_pred)


def binary_crossentropy(y_true, y_pred, from_logits=False, label_smoothing=0.0):
    """Per-sample binary crossentropy (mean over the last axis)."""
    loss = BinaryCrossentropy(from_logits=from_logits, label_smoothing=label_smoothing)
    y_pred = _as_float(y_pred)
    return loss.call(loss._targets(y_true, y_pred.shape), y_pred)


def mean_squared_error(y_true, y_pred):
    """Per-sample mean squared error (mean over the last axis)."""
    loss = MeanSquaredError()
    y_pred = _as_float(y_pred)
    return loss.call(loss._targets(y_true, y_pred.shape), y_pred)


mse = MSE = mean_squared_error

_BY_NAME = {
    "sparse_categorical_crossentropy": SparseCategoricalCrossentropy,
    "categorical_crossentropy": CategoricalCrossentropy,
    "binary_crossentropy": BinaryCrossentropy,
    "mean_squared_error": MeanSquaredError,
    "mse": MeanSquaredError,
}
_BY_CLASS_NAME = {cls.__name__.lower(): cls for cls in set(_BY_NAME.values())}
_BY_FUNCTION = {
    sparse_categorical_crossentropy: SparseCategoricalCrossentropy,
    categorical_crossentropy: CategoricalCrossentropy,
    binary_crossentropy: BinaryCrossentropy,
    mean_squared_error: MeanSquaredError,
}


def serialize(loss):
    return {"class_name": type(loss).__name__, "config": loss.get_config()}


def get(identifier):
    """Resolves a loss from a name, a config dict, a class, a function or an instance.

    Args:
        identifier: a snake_case name ('sparse_categorical_crossentropy',
            'categorical_crossentropy', 'binary_crossentropy', 'mse',
            'mean_squared_error'), a class name ('SparseCategoricalCrossentropy'),
            a dict `{"class_name", "config"}`, a `Loss` subclass or instance,
            one of this module's loss functions, or None.

    Returns:
        A `Loss` instance (None for None).

    Raises:
        ValueError: for an unknown name, or a custom loss function (fastconv
            needs its gradient: subclass `Loss` and implement `call` and
            `gradient` instead).
    """
    if identifier is None or isinstance(identifier, Loss):
        return identifier
    if isinstance(identifier, str):
        key = identifier.lower()
        cls = _BY_NAME.get(key) or _BY_CLASS_NAME.get(key)
        if cls is None:
            valid = ", ".join(repr(name) for name in _BY_NAME)
            raise ValueError(f"Unknown loss: {identifier!r}. Valid names are {valid}.")
        return cls()
    if isinstance(identifier, dict):
        if "class_name" not in identifier:
            raise ValueError(f"A loss config needs a 'class_name' key. Received: {identifier!r}")
        cls = _BY_CLASS_NAME.get(str(identifier["class_name"]).lower())
        if cls is None:
            raise ValueError(f"Unknown loss class: {identifier['class_name']!r}")
        return cls.from_config(dict(identifier.get("config") or {}))
    if isinstance(identifier, type) and issubclass(identifier, Loss):
        return identifier()
    if identifier in _BY_FUNCTION:
        return _BY_FUNCTION[identifier]()
    if callable(identifier):
        raise ValueError(
            f"Custom loss functions are not supported: {identifier!r}. fastconv trains with "
            "analytic gradients; subclass fastconv.losses.Loss and implement `call` and "
            "`gradient` instead."
        )
    raise ValueError(f"Could not interpret loss identifier: {identifier!r}")
