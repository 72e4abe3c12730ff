"""Confusion-count metrics (TruePositives ... FalseNegatives, Precision, Recall, AUC) against
counts and areas computed independently: loops over the samples, the Mann-Whitney statistic
for ROC AUC, numerical integration of the interpolated precision-recall curve."""

import numpy as np
import pytest

import fastconv as keras
from fastconv import metrics

rng = np.random.default_rng(11)
LABELS = rng.integers(0, 2, (60, 3))
SCORES = np.clip(LABELS * 0.3 + rng.uniform(0, 0.7, (60, 3)), 0, 1)
WEIGHTS = rng.uniform(0.5, 2.0, 60)


def loop_counts(labels, scores, weights, threshold):
    tp = fp = tn = fn = 0.0
    for row_labels, row_scores, w in zip(labels, scores, weights):
        for label, score in zip(np.atleast_1d(row_labels), np.atleast_1d(row_scores)):
            positive = score > threshold
            tp += w * (label and positive)
            fp += w * (not label and positive)
            tn += w * (not label and not positive)
            fn += w * (label and not positive)
    return tp, fp, tn, fn


@pytest.mark.parametrize("threshold", [None, 0.3, 0.72])
def test_counts_precision_and_recall_match_a_loop(threshold):
    tp, fp, tn, fn = loop_counts(LABELS, SCORES, WEIGHTS, 0.5 if threshold is None else threshold)
    expected = {metrics.TruePositives: tp, metrics.FalsePositives: fp,
                metrics.TrueNegatives: tn, metrics.FalseNegatives: fn,
                metrics.Precision: tp / (tp + fp), metrics.Recall: tp / (tp + fn)}
    for cls, value in expected.items():
        metric = cls(thresholds=threshold)
        metric.update_state(LABELS[:25], SCORES[:25], sample_weight=WEIGHTS[:25])  # two batches
        metric.update_state(LABELS[25:], SCORES[25:], sample_weight=WEIGHTS[25:])
        np.testing.assert_allclose(metric.result(), value, rtol=1e-12, err_msg=cls.__name__)
        metric.reset_state()
        assert metric.result() == 0.0  # no counts: 0, as Keras's divide_no_nan


def test_class_id_scores_one_column():
    tp, fp, _, fn = loop_counts(LABELS[:, 1], SCORES[:, 1], np.ones(60), 0.5)
    precision, recall = metrics.Precision(class_id=1), metrics.Recall(class_id=1)
    precision.update_state(LABELS, SCORES)
    recall.update_state(LABELS, SCORES)
    np.testing.assert_allclose([precision.result(), recall.result()], [tp / (tp + fp), tp / (tp + fn)])


def mann_whitney(labels, scores):
    positives, negatives = scores[labels == 1], scores[labels == 0]
    wins = (positives[:, None] > negatives[None, :]).sum() + 0.5 * (
        positives[:, None] == negatives[None, :]).sum()
    return wins / (len(positives) * len(negatives))


def test_roc_auc_equals_the_mann_whitney_statistic_on_the_threshold_grid():
    # scores on the thresholds' own grid k/199: the curve through every threshold is exact
    labels = rng.integers(0, 2, 500)
    scores = np.clip(rng.integers(0, 200, 500) + 40 * labels, 0, 199) / 199
    auc = metrics.AUC()
    auc.update_state(labels, scores)
    np.testing.assert_allclose(auc.result(), mann_whitney(labels, scores), rtol=1e-12)
    logits = metrics.AUC(from_logits=True)
    logits.update_state(labels, np.log(scores + 1e-3) - np.log1p(-scores + 1e-3))
    assert abs(logits.result() - auc.result()) < 0.02


def reference_pr_auc(tp, fp, fn):
    """Integrates precision d(recall) numerically along each segment between thresholds,
    with true positives linear in predicted positives (Davis & Goadrich)."""
    positives = tp[0] + fn[0]
    p = tp + fp
    area = 0.0
    for i in range(len(tp) - 1):
        if p[i] == p[i + 1]:
            continue
        slope = (tp[i] - tp[i + 1]) / (p[i] - p[i + 1])
        ps = np.linspace(p[i + 1], p[i], 20001)
        tps = tp[i + 1] + slope * (ps - p[i + 1])
        precision = np.where(ps > 0, tps / np.where(ps > 0, ps, 1), slope)
        integrand = precision * slope / positives
        area += np.sum((integrand[1:] + integrand[:-1]) / 2 * np.diff(ps))  # trapezoids
    return area


def test_pr_auc_interpolation_matches_numerical_integration():
    auc = metrics.AUC(curve="PR", num_thresholds=25)
    auc.update_state(LABELS, SCORES, sample_weight=WEIGHTS)
    tp, fp, tn, fn = (np.asarray(v) for v in auc.counts)
    np.testing.assert_allclose(auc.result(), reference_pr_auc(tp, fp, fn), rtol=1e-6)
    perfect = metrics.AUC(curve="PR")
    perfect.update_state([0, 1, 1, 0], [0.1, 0.9, 0.8, 0.2])
    np.testing.assert_allclose(perfect.result(), 1.0, rtol=1e-6)


def test_riemann_sums_bracket_the_trapezoids():
    values = []
    for method in ("minoring", "interpolation", "majoring"):
        auc = metrics.AUC(num_thresholds=7, summation_method=method)
        auc.update_state(LABELS, SCORES)
        values.append(auc.result())
    assert values[0] <= values[1] <= values[2] and values[0] < values[2]


def test_compile_accepts_them_and_errors_name_the_argument():
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1, activation="sigmoid")])
    model.compile("adam", "binary_crossentropy",
                  metrics=["auc", metrics.Precision(), metrics.Recall(), "false_negatives"])
    x = rng.standard_normal((32, 3)).astype("float32")
    y = (x[:, :1] > 0).astype("float32")
    result = model.evaluate(x, y, return_dict=True, verbose=0)
    pred = model.predict(x, verbose=0)
    assert set(result) == {"loss", "auc", "precision", "recall", "false_negatives"}
    assert result["false_negatives"] == np.sum((y == 1) & (pred <= 0.5))
    with pytest.raises(ValueError, match="top_k"):
        metrics.Precision(top_k=2)
    with pytest.raises(ValueError, match="curve"):
        metrics.AUC(curve="XY")
    with pytest.raises(ValueError, match="thresholds"):
        metrics.Recall(thresholds=[0.2, 0.5])
