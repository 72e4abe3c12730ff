"""Models: Sequential / functional construction, compile, fit, evaluate, predict,
callbacks and History, weights, and error messages, on small synthetic data."""

import numpy as np
import pytest

import fastconv
from fastconv import backend, callbacks, layers, losses, optimizers
from fastconv.models import Model, Sequential
from executor_steps import fused_output


@pytest.fixture(autouse=True)
def _seeded_one_thread():
    backend.clear_session()
    backend.set_seed(0)
    before = fastconv.get_num_threads()
    fastconv.set_num_threads(1)
    yield
    fastconv.set_num_threads(before)


def quadrant_data(n=256, seed=0):
    """8x8 noise images with a bright 4x4 patch in one of four quadrants; label = quadrant."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 4, size=n)
    x = rng.normal(0, 0.3, size=(n, 8, 8, 1)).astype(np.float32)
    for label, (r, c) in enumerate([(0, 0), (0, 4), (4, 0), (4, 4)]):
        x[y == label, r:r + 4, c:c + 4, 0] += 1.0
    return x, y


def small_cnn(dropout=0.0, input_shape=(8, 8, 1)):
    model = Sequential([
        layers.Input(shape=input_shape),
        layers.Conv2D(8, 3, activation="relu", padding="same"),
        layers.MaxPooling2D(2),
        layers.Flatten(),
        layers.Dense(16, activation="relu"),
        layers.Dropout(dropout),
        layers.Dense(4, activation="softmax"),
    ])
    return model


def compiled_cnn(optimizer="adam", **kwargs):
    model = small_cnn(**kwargs)
    model.compile(optimizer=optimizer, loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    return model


class Recorder(callbacks.Callback):
    """Records each hook call as (hook, index or None, copy of logs)."""

    def __init__(self):
        super().__init__()
        self.calls = []

    def __getattribute__(self, name):
        if name.startswith("on_") and not name.startswith("on_batch"):
            calls = object.__getattribute__(self, "calls")

            def hook(*args):
                index = args[0] if len(args) == 2 else None
                logs = args[-1] if args else None
                calls.append((name, index, dict(logs or {})))
            return hook
        return object.__getattribute__(self, name)

    def names(self):
        return [name for name, _, _ in self.calls]


# ------------------------------------------------------------------------- learning
def test_cnn_learns_the_quadrant_task():
    x, y = quadrant_data(320)
    model = compiled_cnn(optimizer=optimizers.Adam(learning_rate=0.01), dropout=0.2)
    history = model.fit(x, y, epochs=5, batch_size=32, verbose=0)
    losses_ = history.history["loss"]
    assert losses_[-1] < 0.5 * losses_[0]
    x_test, y_test = quadrant_data(200, seed=1)
    loss, accuracy = model.evaluate(x_test, y_test, verbose=0)
    assert accuracy > 0.9  # chance is 0.25
    assert loss < losses_[0]
    predictions = model.predict(x_test)
    assert predictions.shape == (200, 4) and predictions.dtype == np.float32
    np.testing.assert_allclose(predictions.sum(axis=1), 1, rtol=1e-5)
    assert (predictions.argmax(axis=1) == y_test).mean() == pytest.approx(accuracy)


def test_functional_model_with_one_hot_targets_and_mse():
    """Unfused paths: categorical crossentropy on one-hot rows, and MSE."""
    x, y = quadrant_data(256)
    inputs = fastconv.layers.Input(shape=(8, 8, 1))
    hidden = layers.Conv2D(4, 3, activation="tanh")(inputs)
    hidden = layers.GlobalMaxPooling2D()(hidden)
    outputs = layers.Dense(4, activation="softmax")(hidden)
    model = Model(inputs, outputs)
    assert [type(layer).__name__ for layer in model.layers] == [
        "InputLayer", "Conv2D", "GlobalMaxPooling2D", "Dense"]
    one_hot = np.eye(4, dtype=np.float32)[y]
    model.compile(optimizer=optimizers.Adam(learning_rate=0.02),
                  loss=losses.CategoricalCrossentropy(), metrics=["accuracy"])
    assert fused_output(model, x)
    history = model.fit(x, one_hot, epochs=8, verbose=0)
    assert history.history["loss"][-1] < 0.6 * history.history["loss"][0]
    assert history.history["accuracy"][-1] > 0.6
    model.compile(optimizer="adam", loss="mse")
    assert not fused_output(model, x)
    before = model.evaluate(x, one_hot, verbose=0)
    model.fit(x, one_hot, epochs=3, verbose=0)
    assert model.evaluate(x, one_hot, verbose=0) < before


def test_training_with_float64_and_uint8_inputs():
    x, y = quadrant_data(64)
    model = compiled_cnn()
    model.fit(x.astype(np.float64), y, epochs=1, verbose=0)
    assert model.layers[0].kernel.dtype == np.float32
    images = (np.clip(x, 0, 1) * 255).astype(np.uint8)
    rescaled = Sequential([layers.Rescaling(1 / 255, input_shape=(8, 8, 1)), layers.Flatten(),
                           layers.Dense(4, activation="softmax")])
    rescaled.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    rescaled.fit(images, y, epochs=1, verbose=0)
    assert rescaled.predict(images).dtype == np.float32


# ---------------------------------------------------------------- fit bookkeeping
def test_epoch_logs_are_sample_weighted_means():
    """With a zero learning rate the epoch loss is the loss over all samples."""
    x, y = quadrant_data(100)  # batches of 32, 32, 32, 4
    model = small_cnn()
    model.compile(optimizer=optimizers.SGD(learning_rate=0.0),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    history = model.fit(x, y, batch_size=32, epochs=1, verbose=0)
    probs = model.predict(x)
    expected_loss = losses.SparseCategoricalCrossentropy()(y, probs)
    assert history.history["loss"][0] == pytest.approx(expected_loss, rel=1e-5)
    assert history.history["accuracy"][0] == pytest.approx((probs.argmax(1) == y).mean())
    assert model.evaluate(x, y, batch_size=7, verbose=0)[0] == pytest.approx(expected_loss,
                                                                             rel=1e-5)


def test_validation_split_takes_the_tail_and_history_contents():
    x, y = quadrant_data(100)
    model = compiled_cnn()
    recorder = Recorder()
    history = model.fit(x, y, epochs=2, batch_size=16, validation_split=0.25, verbose=0,
                        callbacks=[recorder])
    assert history is model.history
    assert set(history.history) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    assert all(len(v) == 2 for v in history.history.values())
    assert history.epoch == [0, 1]
    assert history.params["epochs"] == 2 and history.params["steps"] == 5  # 75 samples / 16
    val_loss, val_accuracy = model.evaluate(x[75:], y[75:], verbose=0)
    assert history.history["val_loss"][-1] == pytest.approx(val_loss, rel=1e-6)
    assert history.history["val_accuracy"][-1] == pytest.approx(val_accuracy)
    test_batches = [c for c in recorder.calls if c[0] == "on_test_batch_end"]
    assert len(test_batches) == 2 * 2  # 25 validation samples in batches of 16, per epoch


def test_validation_data_and_freq():
    x, y = quadrant_data(64)
    xv, yv = quadrant_data(20, seed=3)
    model = compiled_cnn()
    history = model.fit(x, y, epochs=3, validation_data=(xv, yv), validation_freq=3, verbose=0)
    assert len(history.history["loss"]) == 3
    assert len(history.history["val_loss"]) == 1
    assert history.history["val_loss"][0] == pytest.approx(model.evaluate(xv, yv, verbose=0)[0],
                                                           rel=1e-6)


def test_callback_hooks_in_keras_order():
    x, y = quadrant_data(40)
    model = compiled_cnn()
    recorder = Recorder()
    model.fit(x, y, epochs=2, batch_size=16, validation_split=0.2, verbose=0,
              callbacks=[recorder])
    names = recorder.names()
    assert names[0] == "on_train_begin" and names[-1] == "on_train_end"
    first_epoch = names[1:names.index("on_epoch_end") + 1]
    assert first_epoch == (["on_epoch_begin"]
                           + ["on_train_batch_begin", "on_train_batch_end"] * 2
                           + ["on_test_begin", "on_test_batch_begin", "on_test_batch_end",
                              "on_test_end", "on_epoch_end"])
    batch_logs = [logs for name, _, logs in recorder.calls if name == "on_train_batch_end"]
    epoch_logs = [logs for name, _, logs in recorder.calls if name == "on_epoch_end"]
    assert set(batch_logs[0]) == {"loss", "accuracy"}
    assert batch_logs[1]["loss"] == pytest.approx(epoch_logs[0]["loss"])  # running means
    assert set(epoch_logs[0]) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    predict_recorder = Recorder()
    model.predict(x, batch_size=32, callbacks=[predict_recorder])
    assert predict_recorder.names() == ["on_predict_begin", "on_predict_batch_begin",
                                        "on_predict_batch_end", "on_predict_batch_begin",
                                        "on_predict_batch_end", "on_predict_end"]


def test_stop_training_after_a_batch_and_initial_epoch_and_steps():
    x, y = quadrant_data(64)
    model = compiled_cnn()

    class StopAtSecondBatch(callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            if batch == 1:
                self.model.stop_training = True

    recorder = Recorder()
    history = model.fit(x, y, epochs=5, batch_size=8, verbose=0,
                        callbacks=[StopAtSecondBatch(), recorder])
    assert history.epoch == [0]
    assert recorder.names().count("on_train_batch_end") == 2
    assert model.optimizer.iterations == 2
    # 2 batches per pass: one per epoch, the second epoch continuing the pass (Keras 3)
    history = model.fit(x, y, epochs=4, initial_epoch=2, steps_per_epoch=1, verbose=0)
    assert history.epoch == [2, 3]
    assert model.optimizer.iterations == 2 + 2


def test_progress_output(capsys):
    x, y = quadrant_data(64)
    model = compiled_cnn()
    model.fit(x, y, epochs=2, verbose=2)
    out = capsys.readouterr().out
    assert "Epoch 1/2" in out and "Epoch 2/2" in out and "loss:" in out and "accuracy:" in out
    model.fit(x, y, epochs=1, verbose=0)
    model.predict(x)
    assert capsys.readouterr().out == ""


# --------------------------------------------------------- evaluate / predict / batch
def test_evaluate_predict_and_batch_methods():
    x, y = quadrant_data(50)
    model = compiled_cnn()
    result = model.evaluate(x, y, batch_size=16, verbose=0)
    assert isinstance(result, list) and len(result) == 2
    logs = model.evaluate(x, y, verbose=0, return_dict=True)
    assert list(logs) == ["loss", "accuracy"] and logs["loss"] == pytest.approx(result[0])
    assert model.metrics_names == ["loss", "accuracy"]
    full = model.predict(x, batch_size=16)
    np.testing.assert_allclose(model.predict_on_batch(x), full, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(model(x), full, rtol=1e-5, atol=1e-6)
    loss, accuracy = model.test_on_batch(x[:10], y[:10])
    before = model.get_weights()
    trained = model.train_on_batch(x[:10], y[:10])
    assert trained[0] == pytest.approx(loss, rel=1e-5)
    assert any(not np.array_equal(a, b) for a, b in zip(before, model.get_weights()))
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    assert isinstance(model.evaluate(x, y, verbose=0), float)


def test_sample_and_class_weights():
    x, y = quadrant_data(64)
    model = compiled_cnn()
    zero_weighted = model.evaluate(x, y, sample_weight=np.zeros(64), verbose=0)[0]
    assert zero_weighted == 0.0
    model.fit(x, y, class_weight={0: 1.0, 1: 2.0, 2: 1.0, 3: 0.5}, epochs=1, verbose=0)
    model.fit(x, y, sample_weight=np.linspace(0.5, 1.5, 64), epochs=1, verbose=0)


def test_optimizer_sees_the_same_variables_every_step():
    x, y = quadrant_data(32)
    model = compiled_cnn()
    seen = []
    apply = model.optimizer.apply_gradients

    def spy(pairs):
        pairs = list(pairs)
        seen.append([id(var) for _, var in pairs])
        return apply(pairs)

    model.optimizer.apply_gradients = spy
    model.fit(x, y, batch_size=8, epochs=1, verbose=0)
    assert len(seen) == 4 and all(ids == seen[0] for ids in seen)
    assert seen[0] == [id(w) for w in model.trainable_weights]
    assert len(seen[0]) == 6


# ---------------------------------------------------------------------------- weights
def test_get_set_weights_round_trip():
    x, _ = quadrant_data(16)
    model = compiled_cnn()
    other = small_cnn()
    assert not np.allclose(model.predict(x), other.predict(x))
    weights = model.get_weights()
    assert [w.shape for w in weights] == [(3, 3, 1, 8), (8,), (128, 16), (16,), (16, 4), (4,)]
    other.set_weights(weights)
    np.testing.assert_array_equal(model.predict(x), other.predict(x))
    weights[0][:] = 0  # copies: the model is untouched
    assert np.any(model.layers[0].kernel != 0)
    with pytest.raises(ValueError, match="was expecting 6 weights"):
        other.set_weights(weights[:5])
    with pytest.raises(ValueError, match=r"weight shape \(3, 3, 1, 8\) is not compatible"):
        other.set_weights([np.zeros((3, 3, 2, 8))] + weights[1:])
    assert model.count_params() == 80 + 2064 + 68


def test_frozen_layer_is_not_updated():
    x, y = quadrant_data(32)
    model = compiled_cnn()
    model.layers[0].trainable = False
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    kernel = model.layers[0].kernel.copy()
    model.fit(x, y, epochs=1, verbose=0)
    np.testing.assert_array_equal(model.layers[0].kernel, kernel)
    assert len(model.trainable_weights) == 4 and len(model.non_trainable_weights) == 2


# -------------------------------------------------------------------------- sequential
def test_sequential_construction():
    model = Sequential(name="net")
    assert model.name == "net" and model.layers == []
    model.add(layers.Dense(4, input_shape=(3,)))
    assert model.built and model.output_shape == (None, 4)
    model.add(layers.Dense(2))
    assert [layer.name for layer in model.layers] == ["dense", "dense_1"]
    assert model.pop().name == "dense_1"
    assert len(model.layers) == 1 and model.output_shape == (None, 4)
    lazy = Sequential([layers.Flatten(), layers.Dense(2)])
    assert not lazy.built
    assert lazy.predict(np.zeros((3, 2, 2))).shape == (3, 2)
    assert lazy.built and lazy.input_shape == (None, 2, 2)
    explicit = Sequential([layers.Dense(2)])
    explicit.build((None, 5))
    assert explicit.count_params() == 12
    clone = Sequential.from_config(model.get_config())
    assert clone.output_shape == (None, 4) and clone.count_params() == 16


def test_sequential_errors():
    model = Sequential()
    with pytest.raises(ValueError, match="Only instances of `fastconv.layers.Layer`"):
        model.add("dense")
    model.add(layers.Dense(2, name="d", input_shape=(3,)))
    with pytest.raises(ValueError, match="unique names"):
        model.add(layers.Dense(2, name="d"))
    with pytest.raises(ValueError, match="already been configured"):
        model.add(layers.Input(shape=(3,)))
    with pytest.raises(ValueError, match="expected ndim=4"):
        model.add(layers.Conv2D(2, 3))
    assert len(model.layers) == 1  # the refused layer was not kept
    with pytest.raises(TypeError, match="no layers"):
        Sequential().pop()
    with pytest.raises(ValueError, match="isn't built"):
        Sequential([layers.Dense(1)]).count_params()


# ------------------------------------------------------------------------------ errors
def test_data_and_compile_errors():
    x, y = quadrant_data(20)
    model = small_cnn()
    with pytest.raises(ValueError, match=r"You must call `compile\(\)`"):
        model.fit(x, y)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    with pytest.raises(ValueError, match=r"(?s)Data cardinality is ambiguous.*'x' sizes: 20.*'y' sizes: 19"):
        model.fit(x, y[:-1], verbose=0)
    with pytest.raises(ValueError, match="non-empty"):
        model.fit(x[:0], y[:0], verbose=0)
    with pytest.raises(ValueError, match="batch_size=0"):
        model.fit(x, y, batch_size=0, verbose=0)
    with pytest.raises(ValueError, match=r"expected shape=\(None, 8, 8, 1\), found shape=\(20, 8, 8\)"):
        model.fit(x[..., 0], y, verbose=0)
    with pytest.raises(ValueError, match=r"expected shape=\(None, 8, 8, 1\), found shape=\(20, 9, 9, 1\)"):
        model.predict(np.zeros((20, 9, 9, 1)))
    with pytest.raises(ValueError, match="Labels must be in"):
        model.fit(x, y + 4, verbose=0)
    with pytest.raises(ValueError, match="one-hot"):
        model.fit(x, np.eye(4)[y], verbose=0)
    with pytest.raises(ValueError, match="not sufficient to split"):
        model.fit(x[:1], y[:1], validation_split=0.5, verbose=0)
    with pytest.raises(ValueError, match="validation_data"):
        model.fit(x, y, validation_data=x, verbose=0)
    with pytest.raises(ValueError, match="Unknown loss"):
        model.compile(loss="hinge-ish")
    model.compile(optimizer="adam")
    with pytest.raises(ValueError, match="without a `loss`"):
        model.evaluate(x, y)
    with pytest.raises(ValueError, match="not connected"):
        Model(layers.Input(shape=(2,)), layers.Dense(1)(layers.Input(shape=(2,))))
