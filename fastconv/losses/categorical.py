"""The categorical crossentropies (class axis last): classes and per-sample functions."""

import numpy as np

from fastconv.losses.loss import (
    EPSILON, Loss, as_float, as_targets, check_batch, check_label_smoothing,
)


def _log_softmax(logits):
    shifted = logits - np.max(logits, axis=-1, keepdims=True)
    return shifted - np.log(np.sum(np.exp(shifted), axis=-1, keepdims=True))


def _softmax(logits):
    e = np.exp(logits - np.max(logits, axis=-1, keepdims=True))
    return e / np.sum(e, axis=-1, keepdims=True)


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

    def _gradient(self, y_true, y_pred, sample_weight):
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

    def _logits_gradient(self, y_true, probs, sample_weight):
        """(probs * sum(target) - target) / batch, i.e. (probs - onehot) / batch.

        Valid when `probs = softmax(logits)` computed by the model's last
        layer; `from_logits` is irrelevant here.
        """
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
        y_true = as_targets(y_true)
        check_batch(y_true, y_pred_shape)
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
        # (unsigned labels need no lower bound: one reduction less for MNIST's uint8 labels)
        if y_true.size and (y_true.max() >= classes
                            or (y_true.dtype.kind not in "ub" and y_true.min() < 0)):
            low, high = y_true.min(), y_true.max()
            raise ValueError(
                f"Labels must be in [0, {classes - 1}] for {classes} classes "
                f"(y_pred.shape[-1]). Received labels from {low} to {high}."
            )
        return y_true.astype(np.intp, copy=False)

    def _checked_targets(self, y_true, y_pred_shape):
        # `_targets` of valid labels: their (batch, ..., 1) form squeezed, as intp
        y_true = np.asarray(y_true)
        expected = tuple(y_pred_shape[:-1])
        if y_true.shape == expected + (1,):
            y_true = y_true.reshape(expected)
        return y_true.astype(np.intp, copy=False)

    def _dense_targets(self, y_true, y_pred):
        target = np.zeros(y_pred.shape, dtype=y_pred.dtype)
        np.put_along_axis(target, y_true[..., None], 1, axis=-1)
        return target

    def call(self, y_true, y_pred):
        rows = np.arange(y_true.size)  # each label's row among the (..., classes) rows
        if self.from_logits:
            picked = _log_softmax(y_pred).reshape(-1, y_pred.shape[-1])[rows, y_true.ravel()]
        else:  # the label's probability after renormalizing, clipped, as Keras
            flat = y_pred.reshape(-1, y_pred.shape[-1])
            q = flat[rows, y_true.ravel()] / np.add.reduce(flat, axis=-1)  # (= .sum)
            picked = np.log(q.clip(EPSILON, 1.0 - EPSILON))
        return -picked.reshape(y_true.shape)

    def _logits_gradient(self, y_true, probs, sample_weight):
        """(probs - onehot) / batch, valid when `probs = softmax(logits)`."""
        grad = probs.copy()
        grad.reshape(-1, probs.shape[-1])[np.arange(y_true.size), y_true.ravel()] -= 1
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
        self.label_smoothing = check_label_smoothing(label_smoothing)

    def _targets(self, y_true, y_pred_shape):
        y_true = as_targets(y_true)
        check_batch(y_true, y_pred_shape)
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


def sparse_categorical_crossentropy(y_true, y_pred, from_logits=False):
    """Per-sample sparse categorical crossentropy, shape `y_pred.shape[:-1]`."""
    loss = SparseCategoricalCrossentropy(from_logits=from_logits)
    y_pred = as_float(y_pred)
    return loss.call(loss._targets(y_true, y_pred.shape), y_pred)


def categorical_crossentropy(y_true, y_pred, from_logits=False, label_smoothing=0.0):
    """Per-sample categorical crossentropy, shape `y_pred.shape[:-1]`."""
    loss = CategoricalCrossentropy(from_logits=from_logits, label_smoothing=label_smoothing)
    y_pred = as_float(y_pred)
    return loss.call(loss._targets(y_true, y_pred.shape), y_pred)
