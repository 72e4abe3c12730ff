"""Keras 3 semantics of the training engine, each checked against an independent computation.

Every test here failed on the engine before the trainers/executor split (issue 12).
"""

import ast
import gc
import pathlib

import numpy as np
import pytest

import fastconv as keras
from fastconv import layers


def _dense_model(seed=0, dropout=False):
    keras.utils.set_random_seed(seed)
    model = keras.Sequential([keras.Input(shape=(5,)), layers.Dense(8, activation="relu")]
                             + ([layers.Dropout(0.2)] if dropout else [])
                             + [layers.Dense(3, activation="softmax")])
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    return model


def _data(n=40, seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, 5)).astype(np.float32), rng.integers(0, 3, n)


# ------------------------------------------------------------- class_weight and validation
def test_class_weight_does_not_change_the_validation_loss():
    x, y = _data()
    weighted, plain = _dense_model(), _dense_model()
    # lr=0: the weights never move, so both runs validate the same model.
    for model in (weighted, plain):
        model.optimizer.learning_rate = 0.0
    history = weighted.fit(x, y, validation_split=0.25, class_weight={0: 5.0, 1: 0.1},
                           epochs=1, shuffle=False, verbose=0).history
    reference = plain.fit(x, y, validation_split=0.25, epochs=1, shuffle=False,
                          verbose=0).history
    # The validation samples are the last quarter: their unweighted loss, computed directly.
    probs = plain.predict(x[30:])
    expected = float(np.mean(-np.log(np.clip(probs[np.arange(10), y[30:]], 1e-7, 1))))
    assert history["val_loss"][0] == pytest.approx(expected, rel=1e-5)
    assert history["val_loss"] == reference["val_loss"]
    assert history["loss"] != reference["loss"]  # the training loss is weighted


# -------------------------------------------------------------------- steps_per_epoch
class FirstTargets(keras.metrics.Metric):
    """Records the first target of every batch it sees (targets = sample indices)."""

    def __init__(self, name="first_targets", dtype=None):
        super().__init__(name=name, dtype=dtype)
        self.seen = []

    def update_state(self, y_true, y_pred, sample_weight=None):
        self.seen.append(int(np.asarray(y_true).reshape(-1)[0]))

    def result(self):
        return 0.0

    def reset_state(self):
        pass


def test_steps_per_epoch_continues_the_data_across_epochs():
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input(shape=(5,)), layers.Dense(1)])
    recorder = FirstTargets()
    model.compile(optimizer="sgd", loss="mse", metrics=[recorder])
    x = np.random.default_rng(0).standard_normal((50, 5)).astype(np.float32)
    y = np.arange(50, dtype=np.float32)  # 5 batches of 10 per pass
    with pytest.warns(UserWarning, match="ran out of data"):  # the third epoch gets 1 batch
        model.fit(x, y, batch_size=10, epochs=3, steps_per_epoch=2, shuffle=False, verbose=0)
    assert recorder.seen == [0, 10, 20, 30, 40]  # not [0, 10, 0, 10, 0, 10]


def test_steps_per_epoch_runs_out_of_data_then_starts_a_new_pass():
    x, y = _data(n=30)  # 3 batches per pass
    model = _dense_model()
    with pytest.warns(UserWarning, match="ran out of data"):
        history = model.fit(x, y, batch_size=10, epochs=3, steps_per_epoch=2, verbose=0)
    # epoch 1: batches 0-1; epoch 2: batch 2, then out of data; epoch 3: a new pass, 0-1.
    assert model.optimizer.iterations == 2 + 1 + 2
    assert len(history.history["loss"]) == 3


# ------------------------------------------------------------------- model.trainable
def _bn_model():
    keras.utils.set_random_seed(3)
    model = keras.Sequential([keras.Input(shape=(4,)), layers.Dense(4),
                              layers.BatchNormalization(), layers.Dense(2)])
    model.compile(optimizer="sgd", loss="mse")
    return model


def test_model_trainable_false_reaches_the_layers():
    model = _bn_model()
    x = np.random.default_rng(0).standard_normal((16, 4)).astype(np.float32) * 3 + 1
    y = np.zeros((16, 2), np.float32)
    model.trainable = False
    assert model.trainable_weights == []
    assert all(not layer.trainable and layer.trainable_weights == [] for layer in model.layers)
    before = model.get_weights()
    model.fit(x, y, epochs=2, batch_size=4, verbose=0)
    bn = model.layers[1]
    for a, b in zip(before, model.get_weights()):  # moving statistics included
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(bn.moving_mean, np.zeros(4, np.float32))
    model.trainable = True
    assert all(layer.trainable for layer in model.layers)
    model.fit(x, y, epochs=1, batch_size=4, verbose=0)
    assert not np.array_equal(bn.moving_mean, np.zeros(4, np.float32))
    assert len(model.trainable_weights) == 2 + 2 + 2


def test_frozen_layer_takes_effect_at_the_next_fit():
    model = _bn_model()
    x = np.random.default_rng(1).standard_normal((8, 4)).astype(np.float32)
    y = np.ones((8, 2), np.float32)
    model.fit(x, y, epochs=1, verbose=0)
    first = model.layers[0]
    first.trainable = False
    model.compile(optimizer="sgd", loss="mse")  # as in Keras: recompile after freezing
    kernel = first.kernel.copy()
    model.fit(x, y, epochs=1, verbose=0)
    np.testing.assert_array_equal(first.kernel, kernel)


# ----------------------------------------------------------------- augmentation calls
def test_augmentation_layer_called_directly_augments_as_keras_3():
    images = np.arange(2 * 4 * 4 * 1, dtype=np.float32).reshape(2, 4, 4, 1)
    images = np.repeat(images, 16, axis=0)  # 32 images: some flip with probability 1 - 2**-32
    flip = layers.RandomFlip("horizontal", seed=5)
    out = flip(images)  # Keras 3: `training` defaults to True for preprocessing layers
    flipped = [np.array_equal(o, i[:, ::-1]) and not np.array_equal(o, i)
               for o, i in zip(out, images)]
    kept = [np.array_equal(o, i) for o, i in zip(out, images)]
    assert any(flipped) and any(kept) and all(f or k for f, k in zip(flipped, kept))
    np.testing.assert_array_equal(flip(images, training=False), images)


def test_augmentation_inside_a_model_follows_the_training_flag():
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input(shape=(4, 4, 1)), layers.RandomFlip("vertical")])
    images = np.random.default_rng(0).random((32, 4, 4, 1)).astype(np.float32)
    np.testing.assert_array_equal(model.predict(images), images)  # inference: identity
    np.testing.assert_array_equal(model(images, training=False), images)
    assert not np.array_equal(model(images), images)  # as Keras 3: the layer's own default


# ------------------------------------------------------------ Model.metrics, reset_metrics
class Growing(keras.metrics.Metric):
    """A custom metric that improves every epoch if larger is better (`_direction = "up"`):
    EarlyStopping(mode="auto") can only learn that from `model.metrics`."""

    _direction = "up"

    def __init__(self, name="growing", dtype=None):
        super().__init__(name=name, dtype=dtype)
        self.updates = 0  # never reset: the result grows epoch after epoch

    def update_state(self, y_true, y_pred, sample_weight=None):
        self.updates += 1

    def result(self):
        return float(self.updates)

    def reset_state(self):
        pass


def test_model_metrics_and_reset_metrics():
    model = _dense_model()
    assert [m.name for m in model.metrics] == ["loss", "accuracy"]
    x, y = _data()
    model.evaluate(x, y, verbose=0)
    loss_tracker, accuracy = model.metrics
    assert loss_tracker.result() > 0
    probs = model.predict(x)
    assert accuracy.result() == pytest.approx(np.mean(probs.argmax(-1) == y))
    model.reset_metrics()
    assert [m.result() for m in model.metrics] == [0.0, 0.0]


def test_early_stopping_auto_mode_sees_a_custom_metric_name():
    model = _dense_model()
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy", metrics=[Growing()])
    assert "growing" in [m.name for m in model.metrics]
    stopper = keras.callbacks.EarlyStopping(monitor="growing", mode="auto", patience=0)
    history = model.fit(*_data(), epochs=3, verbose=0, callbacks=[stopper])
    assert len(history.epoch) == 3  # "up": it improved every epoch (as "min", it stops at 2)
    assert history.history["growing"] == sorted(history.history["growing"])


# ------------------------------------------------------ no references to the last batch
def _arrays_held_by(layer):
    weights = {id(w) for w in layer.weights}
    held = []
    for value in vars(layer).values():
        for item in value if isinstance(value, (list, tuple)) else [value]:
            if isinstance(item, np.ndarray) and id(item) not in weights:
                held.append(item)
    return held


@pytest.mark.parametrize("loop", ["fit", "evaluate", "predict", "train_on_batch"])
def test_layers_hold_no_batch_after_a_loop(loop):
    model = _dense_model(dropout=True)
    x, y = _data()
    getattr(model, loop)(*((x,) if loop == "predict" else (x, y)),
                         **({} if loop == "train_on_batch" else {"verbose": 0}))
    for layer in model.layers:
        assert _arrays_held_by(layer) == [], layer.name
    del x
    gc.collect()


# ------------------------------------------------------------- plot_history
def test_plot_history_places_validation_values_at_their_epochs(tmp_path):
    pytest.importorskip("matplotlib")
    import matplotlib
    matplotlib.use("Agg")
    model = _dense_model()
    x, y = _data()
    history = model.fit(x, y, epochs=5, validation_split=0.2, validation_freq=2, verbose=0)
    assert len(history.history["val_loss"]) == 2
    figure = keras.utils.plot_history(history)
    train_line, val_line = figure.axes[0].lines
    assert list(train_line.get_xdata()) == [1, 2, 3, 4, 5]
    assert list(val_line.get_xdata()) == [2, 4]
    dict_figure = keras.utils.plot_history(history.history)  # one frequency fits 5 and 2
    assert list(dict_figure.axes[0].lines[1].get_xdata()) == [2, 4]
    with pytest.raises(ValueError, match="Cannot tell"):
        keras.utils.plot_history({"loss": [1, 2, 3, 4], "val_loss": [1]})  # 3 or 4?


# ------------------------------------------------------------- structure
def test_saving_imports_no_model_class():
    saving = pathlib.Path(keras.__file__).parent / "saving"
    for path in saving.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom):
                names = [node.module or ""] + [f"{node.module}.{a.name}" for a in node.names]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            else:
                continue
            assert not any(n.startswith(("fastconv.models", "fastconv.trainers"))
                           for n in names), (path.name, names)


def test_functional_model_fuses_relu_into_max_pool_backward(monkeypatch):
    calls = []
    fused_pass = layers.MaxPooling2D.grad_through_relu

    def counted(self, state, dy, logits=False):
        calls.append(self.name)
        return fused_pass(self, state, dy, logits)

    monkeypatch.setattr(layers.MaxPooling2D, "grad_through_relu", counted)
    keras.utils.set_random_seed(1)
    # Four channels: a first layer of at most three takes its pool's gradient itself.
    inputs = keras.Input(shape=(8, 8, 4))
    hidden = layers.Conv2D(4, 3, padding="same", activation="relu")(inputs)
    pooled = layers.MaxPooling2D(2)(hidden)
    outputs = layers.Dense(3, activation="softmax")(layers.Flatten()(pooled))
    model = keras.Model(inputs, outputs)
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((6, 8, 8, 4)).astype(np.float32), rng.integers(0, 3, 6)
    model.fit(x, y, batch_size=3, epochs=1, shuffle=False, verbose=0)
    assert len(calls) == 2
