"""Regression and distribution-matching losses as Keras 3 defines them: mean absolute
(percentage) error, mean squared logarithmic error, Huber, log-cosh, cosine similarity and
Kullback-Leibler divergence.

Each is its per-sample formula in `call` alone, written with NumPy operations the gradient
tape follows, so its gradient is the formula's (no hand-written `gradient`): these losses
are rarer than the crossentropies and MSE, whose fused gradients stay hand-written.
"""

import numpy as np

from fastconv.losses.elementwise import _Elementwise
from fastconv.losses.loss import EPSILON

__all__ = [
    "MeanAbsoluteError", "MeanAbsolutePercentageError", "MeanSquaredLogarithmicError", "Huber",
    "LogCosh", "CosineSimilarity", "KLDivergence", "mean_absolute_error",
    "mean_absolute_percentage_error", "mean_squared_logarithmic_error", "huber", "log_cosh",
    "cosine_similarity", "kl_divergence",
]


def _last_axis_mean(values):
    return np.mean(values, axis=-1) if np.ndim(values) >= 2 else values


def mean_absolute_error(y_true, y_pred):
    """Per-sample `mean(|y_true - y_pred|)` over the last axis."""
    return _last_axis_mean(np.abs(y_true - y_pred))


def mean_absolute_percentage_error(y_true, y_pred):
    """Per-sample `100 * mean(|y_true - y_pred| / max(|y_true|, 1e-7))` over the last axis."""
    return 100.0 * _last_axis_mean(np.abs(y_true - y_pred) / np.maximum(np.abs(y_true), EPSILON))


def mean_squared_logarithmic_error(y_true, y_pred):
    """Per-sample `mean((log(1 + max(y_pred, eps)) - log(1 + max(y_true, eps)))**2)`."""
    return _last_axis_mean(np.square(np.log1p(np.maximum(y_pred, EPSILON))
                                     - np.log1p(np.maximum(y_true, EPSILON))))


def huber(y_true, y_pred, delta=1.0):
    """Per-sample mean of `0.5 * e**2` where `|e| <= delta`, else `delta * |e| - 0.5 * delta**2`
    (`e = y_pred - y_true`)."""
    error = y_pred - y_true
    size = np.abs(error)
    quadratic = 0.5 * np.square(error)
    linear = delta * size - 0.5 * delta * delta
    return _last_axis_mean(np.where(size <= delta, quadratic, linear))


def log_cosh(y_true, y_pred):
    """Per-sample mean of `log(cosh(y_pred - y_true))`, in the overflow-free form
    `e + log1p(exp(-2e)) - log(2)` for `e = |y_pred - y_true|`."""
    error = np.abs(y_pred - y_true)
    return _last_axis_mean(error + np.log1p(np.exp(-2.0 * error)) - np.log(2.0))


def cosine_similarity(y_true, y_pred, axis=-1):
    """Per-sample `-sum(l2_normalize(y_true) * l2_normalize(y_pred))` along `axis`
    (-1 for parallel vectors, 1 for opposite ones)."""
    def unit(x):
        return x / np.maximum(np.sqrt(np.sum(np.square(x), axis=axis, keepdims=True)), EPSILON)
    return -np.sum(unit(y_true) * unit(y_pred), axis=axis)


def kl_divergence(y_true, y_pred):
    """Per-sample `sum(y_true * log(y_true / y_pred))` over the last axis, both clipped to
    [1e-7, 1]."""
    y_true = np.clip(y_true, EPSILON, 1.0)
    y_pred = np.clip(y_pred, EPSILON, 1.0)
    return np.sum(y_true * np.log(y_true / y_pred), axis=-1)


class _FormulaLoss(_Elementwise):
    """A loss whose per-sample value is `self._formula(y_true, y_pred)` (tape gradient)."""

    _formula = None

    def call(self, y_true, y_pred):
        return type(self)._formula(y_true, y_pred)


class MeanAbsoluteError(_FormulaLoss):
    """Mean of `|y_true - y_pred|` over the last axis, then over the batch.

    Example:
        >>> MeanAbsoluteError()([[0.0, 1.0]], [[1.0, 3.0]])
        1.5
    """

    _formula = mean_absolute_error

    def __init__(self, name="mean_absolute_error", reduction="sum_over_batch_size", dtype=None):
        super().__init__(name=name, reduction=reduction)


class MeanAbsolutePercentageError(_FormulaLoss):
    """Mean of `100 * |y_true - y_pred| / max(|y_true|, 1e-7)`.

    Example:
        >>> MeanAbsolutePercentageError()([[2.0, 4.0]], [[1.0, 5.0]])
        37.5
    """

    _formula = mean_absolute_percentage_error

    def __init__(self, name="mean_absolute_percentage_error", reduction="sum_over_batch_size",
                 dtype=None):
        super().__init__(name=name, reduction=reduction)


class MeanSquaredLogarithmicError(_FormulaLoss):
    """Mean of `(log(1 + y_pred) - log(1 + y_true))**2` (negative values clipped to 1e-7)."""

    _formula = mean_squared_logarithmic_error

    def __init__(self, name="mean_squared_logarithmic_error", reduction="sum_over_batch_size",
                 dtype=None):
        super().__init__(name=name, reduction=reduction)


class LogCosh(_FormulaLoss):
    """Mean of `log(cosh(y_pred - y_true))`: quadratic for small errors, linear for large."""

    _formula = log_cosh

    def __init__(self, name="log_cosh", reduction="sum_over_batch_size", dtype=None):
        super().__init__(name=name, reduction=reduction)


class KLDivergence(_FormulaLoss):
    """Kullback-Leibler divergence `sum(y_true * log(y_true / y_pred))` of two distributions
    along the last axis (both clipped to [1e-7, 1]).

    Example:
        >>> round(KLDivergence()([[0.5, 0.5]], [[0.25, 0.75]]), 6)
        0.143841
    """

    _formula = kl_divergence

    def __init__(self, name="kl_divergence", reduction="sum_over_batch_size", dtype=None):
        super().__init__(name=name, reduction=reduction)


class Huber(_Elementwise):
    """Huber loss: squared error below `delta`, absolute error above it.

    Args:
        delta: where the loss turns from quadratic to linear (> 0).
    """

    def __init__(self, delta=1.0, name="huber_loss", reduction="sum_over_batch_size",
                 dtype=None):
        super().__init__(name=name, reduction=reduction)
        if not delta > 0:
            raise ValueError(f"`delta` must be positive. Received: delta={delta!r}")
        self.delta = float(delta)

    def call(self, y_true, y_pred):
        return huber(y_true, y_pred, self.delta)

    def get_config(self):
        return {**super().get_config(), "delta": self.delta}


class CosineSimilarity(_Elementwise):
    """Negative cosine similarity of `y_true` and `y_pred` along `axis`, averaged over the
    batch: minimizing it aligns the vectors.

    Example:
        >>> CosineSimilarity()([[0.0, 2.0]], [[0.0, 5.0]])
        -1.0
    """

    def __init__(self, axis=-1, name="cosine_similarity", reduction="sum_over_batch_size",
                 dtype=None):
        super().__init__(name=name, reduction=reduction)
        self.axis = int(axis)

    def call(self, y_true, y_pred):
        return cosine_similarity(y_true, y_pred, self.axis)

    def get_config(self):
        return {**super().get_config(), "axis": self.axis}
