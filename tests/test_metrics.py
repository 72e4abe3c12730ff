"""Streaming metrics and Keras's resolution of "accuracy"."""

import numpy as np
import pytest

from fastconv import losses, metrics


def test_mean_is_sample_weighted_and_resets():
    m = metrics.Mean(name="loss")
    m.update_state([1.0, 2.0, 3.0])
    m.update_state([10.0], sample_weight=[3.0])
    assert m.result() == pytest.approx((1 + 2 + 3 + 30) / 6)
    m.update_state(np.ones((2, 3)), sample_weight=np.array([[1.0], [1.0]]))
    assert m.count == 8
    m.reset_state()
    assert m.result() == 0.0 and m.name == "loss"
    with pytest.raises(ValueError, match="sample_weight"):
        m.update_state([1.0, 2.0], sample_weight=[1.0, 2.0, 3.0])


def test_sparse_categorical_accuracy():
    m = metrics.SparseCategoricalAccuracy()
    y_pred = np.array([[0.1, 0.9, 0.0], [0.8, 0.1, 0.1], [0.2, 0.3, 0.5], [0.4, 0.5, 0.1]])
    m.update_state(np.array([1, 0, 1, 1]), y_pred)
    assert m.result() == 0.75
    m.update_state(np.array([[2], [2]], dtype=np.uint8), y_pred[:2])  # (n, 1) labels
    assert m.result() == pytest.approx(3 / 6)
    m.reset_state()
    m.update_state([1.0, 0.0], y_pred[:2], sample_weight=[1.0, 0.0])
    assert m.result() == 1.0
    assert isinstance(m.result(), float)


def test_categorical_binary_and_exact_accuracy():
    m = metrics.CategoricalAccuracy()
    m.update_state(np.eye(3)[[0, 1, 2]], np.array([[0.9, 0.1, 0], [0.9, 0.1, 0], [0, 0.1, 0.9]]))
    assert m.result() == pytest.approx(2 / 3)
    b = metrics.BinaryAccuracy()
    b.update_state([1, 1, 0, 0], np.array([[0.98], [1.0], [0.0], [0.6]]))  # (n,) vs (n, 1)
    assert b.result() == 0.75
    b = metrics.BinaryAccuracy(threshold=0.7)
    b.update_state([[1], [1], [0], [0]], [[0.98], [0.6], [0.0], [0.6]])
    assert b.result() == 0.75
    a = metrics.Accuracy()
    a.update_state([[1], [2], [3], [4]], [[0], [2], [3], [4]])
    assert a.result() == 0.75


def test_call_updates_and_returns_result():
    m = metrics.SparseCategoricalAccuracy()
    assert m([0], [[0.9, 0.1]]) == 1.0
    assert m([0], [[0.1, 0.9]]) == 0.5


@pytest.mark.parametrize("loss, expected", [
    ("sparse_categorical_crossentropy", metrics.SparseCategoricalAccuracy),
    (losses.SparseCategoricalCrossentropy(from_logits=True), metrics.SparseCategoricalAccuracy),
    ("categorical_crossentropy", metrics.CategoricalAccuracy),
    (losses.CategoricalCrossentropy(), metrics.CategoricalAccuracy),
    ("binary_crossentropy", metrics.BinaryAccuracy),
    (losses.BinaryCrossentropy(), metrics.BinaryAccuracy),
])
def test_accuracy_resolved_by_loss_keeps_name(loss, expected):
    for identifier in ("accuracy", "acc", "Accuracy"):
        metric = metrics.get(identifier, loss=loss)
        assert type(metric) is expected
        assert metric.name == identifier


@pytest.mark.parametrize("y_true_shape, y_pred_shape, expected", [
    ((8,), (8, 10), metrics.SparseCategoricalAccuracy),
    ((8, 1), (8, 10), metrics.SparseCategoricalAccuracy),
    ((8, 10), (8, 10), metrics.CategoricalAccuracy),
    ((8, 1), (8, 1), metrics.BinaryAccuracy),
    ((8,), (8, 1), metrics.BinaryAccuracy),
])
def test_accuracy_resolved_by_shapes_as_keras3(y_true_shape, y_pred_shape, expected):
    assert type(metrics.get("accuracy", loss="mse", y_true=y_true_shape, y_pred=y_pred_shape)) is expected
    auto = metrics.get("accuracy")
    auto.update_state(np.zeros(y_true_shape), np.full(y_pred_shape, 0.1))
    assert type(auto.resolved) is expected and auto.name == "accuracy"


def test_lazy_accuracy_result_and_reset():
    auto = metrics.get("acc")
    assert auto.result() == 0.0
    auto.update_state([1, 0], [[0.2, 0.8], [0.3, 0.7]])
    assert auto.result() == 0.5
    auto.reset_state()
    assert auto.result() == 0.0
    assert auto._direction == "up"


def test_get_other_identifiers():
    assert type(metrics.get("sparse_categorical_accuracy")) is metrics.SparseCategoricalAccuracy
    assert metrics.get("sparse_categorical_accuracy").name == "sparse_categorical_accuracy"
    assert type(metrics.get("categorical_accuracy")) is metrics.CategoricalAccuracy
    assert type(metrics.get("binary_accuracy")) is metrics.BinaryAccuracy
    assert metrics.get("mae").name == "mae"
    assert type(metrics.get(metrics.sparse_categorical_accuracy)) is metrics.SparseCategoricalAccuracy
    m = metrics.BinaryAccuracy()
    assert metrics.get(m) is m
    assert type(metrics.get(metrics.CategoricalAccuracy)) is metrics.CategoricalAccuracy
    custom = metrics.get(lambda y, p: np.abs(np.asarray(y) - np.asarray(p)))
    custom.update_state([1.0, 2.0], [2.0, 2.0])
    assert custom.result() == 0.5
    with pytest.raises(ValueError, match="Unknown metric: 'f1'.*'accuracy'"):
        metrics.get("f1")


def test_mse_mae_metrics():
    m = metrics.MeanSquaredError()
    m.update_state([[0.0, 1.0]], [[1.0, 1.0]])
    assert m.result() == 0.5
    a = metrics.MeanAbsoluteError()
    a.update_state([1.0, 2.0], [[2.0], [2.0]])
    assert a.result() == 0.5
