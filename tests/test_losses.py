"""Losses: values against float64 formulas, gradients by central differences in float64."""

import numpy as np
import pytest

from fastconv import losses

EPS = 1e-7
RNG = np.random.default_rng(0)


def _softmax(z):
    e = np.exp(z - z.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def _probs(n=5, c=4, seed=0):
    rng = np.random.default_rng(seed)
    return _softmax(rng.normal(size=(n, c)))


def numeric_gradient(f, x, h=1e-6):
    """Central differences of the scalar f at x (float64)."""
    x = x.astype(np.float64).copy()
    grad = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        keep = x[i]
        x[i] = keep + h
        up = f(x)
        x[i] = keep - h
        down = f(x)
        x[i] = keep
        grad[i] = (up - down) / (2 * h)
    return grad


# Values -----------------------------------------------------------------------
def test_sparse_values_match_formula():
    p = _probs()
    labels = np.array([0, 3, 1, 2, 3])
    expected = -np.mean(np.log(p[np.arange(5), labels]))
    assert losses.SparseCategoricalCrossentropy()(labels, p) == pytest.approx(expected, rel=1e-12)
    z = RNG.normal(size=(5, 4)) * 10
    logp = z - z.max(-1, keepdims=True)
    logp -= np.log(np.exp(logp).sum(-1, keepdims=True))
    expected = -np.mean(logp[np.arange(5), labels])
    assert losses.SparseCategoricalCrossentropy(from_logits=True)(labels, z) == pytest.approx(expected)


def test_sparse_accepts_n1_labels_and_any_dtype():
    p = _probs()
    labels = np.array([0, 3, 1, 2, 3])
    loss = losses.SparseCategoricalCrossentropy()
    reference = loss(labels, p)
    for variant in (labels.reshape(-1, 1), labels.astype(np.uint8), labels.astype(np.float32),
                    labels.astype(np.int16).reshape(-1, 1), list(labels)):
        assert loss(variant, p) == reference


def test_keras_docstring_examples():
    y_pred = np.array([[0.05, 0.95, 0.0], [0.1, 0.8, 0.1]])
    assert losses.SparseCategoricalCrossentropy()([1, 2], y_pred) == pytest.approx(1.1769392, rel=1e-6)
    assert losses.CategoricalCrossentropy()([[0, 1, 0], [0, 0, 1]], y_pred) == pytest.approx(1.1769392, rel=1e-6)
    bce = losses.BinaryCrossentropy()([[0, 1], [0, 0]], np.array([[0.6, 0.4], [0.4, 0.6]]))
    assert bce == pytest.approx(0.81492424, rel=1e-6)
    mse = losses.MeanSquaredError()([[0.0, 1.0], [0.0, 0.0]], np.array([[1.0, 1.0], [1.0, 0.0]]))
    assert mse == 0.5


def test_probabilities_are_renormalized_and_clipped():
    # Keras divides by the row sum, then clips to [eps, 1 - eps].
    p = np.array([[2.0, 2.0], [0.0, 1.0]])
    loss = losses.SparseCategoricalCrossentropy()
    expected = (-np.log(0.5) - np.log(EPS)) / 2
    assert loss([0, 0], p) == pytest.approx(expected)
    assert losses.BinaryCrossentropy()([[1.0]], np.array([[0.0]])) == pytest.approx(-np.log(EPS))


def test_categorical_label_smoothing_and_logits():
    t = np.eye(4)[[0, 3, 1, 2, 3]]
    z = RNG.normal(size=(5, 4))
    smoothed = t * 0.8 + 0.2 / 4
    expected = -np.mean(np.sum(smoothed * np.log(_softmax(z)), -1))
    got = losses.CategoricalCrossentropy(from_logits=True, label_smoothing=0.2)(t, z)
    assert got == pytest.approx(expected, rel=1e-12)


def test_binary_logits_are_stable_for_large_values():
    z = np.array([[1000.0], [-1000.0], [0.0]])
    t = np.array([[0.0], [1.0], [1.0]])
    got = losses.BinaryCrossentropy(from_logits=True)(t, z)
    assert got == pytest.approx((1000 + 1000 + np.log(2)) / 3)
    big = np.array([[800.0, -800.0]])
    assert losses.CategoricalCrossentropy(from_logits=True)([[0, 1]], big) == pytest.approx(1600)


def test_mse_and_sample_weight():
    y = RNG.normal(size=(6, 3))
    p = RNG.normal(size=(6, 3))
    w = RNG.uniform(size=6)
    per_sample = np.mean((y - p) ** 2, -1)
    assert losses.MeanSquaredError()(y, p) == pytest.approx(per_sample.mean())
    # Keras "sum_over_batch_size": weighted sum over the number of samples
    assert losses.MeanSquaredError()(y, p, sample_weight=w) == pytest.approx(np.sum(per_sample * w) / 6)
    assert losses.MeanSquaredError(reduction="sum")(y, p) == pytest.approx(per_sample.sum())
    assert losses.MeanSquaredError()(y[:, 0], p[:, :1]) == pytest.approx(np.mean((y[:, 0] - p[:, 0]) ** 2))


def test_returns_python_float():
    assert isinstance(losses.SparseCategoricalCrossentropy()([0], np.array([[0.5, 0.5]], np.float32)), float)


# Gradients --------------------------------------------------------------------
GRADIENT_CASES = [
    ("sparse probs", losses.SparseCategoricalCrossentropy(), lambda: np.array([0, 3, 1, 2, 3]),
     lambda: _probs() + 0.05),
    ("sparse logits", losses.SparseCategoricalCrossentropy(from_logits=True),
     lambda: np.array([[0], [3], [1], [2], [3]]), lambda: RNG.normal(size=(5, 4))),
    ("cce probs", losses.CategoricalCrossentropy(), lambda: np.eye(4)[[0, 3, 1, 2, 3]],
     lambda: _probs(seed=2)),
    ("cce smooth logits", losses.CategoricalCrossentropy(from_logits=True, label_smoothing=0.1),
     lambda: np.eye(4)[[0, 3, 1, 2, 3]], lambda: RNG.normal(size=(5, 4))),
    ("bce probs", losses.BinaryCrossentropy(), lambda: RNG.integers(0, 2, (5, 3)).astype(float),
     lambda: RNG.uniform(0.1, 0.9, (5, 3))),
    ("bce logits (n,) vs (n,1)", losses.BinaryCrossentropy(from_logits=True, label_smoothing=0.1),
     lambda: RNG.integers(0, 2, 5), lambda: RNG.normal(size=(5, 1))),
    ("mse", losses.MeanSquaredError(), lambda: RNG.normal(size=(5, 3)), lambda: RNG.normal(size=(5, 3))),
    ("mse sum", losses.MeanSquaredError(reduction="sum"), lambda: RNG.normal(size=(5, 3)),
     lambda: RNG.normal(size=(5, 3))),
]


@pytest.mark.parametrize("label, loss, make_true, make_pred", GRADIENT_CASES,
                         ids=[case[0] for case in GRADIENT_CASES])
@pytest.mark.parametrize("weighted", [False, True])
def test_gradient_matches_central_differences(label, loss, make_true, make_pred, weighted):
    y_true, y_pred = make_true(), make_pred()
    w = RNG.uniform(0.5, 2.0, size=5) if weighted else None
    analytic = loss.gradient(y_true, y_pred, sample_weight=w)
    assert analytic.shape == y_pred.shape and analytic.dtype == np.float64
    numeric = numeric_gradient(lambda x: loss(y_true, x, sample_weight=w), y_pred)
    np.testing.assert_allclose(analytic, numeric, rtol=1e-6, atol=1e-8)


def test_gradient_keeps_float32():
    p = _probs().astype(np.float32)
    g = losses.SparseCategoricalCrossentropy().gradient([0, 1, 2, 3, 0], p)
    assert g.dtype == np.float32
    g = losses.MeanSquaredError().gradient(np.zeros((5, 4)), p)
    assert g.dtype == np.float32


def test_gradient_is_zero_where_clipped():
    # q = 1 (above 1 - eps) at the true class: the clip is active, no gradient
    p = np.array([[1.0, 0.0, 0.0]])
    g = losses.CategoricalCrossentropy().gradient([[1.0, 0.0, 0.0]], p)
    np.testing.assert_array_equal(g, 0)
    g = losses.BinaryCrossentropy().gradient([[1.0], [0.0]], np.array([[1.0], [0.5]]))
    assert g[0, 0] == 0 and g[1, 0] != 0


@pytest.mark.parametrize("loss, targets", [
    (losses.SparseCategoricalCrossentropy(), np.array([0, 3, 1, 2, 3])),
    (losses.CategoricalCrossentropy(), np.eye(4)[[0, 3, 1, 2, 3]]),
    (losses.CategoricalCrossentropy(label_smoothing=0.2), np.eye(4)[[0, 3, 1, 2, 3]]),
])
def test_logits_gradient_is_the_chain_rule_through_softmax(loss, targets):
    z = RNG.normal(size=(5, 4))
    w = RNG.uniform(size=5)
    fused = loss.logits_gradient(targets, _softmax(z), sample_weight=w)
    numeric = numeric_gradient(lambda x: loss(targets, _softmax(x), sample_weight=w), z)
    np.testing.assert_allclose(fused, numeric, rtol=1e-6, atol=1e-8)
    # and equals (probs - onehot) / batch for hard labels
    if isinstance(loss, losses.SparseCategoricalCrossentropy):
        np.testing.assert_allclose(loss.logits_gradient(targets, _softmax(z)),
                                   (_softmax(z) - np.eye(4)[targets]) / 5)


def test_binary_logits_gradient_is_the_chain_rule_through_sigmoid():
    z = RNG.normal(size=(6, 2))
    t = RNG.integers(0, 2, (6, 2)).astype(float)
    loss = losses.BinaryCrossentropy()
    sigmoid = lambda x: 1 / (1 + np.exp(-x))  # noqa: E731
    fused = loss.logits_gradient(t, sigmoid(z))
    numeric = numeric_gradient(lambda x: loss(t, sigmoid(x)), z)
    np.testing.assert_allclose(fused, numeric, rtol=1e-6, atol=1e-8)


# Target checks ----------------------------------------------------------------
@pytest.mark.parametrize("loss, y_true, y_pred_shape, message", [
    (losses.SparseCategoricalCrossentropy(), [0, 10], (2, 10), r"Labels must be in \[0, 9\]"),
    (losses.SparseCategoricalCrossentropy(), [-1, 0], (2, 10), r"Labels must be in \[0, 9\]"),
    (losses.SparseCategoricalCrossentropy(), [0.5, 1.0], (2, 10), "non-integer"),
    (losses.SparseCategoricalCrossentropy(), np.eye(10)[:2], (2, 10), "looks one-hot"),
    (losses.SparseCategoricalCrossentropy(), [0, 1, 2], (2, 10), "same number of samples"),
    (losses.SparseCategoricalCrossentropy(), [np.nan, 1.0], (2, 10), "NaN or Inf"),
    (losses.SparseCategoricalCrossentropy(), np.zeros((2, 3)), (2, 10), "up until the last"),
    (losses.SparseCategoricalCrossentropy(), ["a", "b"], (2, 10), "must be numbers"),
    (losses.CategoricalCrossentropy(), [0, 1], (2, 10), "looks like integer class labels"),
    (losses.CategoricalCrossentropy(), [[0], [1]], (2, 10), "Use SparseCategoricalCrossentropy"),
    (losses.CategoricalCrossentropy(), np.eye(10)[:3], (2, 10), "same number of samples"),
    (losses.CategoricalCrossentropy(), np.full((2, 10), np.inf), (2, 10), "NaN or Inf"),
    (losses.CategoricalCrossentropy(), np.zeros((2, 5)), (2, 10), "same shape"),
    (losses.BinaryCrossentropy(), [[2.0], [0.0]], (2, 1), r"targets in \[0, 1\]"),
    (losses.BinaryCrossentropy(), [0, 1, 1], (2, 1), "same number of samples"),
    (losses.MeanSquaredError(), np.zeros((2, 3)), (2, 4), "same shape"),
])
def test_check_targets_errors(loss, y_true, y_pred_shape, message):
    with pytest.raises(ValueError, match=message):
        loss.check_targets(y_true, y_pred_shape)


def test_check_targets_accepts_valid_targets():
    losses.SparseCategoricalCrossentropy().check_targets(np.arange(10, dtype=np.uint8), (10, 10))
    losses.SparseCategoricalCrossentropy().check_targets(np.arange(10.0).reshape(10, 1), (10, 10))
    losses.CategoricalCrossentropy().check_targets(np.eye(10), (10, 10))
    losses.BinaryCrossentropy().check_targets([0, 1], (2, 1))
    losses.MeanSquaredError().check_targets([0.5, 1.5], (2, 1))


def test_loss_calls_check_targets():
    with pytest.raises(ValueError, match="Labels must be in"):
        losses.SparseCategoricalCrossentropy()([5], np.array([[0.5, 0.5]]))


# Names and get ----------------------------------------------------------------
def test_names_functions_and_get():
    assert losses.get("sparse_categorical_crossentropy").name == "sparse_categorical_crossentropy"
    assert isinstance(losses.get("categorical_crossentropy"), losses.CategoricalCrossentropy)
    assert isinstance(losses.get("binary_crossentropy"), losses.BinaryCrossentropy)
    assert isinstance(losses.get("mse"), losses.MeanSquaredError)
    assert isinstance(losses.get("MeanSquaredError"), losses.MeanSquaredError)
    assert isinstance(losses.get("mean_squared_error"), losses.MeanSquaredError)
    assert isinstance(losses.get(losses.sparse_categorical_crossentropy),
                      losses.SparseCategoricalCrossentropy)
    assert isinstance(losses.get(losses.mse), losses.MeanSquaredError)
    instance = losses.CategoricalCrossentropy(from_logits=True)
    assert losses.get(instance) is instance
    assert losses.get(None) is None
    clone = losses.get(losses.serialize(instance))
    assert clone.from_logits and clone.get_config() == instance.get_config()
    per_sample = losses.sparse_categorical_crossentropy([0, 1], np.array([[0.5, 0.5], [0.25, 0.75]]))
    np.testing.assert_allclose(per_sample, [-np.log(0.5), -np.log(0.75)])
    with pytest.raises(ValueError, match="Unknown loss: 'hinge'.*'mse'"):
        losses.get("hinge")
    assert isinstance(losses.get(lambda a, b: 0.0), losses.LossFunctionWrapper)
    with pytest.raises(ValueError, match="reduction"):
        losses.MeanSquaredError(reduction="none")


# ------------------------------------------------------------- value and gradient in one pass
ONE_PASS_CASES = [
    (losses.SparseCategoricalCrossentropy(), lambda: np.array([0, 3, 1, 2, 2]), False),
    (losses.SparseCategoricalCrossentropy(from_logits=True), lambda: np.array([0, 3, 1, 2, 2]),
     False),
    (losses.SparseCategoricalCrossentropy(), lambda: np.array([0, 3, 1, 2, 2]), True),
    (losses.CategoricalCrossentropy(label_smoothing=0.1), lambda: np.eye(4)[[1, 0, 3, 3, 2]],
     False),
    (losses.CategoricalCrossentropy(), lambda: np.eye(4)[[1, 0, 3, 3, 2]], True),
    (losses.BinaryCrossentropy(), lambda: (np.arange(20).reshape(5, 4) % 3 == 0) * 1.0, False),
    (losses.BinaryCrossentropy(), lambda: (np.arange(20).reshape(5, 4) % 3 == 0) * 1.0, True),
    (losses.MeanSquaredError(), lambda: np.linspace(0, 1, 20).reshape(5, 4), False),
]


@pytest.mark.parametrize("loss, targets, logits", ONE_PASS_CASES)
@pytest.mark.parametrize("weighted", [False, True])
def test_value_and_gradient_equals_the_two_calls_and_checks_targets_once(
        loss, targets, logits, weighted, monkeypatch):
    y_true, probs = targets(), _probs()
    weights = np.array([1.0, 0.5, 2.0, 0.0, 1.0]) if weighted else None
    want_grad = (loss.logits_gradient if logits else loss.gradient)(y_true, probs, weights)
    want = (loss(y_true, probs, sample_weight=weights), want_grad)
    checks = []
    original = type(loss)._targets
    monkeypatch.setattr(type(loss), "_targets",
                        lambda self, *args: checks.append(1) or original(self, *args))
    value, grad = loss.value_and_gradient(y_true, probs, weights, logits=logits)
    assert len(checks) == 1
    assert value == want[0]
    np.testing.assert_array_equal(grad, want[1])


def test_value_and_gradient_of_a_loss_overriding_gradient_itself():
    class Halved(losses.MeanSquaredError):
        def gradient(self, y_true, y_pred, sample_weight=None):
            return super().gradient(y_true, y_pred, sample_weight) / 2

    y_true, y_pred = np.zeros((3, 2)), np.ones((3, 2))
    value, grad = Halved().value_and_gradient(y_true, y_pred)
    assert value == 1.0
    np.testing.assert_array_equal(grad, losses.MeanSquaredError().gradient(y_true, y_pred) / 2)


def test_value_and_gradient_refuses_bad_targets_once_with_the_message():
    with pytest.raises(ValueError, match=r"Labels must be in \[0, 3\]"):
        losses.SparseCategoricalCrossentropy().value_and_gradient(np.array([0, 4, 1, 2, 2]),
                                                                  _probs())


def test_fit_checks_array_labels_once_up_front_and_generator_labels_per_batch(monkeypatch):
    # fit checks all the labels of arrays once up front (a batch's are then only converted);
    # a generator's batch by batch, once for its value and gradient together
    import fastconv as keras

    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2, activation="softmax")])
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy", loss_weights=0.5)
    checks = []
    cls = losses.SparseCategoricalCrossentropy
    original = cls._targets
    monkeypatch.setattr(cls, "_targets", lambda self, *a: checks.append(1) or original(self, *a))
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((8, 3)), rng.integers(0, 2, 8)
    model.fit(x, y, batch_size=2, verbose=0)
    assert len(checks) == 1
    checks.clear()
    model.fit((batch for batch in [(x[:4], y[:4]), (x[4:], y[4:])]), verbose=0)
    assert len(checks) == 1 + 2  # the first batch before the loop, then each batch


def test_compiled_loss_scales_value_and_gradient_by_the_loss_weight():
    from fastconv.trainers.compile_utils import CompiledLoss

    loss = losses.CategoricalCrossentropy()
    y_true, probs = np.eye(4)[[1, 0, 3, 3, 2]], _probs()
    value, _, grad = CompiledLoss(loss, 0.5).values_and_gradient(y_true, probs, None, True)
    assert value == 0.5 * loss(y_true, probs)
    np.testing.assert_array_equal(grad, loss.logits_gradient(y_true, probs) * np.float64(0.5))
