"""Plain-function losses and `Loss` subclasses with only `call` (differentiated by the tape,
checked against float64 finite differences and against the built-in losses), losses under a
user's GradientTape, and custom metrics: plain functions and `Metric` subclasses with
`add_variable` / `add_weight` state."""

import numpy as np
import pytest

import fastconv as keras
from fastconv import layers, losses, metrics, optimizers
from fastconv.autodiff import GradientTape

rng = np.random.default_rng(2)


def squared_error(y_true, y_pred):
    return np.mean(np.square(y_true - y_pred), axis=-1)


class Huberish(losses.Loss):
    def __init__(self, delta=1.0, **kwargs):
        super().__init__(**kwargs)
        self.delta = delta

    def call(self, y_true, y_pred):
        error = np.abs(y_true - y_pred)
        quadratic = np.minimum(error, self.delta)
        return np.mean(0.5 * quadratic ** 2 + self.delta * (error - quadratic), axis=-1)


def numeric_gradient(loss, y_true, y_pred, sample_weight=None, eps=1e-6):
    grad = np.zeros(y_pred.shape)
    for index in np.ndindex(y_pred.shape):
        up, down = y_pred.copy(), y_pred.copy()
        up[index] += eps
        down[index] -= eps
        grad[index] = (loss(y_true, up, sample_weight) - loss(y_true, down, sample_weight)) / (
            2 * eps)
    return grad


@pytest.mark.parametrize("loss", [losses.get(squared_error), Huberish(0.7),
                                  Huberish(reduction="sum")], ids=["function", "subclass", "sum"])
def test_tape_losses_match_finite_differences(loss):
    y_true = rng.standard_normal((5, 3))
    y_pred = rng.standard_normal((5, 3))
    weights = rng.uniform(0.5, 2.0, 5)
    for sample_weight in (None, weights):
        np.testing.assert_allclose(loss.gradient(y_true, y_pred, sample_weight),
                                   numeric_gradient(loss, y_true, y_pred, sample_weight),
                                   rtol=1e-6, atol=1e-9)


def test_function_loss_equals_the_builtin_one():
    y_true, y_pred = rng.standard_normal((6, 4)), rng.standard_normal((6, 4))
    wrapped, builtin = losses.get(squared_error), losses.MeanSquaredError()
    assert isinstance(wrapped, losses.LossFunctionWrapper) and wrapped.name == "squared_error"
    weights = rng.uniform(size=6)
    np.testing.assert_allclose(wrapped(y_true, y_pred, weights), builtin(y_true, y_pred, weights),
                               rtol=1e-12)
    np.testing.assert_allclose(wrapped.gradient(y_true, y_pred, weights),
                               builtin.gradient(y_true, y_pred, weights), rtol=1e-12)


def test_fit_with_a_function_loss_matches_the_builtin_loss():
    x = rng.standard_normal((16, 3)).astype("float32")
    y = rng.standard_normal((16, 2)).astype("float32")
    models = []
    for loss in (squared_error, "mse"):
        model = keras.Sequential([keras.Input((3,)), layers.Dense(2, kernel_initializer="ones")])
        model.compile(optimizers.SGD(0.1), loss=loss)
        model.fit(x, y, epochs=2, batch_size=8, shuffle=False, verbose=0)
        models.append(model)
    for got, want in zip(models[0].get_weights(), models[1].get_weights()):
        np.testing.assert_allclose(got, want, rtol=1e-6)


def test_integer_targets_reach_call_as_floats():
    def hinge(y_true, y_pred):
        return np.mean(np.maximum(1.0 - (2.0 * y_true - 1.0) * y_pred, 0.0), axis=-1)

    loss = losses.get(hinge)
    value = loss(np.array([[1], [0]]), np.array([[0.5], [0.25]]))
    assert value == pytest.approx((0.5 + 1.25) / 2)


def test_builtin_loss_under_a_tape_uses_its_own_gradient():
    probs = rng.dirichlet(np.ones(3), size=4)
    labels = np.array([0, 2, 1, 1])
    loss = losses.SparseCategoricalCrossentropy()
    with GradientTape() as tape:
        traced = tape.watch(probs)
        value = loss(labels, traced)
    np.testing.assert_allclose(tape.gradient(value, traced), loss.gradient(labels, probs))
    assert float(value) == pytest.approx(loss(labels, probs))


class TruePositives(metrics.Metric):
    """Keras guide's custom metric: state in a Variable made with add_weight."""

    def __init__(self, name="true_positives", **kwargs):
        super().__init__(name=name, **kwargs)
        self.true_positives = self.add_weight(name="tp", initializer="zeros")

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_pred = np.argmax(y_pred, axis=-1)
        hits = ((np.ravel(y_true) == 1) & (y_pred == 1)).astype("float32")
        if sample_weight is not None:
            hits = hits * np.ravel(sample_weight)
        self.true_positives.assign_add(np.sum(hits))

    def result(self):
        return self.true_positives


def test_metric_subclass_with_variable_state():
    metric = TruePositives()
    assert [v.name for v in metric.variables] == ["tp"]
    metric.update_state([1, 1, 0], np.array([[0, 1], [1, 0], [0, 1]]))
    assert float(metric.result()) == 1.0
    metric.update_state([1], np.array([[0, 1]]), sample_weight=[3.0])
    assert float(metric.result()) == 4.0
    metric.reset_state()
    assert float(metric.result()) == 0.0

    class NoState(metrics.Metric):
        def update_state(self, y_true, y_pred, sample_weight=None):
            pass

    with pytest.raises(NotImplementedError, match="reset_state"):
        NoState().reset_state()


def test_custom_metrics_in_fit_and_evaluate():
    x = rng.standard_normal((32, 4)).astype("float32")
    y = (x[:, 0] > 0).astype(int)

    def mean_confidence(y_true, y_pred):
        return np.max(y_pred, axis=-1)

    model = keras.Sequential([keras.Input((4,)), layers.Dense(2, activation="softmax")])
    model.compile("adam", "sparse_categorical_crossentropy",
                  metrics=[TruePositives(), mean_confidence])
    history = model.fit(x, y, epochs=2, batch_size=8, verbose=0)
    assert {"true_positives", "mean_confidence"} <= set(history.history)
    logs = model.evaluate(x, y, batch_size=8, verbose=0, return_dict=True)
    predictions = model.predict(x)
    expected = np.sum((y == 1) & (np.argmax(predictions, -1) == 1))
    assert logs["true_positives"] == expected
    assert logs["mean_confidence"] == pytest.approx(float(np.mean(predictions.max(-1))), rel=1e-5)
