"""The regression and divergence losses (MAE, MAPE, MSLE, Huber, log-cosh, cosine similarity,
KL divergence): values against per-sample float64 formulas written out element by element,
gradients against central finite differences, names and strings as Keras resolves them, and
training through `compile`."""

import math

import numpy as np
import pytest

import fastconv as keras
from fastconv import losses

rng = np.random.default_rng(3)
Y_TRUE = rng.uniform(0.1, 1.0, (4, 3))
Y_PRED = rng.uniform(0.1, 1.5, (4, 3))
Y_PRED[0, 0] = Y_TRUE[0, 0] + 2.5  # a large error: Huber's linear branch


def per_row(fn):
    """The batch loss: mean over rows of fn(row_true, row_pred), element by element."""
    return np.mean([fn(t, p) for t, p in zip(Y_TRUE.tolist(), Y_PRED.tolist())])


def huber_row(t, p, delta=1.0):
    terms = [0.5 * (b - a) ** 2 if abs(b - a) <= delta else delta * abs(b - a) - 0.5 * delta ** 2
             for a, b in zip(t, p)]
    return sum(terms) / len(terms)


REFERENCES = {
    losses.MeanAbsoluteError: lambda t, p: sum(abs(a - b) for a, b in zip(t, p)) / len(t),
    losses.MeanAbsolutePercentageError:
        lambda t, p: 100 * sum(abs(a - b) / abs(a) for a, b in zip(t, p)) / len(t),
    losses.MeanSquaredLogarithmicError:
        lambda t, p: sum((math.log(1 + b) - math.log(1 + a)) ** 2 for a, b in zip(t, p)) / len(t),
    losses.Huber: huber_row,
    losses.LogCosh: lambda t, p: sum(math.log(math.cosh(b - a)) for a, b in zip(t, p)) / len(t),
    losses.CosineSimilarity: lambda t, p: -sum(a * b for a, b in zip(t, p)) / (
        math.sqrt(sum(a * a for a in t)) * math.sqrt(sum(b * b for b in p))),
    losses.KLDivergence: lambda t, p: sum(a * math.log(a / b) for a, b in zip(t, p)),
}


@pytest.mark.parametrize("cls", list(REFERENCES), ids=lambda c: c.__name__)
def test_value_matches_the_formula(cls):
    y_true, y_pred = Y_TRUE, Y_PRED
    if cls is losses.KLDivergence:  # distributions over the last axis
        y_true, y_pred = Y_TRUE / Y_TRUE.sum(1, keepdims=True), Y_PRED / Y_PRED.sum(1, keepdims=True)
        expected = np.mean([REFERENCES[cls](t, p) for t, p in zip(y_true.tolist(), y_pred.tolist())])
    else:
        expected = per_row(REFERENCES[cls])
    np.testing.assert_allclose(cls()(y_true, y_pred), expected, rtol=1e-12)


@pytest.mark.parametrize("cls", list(REFERENCES), ids=lambda c: c.__name__)
def test_gradient_matches_finite_differences(cls):
    loss, eps = cls(), 1e-6
    weights = rng.uniform(0.5, 2.0, 4)
    grad = loss.gradient(Y_TRUE, Y_PRED, sample_weight=weights)
    expected = np.zeros_like(Y_PRED)
    for index in np.ndindex(Y_PRED.shape):
        up, down = Y_PRED.copy(), Y_PRED.copy()
        up[index] += eps
        down[index] -= eps
        expected[index] = (loss(Y_TRUE, up, weights) - loss(Y_TRUE, down, weights)) / (2 * eps)
    np.testing.assert_allclose(grad, expected, rtol=1e-6, atol=1e-9)


def test_names_strings_and_functions_resolve_as_in_keras():
    assert losses.get("kld").name == "kl_divergence"
    assert isinstance(losses.get("mae"), losses.MeanAbsoluteError)
    assert isinstance(losses.get("KLDivergence"), losses.KLDivergence)
    assert isinstance(losses.get(losses.log_cosh), losses.LogCosh)
    assert losses.Huber(delta=2.0).get_config()["delta"] == 2.0
    assert losses.get({"class_name": "CosineSimilarity", "config": {"axis": 0}}).axis == 0
    np.testing.assert_allclose(losses.mae(Y_TRUE, Y_PRED), np.mean(np.abs(Y_TRUE - Y_PRED), -1))
    with pytest.raises(ValueError, match="delta"):
        losses.Huber(delta=0.0)


def test_a_model_trains_on_a_divergence_loss():
    model = keras.Sequential([keras.Input((5,)), keras.layers.Dense(3, activation="softmax")])
    model.compile(optimizer=keras.optimizers.Adam(0.05), loss="kld")
    x = rng.standard_normal((64, 5)).astype("float32")
    target = np.eye(3)[(x[:, 0] > 0).astype(int) + (x[:, 1] > 0)].astype("float32")
    history = model.fit(x, target, epochs=5, batch_size=16, verbose=0)
    assert history.history["loss"][-1] < 0.7 * history.history["loss"][0]
