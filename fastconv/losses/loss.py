"""`Loss`: the base of every loss, and the input checks all losses share."""

import math
import numbers

import numpy as np

EPSILON = 1e-7
REDUCTIONS = ("sum_over_batch_size", "sum")


def as_float(y_pred, name="y_pred"):
    y_pred = np.asarray(y_pred)
    if y_pred.dtype in (np.float32, np.float64):
        return y_pred
    if y_pred.dtype.kind in "biu":
        return y_pred.astype(np.float32)
    if y_pred.dtype.kind == "f":
        return y_pred.astype(np.float32)
    raise TypeError(f"`{name}` must hold real numbers. Received: {name}.dtype={y_pred.dtype}")


def as_targets(y_true):
    y_true = np.asarray(y_true)
    if y_true.dtype.kind not in "biuf":
        raise ValueError(
            f"Targets must be numbers (int, float or bool). Received: y_true.dtype={y_true.dtype}"
        )
    return y_true


def check_batch(y_true, y_pred_shape):
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


def same_rank(y_true, y_pred_shape):
    """Keras's `squeeze_or_expand_to_same_rank` for element-wise losses."""
    if y_true.ndim == len(y_pred_shape) - 1 and y_pred_shape[-1] == 1:
        return y_true.reshape(y_true.shape + (1,))
    if y_true.ndim == len(y_pred_shape) + 1 and y_true.shape[-1] == 1:
        return y_true.reshape(y_true.shape[:-1])
    return y_true


def check_label_smoothing(value):
    """`label_smoothing` as a float in [0, 1], or ValueError in Keras's form."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not 0.0 <= value <= 1.0:
        raise ValueError("Argument `label_smoothing` must be a float in [0, 1]. "
                         f"Received: label_smoothing={value!r}")
    return float(value)


class Loss:
    """Base class. Subclasses implement `call` and `_gradient` (and `_logits_gradient` where
    fused), which take targets checked by `_targets`; or `call` and `gradient` themselves.

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
        if reduction not in REDUCTIONS:
            raise ValueError(
                f"Invalid value for argument `reduction`. Expected one of {list(REDUCTIONS)}. "
                f"Received: reduction={reduction!r}"
            )
        self.name = name
        self.reduction = reduction

    # Public API --------------------------------------------------------------
    def __call__(self, y_true, y_pred, sample_weight=None):
        """The reduced loss of a batch, as a Python float."""
        y_pred = as_float(y_pred)
        return self._reduce(self.call(self._targets(y_true, y_pred.shape), y_pred), sample_weight)

    def call(self, y_true, y_pred):
        """Per-sample losses (shape `y_pred.shape[:-1]`), unreduced."""
        raise NotImplementedError

    def gradient(self, y_true, y_pred, sample_weight=None):
        """d(reduced loss) / d(y_pred), with y_pred's shape and float dtype."""
        y_pred = as_float(y_pred)
        return self._gradient(self._targets(y_true, y_pred.shape), y_pred, sample_weight)

    def logits_gradient(self, y_true, probs, sample_weight=None):
        """Fused d(loss)/d(logits) when `probs` is the activation of `logits`."""
        probs = as_float(probs, "probs")
        return self._logits_gradient(self._targets(y_true, probs.shape), probs, sample_weight)

    def value_and_gradient(self, y_true, y_pred, sample_weight=None, logits=False):
        """`(loss(...), gradient(...))` of one batch, checking the targets once.

        Args:
            logits: give `logits_gradient(...)` instead of `gradient(...)`.

        A subclass that overrides `gradient` or `logits_gradient` themselves (rather than
        `_gradient` / `_logits_gradient`, which take checked targets) gets the two calls.
        """
        own = type(self).logits_gradient if logits else type(self).gradient
        if own is not (Loss.logits_gradient if logits else Loss.gradient):
            return (self(y_true, y_pred, sample_weight),
                    own(self, y_true, y_pred, sample_weight=sample_weight))
        y_pred = as_float(y_pred)
        targets = self._targets(y_true, y_pred.shape)
        value = self._reduce(self.call(targets, y_pred), sample_weight)
        if logits:
            return value, self._logits_gradient(targets, y_pred, sample_weight)
        return value, self._gradient(targets, y_pred, sample_weight)

    def _gradient(self, y_true, y_pred, sample_weight):
        """`gradient` of checked targets (`_targets`' result) and a float `y_pred`."""
        raise NotImplementedError(f"{type(self).__name__} implements no gradient: implement "
                                  "`gradient` (or `_gradient`).")

    def _logits_gradient(self, y_true, probs, sample_weight):
        """`logits_gradient` of checked targets and float `probs`."""
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
        y_true = as_targets(y_true)
        check_batch(y_true, y_pred_shape)
        return y_true

    def _reduce(self, per_sample, sample_weight):
        """The (weighted) per-sample losses reduced to a Python float."""
        weights = self._weights(sample_weight, per_sample.shape)
        if weights is not None:
            per_sample = per_sample * weights
        total = float(per_sample.sum(dtype=np.float64))
        if self.reduction == "sum_over_batch_size":
            total /= max(per_sample.size, 1)
        return total

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
        count = math.prod(per_sample_shape) if self.reduction == "sum_over_batch_size" else 1
        factor = 1.0 / (max(count, 1) * inner)
        weights = self._weights(sample_weight, per_sample_shape)
        if weights is None:
            return dtype.type(factor)
        return (weights * factor).astype(dtype)[..., None]
