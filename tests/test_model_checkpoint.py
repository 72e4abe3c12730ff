"""ModelCheckpoint: formatted file names, save_best_only, save_weights_only, save_freq."""

import json
import os
import zipfile

import numpy as np
import pytest

import fastconv as keras
from fastconv import callbacks, layers


def small_model(seed=0, metrics=("accuracy",)):
    keras.utils.set_random_seed(seed)
    model = keras.Sequential([layers.Input(shape=(4,)), layers.Dense(8, activation="relu"),
                              layers.Dense(3, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=list(metrics))
    return model


def data(n=30, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.random((n, 4), dtype=np.float32)
    return x, (x.sum(axis=1) * 2).astype(int) % 3


class ScriptedLogs(callbacks.Callback):
    """Overwrites the monitored value at each epoch end, before ModelCheckpoint sees it."""

    def __init__(self, values, key="val_loss"):
        super().__init__()
        self.values, self.key = list(values), key

    def on_epoch_end(self, epoch, logs=None):
        logs[self.key] = self.values[epoch]


def kind(path):
    """"model" or "weights", for Keras's files (with h5py) and fastconv's own zip."""
    with open(path, "rb") as handle:
        if handle.read(8) == b"\x89HDF\r\n\x1a\n":
            import h5py
            with h5py.File(path, "r") as h5:
                return "model" if "model_config" in h5.attrs else "weights"
    with zipfile.ZipFile(path) as archive:
        if "model.weights.h5" in archive.namelist():
            return "model"
        return json.loads(archive.read("metadata.json"))["kind"]


def test_file_names_are_formatted_from_epoch_and_logs(tmp_path):
    x, y = data()
    pattern = str(tmp_path / "ckpt" / "model-{epoch:02d}-{val_loss:.2f}-{accuracy:.3f}.keras")
    history = small_model().fit(x, y, epochs=3, batch_size=10, validation_split=0.2, verbose=0,
                                callbacks=[callbacks.ModelCheckpoint(pattern)])
    expected = sorted(
        f"model-{epoch + 1:02d}-{history.history['val_loss'][epoch]:.2f}-"
        f"{history.history['accuracy'][epoch]:.3f}.keras" for epoch in range(3))
    assert sorted(os.listdir(tmp_path / "ckpt")) == expected
    for name in expected:
        assert kind(tmp_path / "ckpt" / name) == "model"
    loaded = keras.models.load_model(tmp_path / "ckpt" / expected[-1])
    assert loaded.optimizer.iterations == 9  # 3 epochs of 3 batches (24 samples, 10 a batch)


def test_save_best_only_saves_on_improvement_only(tmp_path, capsys):
    x, y = data()
    pattern = str(tmp_path / "best-{epoch:02d}.h5")
    checkpoint = callbacks.ModelCheckpoint(pattern, monitor="val_loss", save_best_only=True,
                                           verbose=1)
    small_model().fit(x, y, epochs=5, verbose=0, validation_split=0.2,
                      callbacks=[ScriptedLogs([0.9, 0.5, 0.7, 0.4, 0.4]), checkpoint])
    assert sorted(os.listdir(tmp_path)) == ["best-01.h5", "best-02.h5", "best-04.h5"]
    assert checkpoint.best == 0.4
    out = capsys.readouterr().out
    assert ("Epoch 1: val_loss improved from None to 0.90000, saving model to "
            f"{tmp_path / 'best-01.h5'}") in out
    assert "Epoch 3: val_loss did not improve from 0.50000" in out
    assert "Epoch 5: val_loss did not improve from 0.40000" in out


def test_save_best_only_max_mode_and_auto_accuracy(tmp_path):
    x, y = data()
    path = tmp_path / "best.keras"
    checkpoint = callbacks.ModelCheckpoint(path, monitor="val_accuracy", save_best_only=True)
    saves = []
    original = checkpoint._write
    checkpoint._write = lambda filepath: (saves.append(filepath), original(filepath))
    small_model().fit(x, y, epochs=4, verbose=0, validation_split=0.2,
                      callbacks=[ScriptedLogs([0.5, 0.4, 0.6, 0.6], "val_accuracy"), checkpoint])
    assert len(saves) == 2 and checkpoint.best == 0.6
    assert kind(path) == "model"


def test_initial_value_threshold(tmp_path):
    x, y = data()
    checkpoint = callbacks.ModelCheckpoint(tmp_path / "m.keras", save_best_only=True,
                                           initial_value_threshold=0.3, mode="min")
    small_model().fit(x, y, epochs=2, verbose=0, validation_split=0.2,
                      callbacks=[ScriptedLogs([0.5, 0.2]), checkpoint])
    assert os.listdir(tmp_path) == ["m.keras"] and checkpoint.best == 0.2


def test_save_weights_only(tmp_path):
    x, y = data()
    model = small_model()
    path = tmp_path / "weights-{epoch}.weights.h5"
    model.fit(x, y, epochs=2, verbose=0,
              callbacks=[callbacks.ModelCheckpoint(str(path), save_weights_only=True)])
    assert sorted(os.listdir(tmp_path)) == ["weights-1.weights.h5", "weights-2.weights.h5"]
    assert kind(tmp_path / "weights-2.weights.h5") == "weights"
    other = small_model(seed=5)
    other.load_weights(tmp_path / "weights-2.weights.h5")
    np.testing.assert_array_equal(model.predict(x), other.predict(x))


def test_missing_monitor_warns_and_saves_every_epoch(tmp_path):
    # Keras 3: a save_best_only checkpoint whose monitor is absent from the logs warns and
    # falls back to saving (it used to warn and write nothing for the whole run).
    x, y = data()
    checkpoint = callbacks.ModelCheckpoint(str(tmp_path / "m-{epoch}.keras"), monitor="val_acc",
                                           mode="max", save_best_only=True)
    with pytest.warns(UserWarning, match="Can save best model only with val_acc available"):
        small_model().fit(x, y, epochs=2, verbose=0, callbacks=[checkpoint])
    assert sorted(os.listdir(tmp_path)) == ["m-1.keras", "m-2.keras"]
    assert checkpoint.best is None
    assert kind(tmp_path / "m-2.keras") == "model"


def test_missing_val_acc_in_auto_mode_saves(tmp_path):
    # The case: monitor="val_acc", no validation data. The compiled "acc" is an
    # accuracy (maximized); val_acc is missing from the logs: warn and save.
    x, y = data()
    checkpoint = callbacks.ModelCheckpoint(tmp_path / "m.keras", monitor="val_acc",
                                           save_best_only=True)
    with pytest.warns(UserWarning, match="val_acc available"):
        small_model(metrics=["acc"]).fit(x, y, epochs=1, verbose=0, callbacks=[checkpoint])
    assert os.listdir(tmp_path) == ["m.keras"]


def test_non_scalar_monitor_falls_back_to_saving(tmp_path):
    x, y = data()
    checkpoint = callbacks.ModelCheckpoint(tmp_path / "m.keras", save_best_only=True)
    with pytest.warns(UserWarning, match="Falling back to `save_best_only=False`"):
        small_model().fit(x, y, epochs=1, verbose=0, validation_split=0.2,
                          callbacks=[ScriptedLogs([np.array([0.5, 0.4])]), checkpoint])
    assert os.listdir(tmp_path) == ["m.keras"]


def test_unknown_direction_in_auto_mode_raises(tmp_path):
    x, y = data()
    checkpoint = callbacks.ModelCheckpoint(tmp_path / "m.keras", monitor="score",
                                           save_best_only=True)
    with pytest.raises(ValueError, match="ModelCheckpoint callback received monitor=score"):
        small_model().fit(x, y, epochs=1, verbose=0, callbacks=[checkpoint])


def test_integer_save_freq_saves_every_n_batches(tmp_path):
    x, y = data(40)
    pattern = str(tmp_path / "e{epoch}-b{batch}.keras")
    small_model().fit(x, y, epochs=2, batch_size=10, verbose=0,
                      callbacks=[callbacks.ModelCheckpoint(pattern, save_freq=3)])
    # 4 batches per epoch; every 3rd batch counted across epochs:
    # batch 3, then the 6th overall (epoch 2, batch 2).
    assert sorted(os.listdir(tmp_path)) == ["e1-b3.keras", "e2-b2.keras"]


def test_bad_arguments(tmp_path):
    with pytest.raises(ValueError, match="Unrecognized save_freq"):
        callbacks.ModelCheckpoint(tmp_path / "x", save_freq="batch")
    x, y = data()
    with pytest.raises(KeyError, match="Failed to format this callback filepath"):
        small_model().fit(x, y, epochs=1, verbose=0,
                          callbacks=[callbacks.ModelCheckpoint(str(tmp_path / "{val_loss}.keras"))])
    with pytest.raises(IsADirectoryError):
        small_model().fit(x, y, epochs=1, verbose=0,
                          callbacks=[callbacks.ModelCheckpoint(str(tmp_path))])
