"""Layers reuse their output and gradient arrays inside a model's loops, and only there.

The reuse must be invisible: predict's batches do not overwrite each other, eager calls return
new arrays, and a training step after the first touches (almost) no fresh memory, which is
what makes reuse worth doing (first touch of a 4 KiB page costs a page fault).
"""
import resource

import numpy as np
import pytest

import fastconv as keras
from fastconv import layers


def small_cnn(data_format="channels_last"):
    keras.utils.set_random_seed(3)
    shape = (12, 12, 1) if data_format == "channels_last" else (1, 12, 12)
    model = keras.Sequential([
        keras.Input(shape=shape),
        layers.Conv2D(8, 3, padding="same", activation="relu", data_format=data_format),
        layers.MaxPooling2D(2, data_format=data_format),
        layers.Conv2D(8, 3, activation="relu", data_format=data_format),
        layers.Flatten(data_format=data_format),
        layers.Dense(16, activation="relu"),
        layers.Dense(4, activation="softmax"),
    ])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
def test_predict_batches_do_not_overwrite_each_other(data_format):
    model = small_cnn(data_format)
    x = np.random.default_rng(0).random((7,) + model.input_shape[1:], dtype=np.float32)
    seen = []
    callback = keras.callbacks.LambdaCallback(
        on_predict_batch_end=lambda batch, logs: seen.append(logs["outputs"].copy()))
    got = model.predict(x, batch_size=2, callbacks=[callback])
    eager = np.concatenate([model(x[i:i + 2]) for i in range(0, 7, 2)])
    np.testing.assert_array_equal(got, eager)
    np.testing.assert_array_equal(np.concatenate(seen), eager)


def test_eager_calls_return_new_arrays_after_fit():
    model = small_cnn()
    rng = np.random.default_rng(1)
    x = rng.random((16, 12, 12, 1), dtype=np.float32)
    model.fit(x, rng.integers(0, 4, 16), batch_size=8, epochs=1, verbose=0)
    first, second = model(x[:4]), model(x[4:8])
    assert not np.shares_memory(first, second)
    conv = model.layers[0]
    assert not np.shares_memory(conv(x[:4]), conv(x[:4]))
    # fit's states (activations, reused arrays) lived in its run, not on the layers
    assert all(layer._eager_state is None for layer in model.layers[1:])


def test_training_and_evaluation_match_a_model_without_reuse():
    rng = np.random.default_rng(2)
    x = rng.random((24, 12, 12, 1), dtype=np.float32)
    y = rng.integers(0, 4, 24)
    reused, fresh = small_cnn(), small_cnn()
    reused.fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=0)
    for _ in range(2):  # train_on_batch: eager reference path, step by step
        for start in range(0, 24, 8):
            fresh._kept_run = None  # dropped before each step: every array is new
            fresh.train_on_batch(x[start:start + 8], y[start:start + 8])
    for a, b in zip(reused.get_weights(), fresh.get_weights()):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(reused.evaluate(x, y, verbose=0), fresh.evaluate(x, y, verbose=0))


def test_steps_after_the_first_touch_almost_no_fresh_memory():
    # 28x28 inputs, batch 32: each step's activations and gradients are ~10 MB, over 2,500
    # pages; without reuse every step faults most of them in again.
    keras.utils.set_random_seed(4)
    model = keras.Sequential([
        keras.Input(shape=(28, 28, 1)),
        layers.Conv2D(32, 3, padding="same", activation="relu"),
        layers.MaxPooling2D(2),
        layers.Conv2D(32, 3, padding="same", activation="relu"),
        layers.Flatten(),
        layers.Dense(10, activation="softmax"),
    ])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    rng = np.random.default_rng(5)
    x = rng.random((32 * 8, 28, 28, 1), dtype=np.float32)
    y = rng.integers(0, 10, len(x))
    faults = []
    train_step = model._train_step

    def counted_step(*args):
        before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
        train_step(*args)
        faults.append(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)

    model._train_step = counted_step
    model.fit(x, y, batch_size=32, epochs=1, verbose=0)
    assert faults[0] > 1000, faults  # the first step does allocate: the probe can see it
    assert np.median(faults[1:]) < 100, faults


def test_eager_calls_inside_fit_return_arrays_later_batches_leave_alone():
    model = small_cnn()
    rng = np.random.default_rng(6)
    x = rng.random((16, 12, 12, 1), dtype=np.float32)
    probe = x[:3]
    kept = []

    class Probe(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            if batch == 0:
                out = self.model(probe)
                kept.append((out, out.copy(), self.model.predict_on_batch(probe),
                             self.model.layers[0](probe)))

    model.fit(x, rng.integers(0, 4, 16), batch_size=4, epochs=1, verbose=0, callbacks=[Probe()])
    out, snapshot, on_batch, conv_out = kept[0]
    np.testing.assert_array_equal(out, snapshot)
    assert not np.shares_memory(out, on_batch)
    assert conv_out.shape == (3, 12, 12, 8)


@pytest.mark.parametrize("pool", [layers.MaxPooling2D, layers.AveragePooling2D])
def test_mixed_dtype_layers_train_with_reused_buffers(pool):
    keras.utils.set_random_seed(7)
    model = keras.Sequential([
        keras.Input(shape=(8, 8, 3)),
        layers.Conv2D(4, 3, activation="relu"),
        pool(2),
        layers.Flatten(),
        layers.Dense(2, activation="softmax", dtype="float64"),
    ])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    rng = np.random.default_rng(8)
    x, y = rng.random((8, 8, 8, 3), dtype=np.float32), rng.integers(0, 2, 8)
    before = model.get_weights()[0].copy()
    model.fit(x, y, batch_size=4, epochs=1, verbose=0)
    model.train_on_batch(x[:4], y[:4])
    assert not np.array_equal(model.get_weights()[0], before)


def test_predict_with_no_steps_returns_an_empty_batch():
    model = small_cnn()
    got = model.predict(np.zeros((5, 12, 12, 1), np.float32), steps=0)
    assert got.shape == (0, 4)
