"""Losses averaging an element-wise term over the last axis: binary crossentropy, MSE."""

import numpy as np

from fastconv.losses.loss import (
    EPSILON, Loss, as_float, as_targets, check_batch, same_rank, check_label_smoothing,
)


def _sigmoid(x):
    # exp of a non-positive number only, so no overflow for large |x|
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e)).astype(x.dtype, copy=False)


class _Elementwise(Loss):
    """Losses that average an element-wise term over the last axis."""

    def _targets(self, y_true, y_pred_shape):
        y_true = as_targets(y_true)
        check_batch(y_true, y_pred_shape)
        y_pred_shape = tuple(y_pred_shape)
        aligned = same_rank(y_true, y_pred_shape)
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
        self.label_smoothing = check_label_smoothing(label_smoothing)

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

    def _gradient(self, y_true, y_pred, sample_weight):
        target = self._smoothed(y_true, y_pred.dtype)
        scale = self._scale_for(sample_weight, y_pred)
        if self.from_logits:
            grad = _sigmoid(y_pred) - target
        else:
            inside = (y_pred >= EPSILON) & (y_pred <= 1.0 - EPSILON)
            p = np.clip(y_pred, EPSILON, 1.0 - EPSILON)
            grad = np.where(inside, (1.0 - target) / (1.0 - p) - target / p, 0.0)
        return (grad * scale).astype(y_pred.dtype, copy=False)

    def _logits_gradient(self, y_true, probs, sample_weight):
        """(probs - target) / size, valid when `probs = sigmoid(logits)`."""
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

    def _gradient(self, y_true, y_pred, sample_weight):
        grad = 2.0 * (y_pred - y_true.astype(y_pred.dtype, copy=False))
        return (grad * self._scale_for(sample_weight, y_pred)).astype(y_pred.dtype, copy=False)


def binary_crossentropy(y_true, y_pred, from_logits=False, label_smoothing=0.0):
    """Per-sample binary crossentropy (mean over the last axis)."""
    loss = BinaryCrossentropy(from_logits=from_logits, label_smoothing=label_smoothing)
    y_pred = as_float(y_pred)
    return loss.call(loss._targets(y_true, y_pred.shape), y_pred)


def mean_squared_error(y_true, y_pred):
    """Per-sample mean squared error (mean over the last axis)."""
    loss = MeanSquaredError()
    y_pred = as_float(y_pred)
    return loss.call(loss._targets(y_true, y_pred.shape), y_pred)
