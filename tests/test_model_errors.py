"""Hostile and mistaken inputs at the model level.

Each of the 51 cases in `CASES` must raise a clear error (the type, and a message that names
what is wrong) and leave the model usable: the weights, optimizer, loss and compiled state are
unchanged by the failed call, and the model then trains and evaluates on good data. Cases
already covered by tests/test_model_training.py::test_data_and_compile_errors (fit before
compile, fit x/y mismatch, fit on empty data, batch_size=0, predict/fit on a wrong input shape,
out-of-range labels and one-hot labels in fit, validation_split too large, unknown loss) are
not repeated here. Beyond the table:

* NaN/Inf inputs: training runs but the loss says so (NaN in `History`, NaN from
  `evaluate`), and `TerminateOnNaN` stops at the first bad batch (2 tests);
* a compile that fails (unknown optimizer, loss or metric) leaves the previous compile in
  place, optimizer state included (1 test, 3 names);
* `set_weights` with one bad array at the end changes no layer (1 test).
"""

import numpy as np
import pytest

import fastconv
from fastconv import backend, callbacks, layers
from fastconv.models import Sequential

N = 12
RNG = np.random.default_rng(0)
X = RNG.normal(size=(N, 6, 6, 1)).astype(np.float32)
Y = RNG.integers(0, 3, size=N)


@pytest.fixture(autouse=True)
def _seeded_one_thread():
    backend.clear_session()
    backend.set_seed(0)
    before = fastconv.get_num_threads()
    fastconv.set_num_threads(1)
    yield
    fastconv.set_num_threads(before)


def make_model(loss="sparse_categorical_crossentropy", units=3, activation="softmax",
               compile=True):
    model = Sequential([
        layers.Input(shape=(6, 6, 1)),
        layers.Conv2D(2, 3, activation="relu"),
        layers.Flatten(),
        layers.Dense(units, activation=activation),
    ])
    if compile:
        model.compile(optimizer="adam", loss=loss, metrics=["accuracy"])
    return model


def _with_nan(value, where=(3, 2, 2, 0)):
    x = X.copy()
    x[where] = value
    return x


# (case id, model factory kwargs, call(model), exception type, message regex)
CASES = [
    # -- input shape different from the built model's
    ("evaluate-wrong-channels", {}, lambda m: m.evaluate(np.zeros((N, 6, 6, 3)), Y, verbose=0),
     ValueError, r"expected shape=\(None, 6, 6, 1\), found shape=\(12, 6, 6, 3\)"),
    ("train_on_batch-wrong-height", {}, lambda m: m.train_on_batch(np.zeros((N, 5, 6, 1)), Y),
     ValueError, r"expected shape=\(None, 6, 6, 1\), found shape=\(12, 5, 6, 1\)"),
    ("call-wrong-ndim", {}, lambda m: m(np.zeros((N, 36))),
     ValueError, r"expected shape=\(None, 6, 6, 1\), found shape=\(12, 36\)"),
    ("validation-data-wrong-shape", {},
     lambda m: m.fit(X, Y, validation_data=(X[..., :0], Y), verbose=0),
     ValueError, r"found shape=\(12, 6, 6, 0\)"),
    # -- labels out of range for the loss
    ("negative-label", {}, lambda m: m.fit(X, Y - 1, verbose=0),
     ValueError, r"Labels must be in \[0, 2\] for 3 classes.*from -1"),
    ("non-integer-label", {}, lambda m: m.fit(X, Y + 0.5, verbose=0),
     ValueError, "integer class labels.*non-integer values"),
    ("label-out-of-range-in-evaluate", {}, lambda m: m.evaluate(X, Y + 3, verbose=0),
     ValueError, r"Labels must be in \[0, 2\].*to 5"),
    ("label-out-of-range-in-validation-data", {},
     lambda m: m.fit(X, Y, validation_data=(X, Y + 3), verbose=0),
     ValueError, r"Labels must be in \[0, 2\]"),
    ("binary-target-outside-0-1", dict(loss="binary_crossentropy", units=1,
                                       activation="sigmoid"),
     lambda m: m.fit(X, Y, verbose=0), ValueError, r"targets in \[0, 1\].*from 0 to 2"),
    # -- one-hot labels to a sparse loss and the reverse
    ("integer-labels-to-categorical", dict(loss="categorical_crossentropy"),
     lambda m: m.fit(X, Y, verbose=0),
     ValueError, "looks like integer class labels.*SparseCategoricalCrossentropy"),
    ("one-hot-with-too-many-classes", dict(loss="categorical_crossentropy"),
     lambda m: m.fit(X, np.eye(4)[Y], verbose=0),
     ValueError, r"same shape.*y_true.shape=\(12, 4\), y_pred.shape=\(12, 3\)"),
    ("one-hot-to-sparse-in-evaluate", {}, lambda m: m.evaluate(X, np.eye(3)[Y], verbose=0),
     ValueError, "one-hot encoded.*CategoricalCrossentropy"),
    ("one-hot-to-sparse-in-train_on_batch", {}, lambda m: m.train_on_batch(X, np.eye(3)[Y]),
     ValueError, "one-hot encoded"),
    # -- x / y / sample_weight length mismatch
    ("evaluate-length-mismatch", {}, lambda m: m.evaluate(X, Y[:5], verbose=0),
     ValueError, r"(?s)cardinality.*'x' sizes: 12.*'y' sizes: 5"),
    ("sample-weight-length-mismatch", {},
     lambda m: m.fit(X, Y, sample_weight=np.ones(3), verbose=0),
     ValueError, r"(?s)cardinality.*'sample_weight' sizes: 3"),
    ("validation-data-length-mismatch", {},
     lambda m: m.fit(X, Y, validation_data=(X, Y[:4]), verbose=0),
     ValueError, r"(?s)cardinality.*'y' sizes: 4"),
    ("train_on_batch-length-mismatch", {}, lambda m: m.train_on_batch(X[:4], Y),
     ValueError, r"(?s)cardinality.*'x' sizes: 4.*'y' sizes: 12"),
    # -- empty datasets
    ("predict-empty", {}, lambda m: m.predict(X[:0]), ValueError, r"non-empty.*\(0, 6, 6, 1\)"),
    ("evaluate-empty", {}, lambda m: m.evaluate(X[:0], Y[:0], verbose=0), ValueError,
     "non-empty"),
    ("validation-data-empty", {}, lambda m: m.fit(X, Y, validation_data=(X[:0], Y[:0]),
                                                  verbose=0), ValueError, "non-empty"),
    ("empty-y-only", {}, lambda m: m.fit(X, Y[:0], verbose=0),
     ValueError, r"(?s)cardinality.*'y' sizes: 0"),
    # -- batch sizes and other counts
    ("fit-batch-size-negative", {}, lambda m: m.fit(X, Y, batch_size=-1, verbose=0),
     ValueError, "batch_size=-1"),
    ("predict-batch-size-zero", {}, lambda m: m.predict(X, batch_size=0), ValueError,
     "batch_size=0"),
    ("evaluate-batch-size-negative", {}, lambda m: m.evaluate(X, Y, batch_size=-3, verbose=0),
     ValueError, "batch_size=-3"),
    ("batch-size-float", {}, lambda m: m.fit(X, Y, batch_size=2.5, verbose=0), TypeError,
     "batch_size=2.5"),
    ("validation-batch-size-zero", {},
     lambda m: m.fit(X, Y, validation_data=(X, Y), validation_batch_size=0, verbose=0),
     ValueError, "validation_batch_size=0"),
    ("validation-freq-zero", {},
     lambda m: m.fit(X, Y, validation_data=(X, Y), validation_freq=0, verbose=0),
     ValueError, "validation_freq=0"),
    ("epochs-negative", {}, lambda m: m.fit(X, Y, epochs=-1, verbose=0), ValueError,
     "epochs=-1"),
    ("epochs-float", {}, lambda m: m.fit(X, Y, epochs=1.5, verbose=0), TypeError,
     "epochs=1.5"),
    # -- NaN / Inf in targets (the loss refuses them)
    ("nan-targets-mse", dict(loss="mse", activation=None),
     lambda m: m.fit(X, np.where(np.eye(3)[Y] > 0, np.nan, 0.0), verbose=0),
     ValueError, "y_true` contains 12 NaN or Inf"),
    ("inf-sparse-labels", {}, lambda m: m.fit(X, np.where(Y == 0, np.inf, Y), verbose=0),
     ValueError, "NaN or Inf value"),
    ("nan-labels-in-evaluate", {},
     lambda m: m.evaluate(X, np.where(Y == 1, np.nan, Y), verbose=0),
     ValueError, "NaN or Inf value"),
    # -- unknown names
    ("unknown-optimizer", {}, lambda m: m.compile(optimizer="adamx", loss="mse"),
     ValueError, "Unknown optimizer: 'adamx'.*'adam'"),
    ("unknown-metric", {}, lambda m: m.compile(optimizer="adam", loss="mse",
                                               metrics=["acuracy"]),
     ValueError, "Unknown metric: 'acuracy'.*'accuracy'"),
    ("unknown-loss-instance-name", {}, lambda m: m.compile(loss="crossentropy"),
     ValueError, "Unknown loss: 'crossentropy'.*'categorical_crossentropy'"),
    ("unknown-layer-name", {}, lambda m: m.get_layer("dense_99"),
     ValueError, r"No such layer: dense_99.*\['conv2d', 'flatten', 'dense'\]"),
    ("layer-index-out-of-range", {}, lambda m: m.get_layer(index=7),
     ValueError, "index 7 .* only has 3 layers"),
    # -- set_weights with incompatible lists
    ("set-weights-none", {}, lambda m: m.set_weights(None), TypeError,
     "list of arrays.*NoneType"),
    ("set-weights-too-few", {}, lambda m: m.set_weights(m.get_weights()[:3]), ValueError,
     "length 3.*expecting 4 weights"),
    ("set-weights-strings", {},
     lambda m: m.set_weights([np.full(w.shape, "a") for w in m.get_weights()]),
     TypeError, r"conv2d weights must hold numbers.*dtype=<U1"),
    ("set-weights-transposed-kernel", {},
     lambda m: m.set_weights([w.T for w in m.get_weights()]),
     ValueError, r"conv2d weight shape \(3, 3, 1, 2\) is not compatible.*\(2, 1, 3, 3\)"),
    # -- methods that need compile()
    ("evaluate-before-compile", dict(compile=False), lambda m: m.evaluate(X, Y, verbose=0),
     ValueError, r"compile\(\)` before .*`evaluate`"),
    ("train_on_batch-before-compile", dict(compile=False), lambda m: m.train_on_batch(X, Y),
     ValueError, r"compile\(\)` before .*`train_on_batch`"),
    ("test_on_batch-before-compile", dict(compile=False), lambda m: m.test_on_batch(X, Y),
     ValueError, r"compile\(\)` before .*`test_on_batch`"),
    # -- wrong dtypes
    ("x-strings", {}, lambda m: m.fit(np.full(X.shape, "a"), Y, verbose=0), TypeError,
     "`x` must hold numbers.*dtype=<U1"),
    ("x-objects", {}, lambda m: m.fit(np.empty(X.shape, dtype=object), Y, verbose=0),
     TypeError, "`x` must hold numbers.*dtype=object"),
    ("x-complex", {}, lambda m: m.predict(X + 1j), TypeError, "`x` must hold numbers.*complex"),
    ("y-strings", {}, lambda m: m.fit(X, np.array(["cat"] * N), verbose=0), TypeError,
     "`y` must hold numbers.*dtype=<U3"),
    ("y-objects", {}, lambda m: m.evaluate(X, np.array([1, "a"] * (N // 2), dtype=object),
                                           verbose=0),
     TypeError, "`y` must hold numbers.*dtype=object"),
    ("sample-weight-strings", {},
     lambda m: m.fit(X, Y, sample_weight=np.array(["1"] * N), verbose=0),
     TypeError, "`sample_weight` must hold numbers"),
    ("x-ragged-lists", {}, lambda m: m.predict([[0.0, 1.0], [2.0]]),
     ValueError, "`x` must be an array of numbers with one shape"),
]


def _state(model):
    return (model.optimizer, model.loss, list(model._metrics), model.compiled, model.built)


def _assert_usable(model, weights, state):
    """Weights and compiled state untouched; the model still trains and evaluates."""
    assert _state(model) == state
    for before, after in zip(weights, model.get_weights()):
        np.testing.assert_array_equal(before, after)
    if not model.compiled:
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    y = Y
    if isinstance(model.loss, fastconv.losses.BinaryCrossentropy):
        y = (Y > 0).astype(np.float32)
    elif isinstance(model.loss, (fastconv.losses.CategoricalCrossentropy,
                                 fastconv.losses.MeanSquaredError)):
        y = np.eye(3)[Y]
    loss = model.train_on_batch(X, y)
    loss = loss[0] if isinstance(loss, list) else loss
    assert np.isfinite(loss)
    assert model.predict(X, verbose=0).shape == (N,) + model.output_shape[1:]


def test_case_count():
    assert len(CASES) == 51
    assert len({case[0] for case in CASES}) == len(CASES)


@pytest.mark.parametrize("name, kwargs, call, error, match", CASES, ids=[c[0] for c in CASES])
def test_bad_input_raises_and_leaves_the_model_usable(name, kwargs, call, error, match):
    model = make_model(**kwargs)
    weights, state = model.get_weights(), _state(model)
    with pytest.raises(error, match=match):
        call(model)
    _assert_usable(model, weights, state)


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_nan_inputs_show_in_the_loss(bad):
    model = make_model()
    history = model.fit(_with_nan(bad), Y, batch_size=4, verbose=0)
    assert np.isnan(history.history["loss"][0])
    fresh = make_model()
    loss, _ = fresh.evaluate(_with_nan(bad), Y, verbose=0)
    assert np.isnan(loss)
    assert np.isfinite(fresh.evaluate(X, Y, verbose=0)[0])  # evaluate changes no weights


def test_terminate_on_nan_stops_at_the_first_bad_batch(capsys):
    class Count(callbacks.Callback):
        batches = 0

        def on_train_batch_end(self, batch, logs=None):
            Count.batches += 1

    model = make_model()
    # Sample 9 is in the third batch of 4 when not shuffled.
    history = model.fit(_with_nan(np.nan, (9, 0, 0, 0)), Y, batch_size=4, epochs=5,
                        shuffle=False, verbose=0, callbacks=[callbacks.TerminateOnNaN(), Count()])
    assert Count.batches == 3
    assert len(history.history["loss"]) == 1 and np.isnan(history.history["loss"][0])
    assert "Invalid loss, terminating training" in capsys.readouterr().out


@pytest.mark.parametrize("bad", [dict(optimizer="adamx"), dict(loss="hinge-ish"),
                                 dict(metrics=["f1"])])
def test_failed_compile_keeps_the_previous_compile(bad):
    model = make_model()
    model.train_on_batch(X, Y)
    optimizer, loss = model.optimizer, model.loss
    slots = [np.copy(v) for v in optimizer.variables()]
    assert optimizer.iterations == 1
    arguments = dict(optimizer="sgd", loss="mse", metrics=["mae"])
    arguments.update(bad)
    with pytest.raises(ValueError, match="Unknown"):
        model.compile(**arguments)
    assert model.optimizer is optimizer and model.loss is loss
    assert [m.name for m in model._metrics] == ["accuracy"]
    assert optimizer.iterations == 1
    for before, after in zip(slots, optimizer.variables()):
        np.testing.assert_array_equal(before, after)
    assert np.isfinite(model.train_on_batch(X, Y)[0])


def test_set_weights_with_a_bad_last_array_changes_nothing():
    model = make_model()
    before = model.get_weights()
    new = [w + 1 for w in before]
    new[-1] = np.zeros(7)  # the last layer's bias has 3 values
    with pytest.raises(ValueError, match=r"dense weight shape \(3,\) is not compatible.*\(7,\)"):
        model.set_weights(new)
    for old, now in zip(before, model.get_weights()):
        np.testing.assert_array_equal(old, now)


def test_set_weights_on_an_unbuilt_model_says_so():
    model = Sequential([layers.Conv2D(2, 3), layers.Flatten(), layers.Dense(3)])
    with pytest.raises(ValueError, match="isn't built yet"):
        model.set_weights([np.zeros((3, 3, 1, 2)), np.zeros(2)])
