"""Metrics built on confusion counts at thresholds, as Keras 3 computes them
(`keras/src/metrics/confusion_metrics.py`): `TruePositives` ... `FalseNegatives`,
`Precision`, `Recall`, `AUC`.

Predictions count as positive where `y_pred > threshold`; every entry of `y_true` /
`y_pred` is one binary decision (multi-label outputs are flattened), optionally restricted
to one column with `class_id`. Ratios with a zero denominator are 0, as Keras's
`divide_no_nan`.
"""

import numpy as np

from fastconv.metrics import Metric

__all__ = ["TruePositives", "FalsePositives", "TrueNegatives", "FalseNegatives",
           "Precision", "Recall", "AUC"]

_EPSILON = 1e-7


def _decisions(y_true, y_pred, sample_weight, class_id=None):
    """(labels as bools, scores, weights), flattened to one entry per decision."""
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred, dtype=np.float64)
    if y_true.ndim == y_pred.ndim - 1:
        y_true = y_true[..., None]
    if y_true.shape != y_pred.shape:
        raise ValueError("`y_true` and `y_pred` must have the same shape. "
                         f"Received: y_true.shape={y_true.shape}, y_pred.shape={y_pred.shape}")
    weights = np.ones(y_pred.shape) if sample_weight is None else np.asarray(
        sample_weight, np.float64)
    if weights.ndim == 1 and y_pred.ndim > 1:
        weights = weights.reshape((-1,) + (1,) * (y_pred.ndim - 1))
    weights = np.broadcast_to(weights, y_pred.shape)
    if class_id is not None:
        y_true, y_pred, weights = y_true[..., class_id], y_pred[..., class_id], weights[..., class_id]
    return y_true.ravel().astype(bool), y_pred.ravel(), weights.ravel()


def _counts(labels, scores, weights, thresholds):
    """Weighted (tp, fp, tn, fn), one entry per threshold."""
    predicted = scores[None, :] > thresholds[:, None]
    positive = weights * labels
    negative = weights * ~labels
    # each count summed directly (a difference of sums would leave rounding noise)
    return predicted @ positive, predicted @ negative, ~predicted @ negative, ~predicted @ positive


def _ratio(numerator, denominator):
    return np.divide(numerator, denominator, out=np.zeros_like(numerator, dtype=np.float64),
                     where=denominator != 0)


def _threshold(thresholds):
    if thresholds is None:
        return 0.5
    if np.ndim(thresholds) != 0:
        raise ValueError("fastconv's confusion metrics take one threshold (a float). "
                         f"Received: thresholds={thresholds!r}")
    return float(thresholds)


class _ConfusionCounts(Metric):
    """Streams tp, fp, tn, fn at one threshold."""

    _direction = "up"

    def __init__(self, thresholds=None, name=None, dtype=None, class_id=None):
        super().__init__(name=name, dtype=dtype)
        self.thresholds = _threshold(thresholds)
        self.class_id = class_id
        self.counts = {kind: self.add_variable((), "zeros", dtype="float64", name=kind)
                       for kind in ("true_positives", "false_positives", "true_negatives",
                                    "false_negatives")}

    def update_state(self, y_true, y_pred, sample_weight=None):
        counts = _counts(*_decisions(y_true, y_pred, sample_weight, self.class_id),
                         np.array([self.thresholds]))
        for variable, value in zip(self.counts.values(), counts):
            variable.assign_add(float(value[0]))

    def _count(self, kind):
        return float(np.asarray(self.counts[kind]))

    def get_config(self):
        return {**super().get_config(), "thresholds": self.thresholds}


class TruePositives(_ConfusionCounts):
    """The (weighted) number of positive entries predicted positive."""

    def __init__(self, thresholds=None, name="true_positives", dtype=None):
        super().__init__(thresholds, name=name, dtype=dtype)

    def result(self):
        return self._count("true_positives")


class FalsePositives(_ConfusionCounts):
    """The (weighted) number of negative entries predicted positive."""

    _direction = "down"

    def __init__(self, thresholds=None, name="false_positives", dtype=None):
        super().__init__(thresholds, name=name, dtype=dtype)

    def result(self):
        return self._count("false_positives")


class TrueNegatives(_ConfusionCounts):
    """The (weighted) number of negative entries predicted negative."""

    def __init__(self, thresholds=None, name="true_negatives", dtype=None):
        super().__init__(thresholds, name=name, dtype=dtype)

    def result(self):
        return self._count("true_negatives")


class FalseNegatives(_ConfusionCounts):
    """The (weighted) number of positive entries predicted negative."""

    _direction = "down"

    def __init__(self, thresholds=None, name="false_negatives", dtype=None):
        super().__init__(thresholds, name=name, dtype=dtype)

    def result(self):
        return self._count("false_negatives")


def _no_top_k(top_k):
    if top_k is not None:
        raise ValueError(f"`top_k` is not supported by fastconv. Received: top_k={top_k!r}")


class Precision(_ConfusionCounts):
    """`tp / (tp + fp)`: the fraction of positive predictions that are right.

    Args:
        thresholds: a float in [0, 1] (default 0.5); `y_pred > thresholds` is positive.
        class_id: score only this column of multi-class outputs.

    Example:
        >>> m = Precision()
        >>> m.update_state([0, 1, 1, 1], [1, 0, 1, 1])
        >>> round(m.result(), 4)
        0.6667
    """

    def __init__(self, thresholds=None, top_k=None, class_id=None, name="precision",
                 dtype=None):
        _no_top_k(top_k)
        super().__init__(thresholds, name=name, dtype=dtype, class_id=class_id)

    def result(self):
        return float(_ratio(self._count("true_positives"),
                            self._count("true_positives") + self._count("false_positives")))

    def get_config(self):
        return {**super().get_config(), "class_id": self.class_id}


class Recall(_ConfusionCounts):
    """`tp / (tp + fn)`: the fraction of positive entries predicted positive.

    Args:
        thresholds: a float in [0, 1] (default 0.5); `y_pred > thresholds` is positive.
        class_id: score only this column of multi-class outputs.

    Example:
        >>> m = Recall()
        >>> m.update_state([0, 1, 1, 1], [1, 0, 1, 1])
        >>> round(m.result(), 4)
        0.6667
    """

    def __init__(self, thresholds=None, top_k=None, class_id=None, name="recall", dtype=None):
        _no_top_k(top_k)
        super().__init__(thresholds, name=name, dtype=dtype, class_id=class_id)

    def result(self):
        return float(_ratio(self._count("true_positives"),
                            self._count("true_positives") + self._count("false_negatives")))

    def get_config(self):
        return {**super().get_config(), "class_id": self.class_id}


class AUC(Metric):
    """Area under the ROC or precision-recall curve, from confusion counts at
    `num_thresholds` thresholds evenly spaced in [0, 1] (plus one just below 0 and one just
    above 1), summed as Keras sums them.

    Args:
        num_thresholds: at least 2 (default 200).
        curve: "ROC" (true- vs false-positive rate) or "PR" (precision vs recall).
        summation_method: "interpolation" (trapezoids for ROC; for PR the interpolation of
            Davis & Goadrich, 2006), "minoring" or "majoring" (left/right Riemann sums
            below/above the curve).
        from_logits: apply a sigmoid to `y_pred` first.

    Example:
        >>> m = AUC()
        >>> m.update_state([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])
        >>> round(m.result(), 2)
        0.75
    """

    _direction = "up"

    def __init__(self, num_thresholds=200, curve="ROC", summation_method="interpolation",
                 name=None, dtype=None, thresholds=None, multi_label=False, num_labels=None,
                 label_weights=None, from_logits=False):
        super().__init__(name=name or "auc", dtype=dtype)
        if num_thresholds < 2:
            raise ValueError("`num_thresholds` must be at least 2. "
                             f"Received: num_thresholds={num_thresholds}")
        if str(curve).upper() not in ("ROC", "PR"):
            raise ValueError(f'`curve` must be "ROC" or "PR". Received: curve={curve!r}')
        if summation_method not in ("interpolation", "minoring", "majoring"):
            raise ValueError('`summation_method` must be "interpolation", "minoring" or '
                             f'"majoring". Received: summation_method={summation_method!r}')
        if thresholds is not None or multi_label or label_weights is not None:
            raise ValueError("fastconv's AUC supports evenly spaced thresholds on flattened "
                             "labels only (no `thresholds`, `multi_label` or `label_weights`).")
        self.num_thresholds = int(num_thresholds)
        self.curve = str(curve).upper()
        self.summation_method = summation_method
        self.from_logits = bool(from_logits)
        inner = [(i + 1) / (self.num_thresholds - 1) for i in range(self.num_thresholds - 2)]
        self.thresholds = np.array([0.0 - _EPSILON] + inner + [1.0 + _EPSILON])
        self.counts = [self.add_variable((self.num_thresholds,), "zeros", dtype="float64",
                                         name=kind)
                       for kind in ("true_positives", "false_positives", "true_negatives",
                                    "false_negatives")]

    def update_state(self, y_true, y_pred, sample_weight=None):
        labels, scores, weights = _decisions(y_true, y_pred, sample_weight)
        if self.from_logits:
            scores = 1.0 / (1.0 + np.exp(-scores))
        for variable, value in zip(self.counts, _counts(labels, scores, weights,
                                                        self.thresholds)):
            variable.assign_add(value)

    def result(self):
        tp, fp, tn, fn = (np.asarray(variable, np.float64) for variable in self.counts)
        if self.curve == "PR" and self.summation_method == "interpolation":
            return float(_interpolated_pr_auc(tp, fp, fn))
        if self.curve == "ROC":
            x, y = _ratio(fp, fp + tn), _ratio(tp, tp + fn)
        else:
            x, y = _ratio(tp, tp + fn), _ratio(tp, tp + fp)
        if self.summation_method == "interpolation":
            heights = (y[:-1] + y[1:]) / 2.0
        elif self.summation_method == "minoring":
            heights = np.minimum(y[:-1], y[1:])
        else:
            heights = np.maximum(y[:-1], y[1:])
        return float(np.sum((x[:-1] - x[1:]) * heights))

    def get_config(self):
        return {**super().get_config(), "num_thresholds": self.num_thresholds,
                "curve": self.curve, "summation_method": self.summation_method,
                "from_logits": self.from_logits}


def _interpolated_pr_auc(tp, fp, fn):
    """Area under the PR curve with precision interpolated between thresholds as Davis &
    Goadrich (2006): along a segment, true positives grow linearly with predicted
    positives `p`, so precision is `tp(p) / p` and the area has a closed form with a log."""
    p = tp + fp
    dtp = tp[:-1] - tp[1:]
    dp = p[:-1] - p[1:]
    slope = _ratio(dtp, np.maximum(dp, 0))
    intercept = tp[1:] - slope * p[1:]
    both_positive = (p[:-1] > 0) & (p[1:] > 0)
    p_ratio = np.where(both_positive, _ratio(p[:-1], np.maximum(p[1:], 0)), 1.0)
    increments = _ratio(slope * (dtp + intercept * np.log(p_ratio)), np.maximum(tp[1:] + fn[1:], 0))
    return np.sum(increments)
