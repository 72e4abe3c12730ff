"""Saving and loading in fastconv's own zip format (save_format="fastconv"; the 0.1 files):
round trips, resumed training, weights only, hostile files. Keras's formats: test_saving_keras.py."""

import importlib.util
import io
import json
import os
import struct
import time
import warnings
import zipfile

import numpy as np
import pytest

import fastconv as keras
from fastconv import backend, layers, saving
from fastconv.saving import ModelFileError, archive


# --------------------------------------------------------------------------- models
def tutorial_cnn(seed=0):
    keras.utils.set_random_seed(seed)
    model = keras.Sequential([
        layers.Input(shape=(10, 10, 1)),
        layers.Conv2D(4, kernel_size=(3, 3), activation="relu"),
        layers.MaxPooling2D(pool_size=(2, 2)),
        layers.Flatten(),
        layers.Dropout(0.5),
        layers.Dense(3, activation="softmax"),
    ])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def data(n=24, seed=1):
    rng = np.random.default_rng(seed)
    return rng.random((n, 10, 10, 1), dtype=np.float32), rng.integers(0, 3, n)


def every_layer_sequential():
    return keras.Sequential([
        layers.Input(shape=(8, 8, 2)),
        layers.Rescaling(0.5, offset=0.1),
        layers.Conv2D(4, 3, padding="same", strides=1, use_bias=False),
        layers.ReLU(max_value=6.0),
        layers.MaxPooling2D(),
        layers.AveragePooling2D(pool_size=(2, 2), padding="same"),
        layers.Conv2D(3, 1, activation="tanh", kernel_initializer="he_normal"),
        layers.Activation("sigmoid"),
        layers.Reshape((2, 2, 3)),
        layers.GlobalAveragePooling2D(keepdims=True),
        layers.Flatten(),
        layers.Dropout(0.25, noise_shape=(None, 1)),
        layers.Dense(5),
        layers.Softmax(),
    ], name="every_layer")


def functional_model():
    inputs = keras.Input(shape=(6, 6, 1), name="image")
    x = layers.Conv2D(2, 3, activation="relu")(inputs)
    x = layers.GlobalMaxPooling2D()(x)
    outputs = layers.Dense(2, activation="sigmoid")(x)
    return keras.Model(inputs, outputs, name="func")


def saved(tmp_path, model=None, name="model.keras"):
    model = model or tutorial_cnn()
    x, y = data()
    if model.compiled and model.loss is not None:
        model.fit(x, y, epochs=1, batch_size=8, verbose=0)
    path = tmp_path / name
    model.save(path, save_format="fastconv")
    return path, model


def entries(path):
    with zipfile.ZipFile(path) as archive_file:
        return {info.filename: archive_file.read(info) for info in archive_file.infolist()}


def write_zip(path, items, compress=zipfile.ZIP_STORED):
    with zipfile.ZipFile(path, "w") as archive_file:
        for name, value in items:
            archive_file.writestr(zipfile.ZipInfo(name) if isinstance(name, str) else name,
                                  value, compress_type=compress)
    return path


def rewrite(source, target, replace=None, drop=(), add=()):
    """A copy of the zip `source` with entries replaced, dropped or added."""
    items = []
    for name, value in entries(source).items():
        if name in drop:
            continue
        if replace and name in replace:
            value = replace[name]
            if not isinstance(value, bytes):
                value = json.dumps(value).encode()
        items.append((name, value))
    items.extend(add)
    return write_zip(target, items)


def as_json(value):
    return json.loads(json.dumps(value))


def npy(array, allow_pickle=False):
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=allow_pickle)
    return buffer.getvalue()


# --------------------------------------------------------------------------- round trips
@pytest.mark.parametrize("name", ["model.keras", "best-cnn-model.h5", "x.hdf5", "no_extension"])
def test_tutorial_cnn_round_trip(tmp_path, name):
    path, model = saved(tmp_path, name=name)
    loaded = keras.models.load_model(path)
    x, _ = data(7, seed=5)
    np.testing.assert_array_equal(model.predict(x), loaded.predict(x))
    assert type(loaded) is keras.Sequential and loaded.name == model.name
    assert [layer.name for layer in loaded.layers] == [layer.name for layer in model.layers]
    assert as_json(loaded.get_config()) == as_json(model.get_config())
    for a, b in zip(model.get_weights(), loaded.get_weights()):
        assert a.dtype == b.dtype
        np.testing.assert_array_equal(a, b)
    assert loaded.compiled and loaded.metrics_names == ["loss", "accuracy"]
    assert type(loaded.optimizer) is type(model.optimizer)
    assert loaded.optimizer.get_config() == model.optimizer.get_config()
    for a, b in zip(model.optimizer.variables(), loaded.optimizer.variables()):
        np.testing.assert_array_equal(a, b)
    assert loaded.evaluate(*data(), verbose=0) == model.evaluate(*data(), verbose=0)
    assert saving.load_model is keras.models.load_model


def test_file_layout_is_documented_format(tmp_path):
    path, model = saved(tmp_path)
    items = entries(path)
    metadata = json.loads(items["metadata.json"])
    assert metadata["format"] == "fastconv-model" and metadata["format_version"] == 1
    assert metadata["fastconv_version"] == keras.__version__ and metadata["kind"] == "model"
    assert metadata["contents"]["weights"] == len(model.weights)
    config = json.loads(items["config.json"])
    assert config["model"]["class_name"] == "Sequential"
    assert config["compile"]["optimizer"]["class_name"] == "Adam"
    assert config["compile"]["loss"]["class_name"] == "SparseCategoricalCrossentropy"
    arrays = [name for name in items if name.endswith(".npy")]
    assert all(np.load(io.BytesIO(items[name]), allow_pickle=False) is not None for name in arrays)
    with zipfile.ZipFile(path) as archive_file:
        assert all(info.compress_type == zipfile.ZIP_STORED
                   for info in archive_file.infolist() if info.filename.endswith(".npy"))


def test_every_layer_type_round_trips(tmp_path):
    model = every_layer_sequential()
    model.compile(optimizer=keras.optimizers.SGD(0.05, momentum=0.9), loss="mse")
    x = np.random.default_rng(0).random((4, 8, 8, 2), dtype=np.float32)
    model.fit(x, np.zeros((4, 5), np.float32), epochs=1, verbose=0)
    model.save(tmp_path / "m.keras", save_format="fastconv")
    loaded = keras.models.load_model(tmp_path / "m.keras")
    np.testing.assert_array_equal(model.predict(x), loaded.predict(x))
    assert as_json(loaded.get_config()) == as_json(model.get_config())
    assert loaded.optimizer.get_config() == model.optimizer.get_config()


def test_functional_model_round_trip(tmp_path):
    model = functional_model()
    model.compile(optimizer="rmsprop", loss="binary_crossentropy", metrics=["accuracy"])
    x = np.random.default_rng(0).random((5, 6, 6, 1), dtype=np.float32)
    model.fit(x, np.ones((5, 2), np.float32), epochs=1, verbose=0)
    model.save(tmp_path / "f.keras", save_format="fastconv")
    loaded = keras.models.load_model(tmp_path / "f.keras")
    assert isinstance(loaded, keras.Model) and type(loaded) is type(model)
    assert loaded.name == "func"
    assert [layer.name for layer in loaded.layers] == [layer.name for layer in model.layers]
    np.testing.assert_array_equal(model.predict(x), loaded.predict(x))


@pytest.mark.skipif(not hasattr(layers, "Add"), reason="merge layers not available")
def test_functional_graph_with_merge_round_trip(tmp_path):
    inputs = keras.Input(shape=(4,))
    a = layers.Dense(3)(inputs)
    b = layers.Dense(3, activation="relu")(inputs)
    outputs = layers.Dense(2)(layers.Add()([a, b]))
    model = keras.Model(inputs, outputs)
    model.save(tmp_path / "g.keras", save_format="fastconv")
    loaded = keras.models.load_model(tmp_path / "g.keras")
    x = np.random.default_rng(0).random((3, 4), dtype=np.float32)
    np.testing.assert_array_equal(model.predict(x), loaded.predict(x))


NEW_LAYERS = ("Add", "Multiply", "Average", "Concatenate", "BatchNormalization", "RandomFlip",
              "RandomRotation", "RandomTranslation", "RandomZoom")


@pytest.mark.skipif(not all(hasattr(layers, name) for name in NEW_LAYERS),
                    reason="graph, normalization and augmentation layers not available")
def test_graph_with_every_merge_normalization_and_augmentation_layer(tmp_path):
    keras.utils.set_random_seed(0)
    inputs = keras.Input(shape=(8, 8, 2))
    x = layers.RandomFlip("horizontal")(inputs)
    x = layers.RandomRotation(0.1)(x)
    x = layers.RandomTranslation(0.1, 0.1)(x)
    x = layers.RandomZoom(0.1)(x)
    a = layers.Conv2D(3, 3, padding="same")(x)
    b = layers.BatchNormalization()(layers.Conv2D(3, 1)(x))
    merged = layers.Concatenate()([layers.Add()([a, b]), layers.Multiply()([a, b]),
                                   layers.Average()([a, b])])
    outputs = layers.Dense(2, activation="softmax")(layers.GlobalAveragePooling2D()(merged))
    model = keras.Model(inputs, outputs)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    x_data = np.random.default_rng(0).random((6, 8, 8, 2), dtype=np.float32)
    model.fit(x_data, np.array([0, 1] * 3), epochs=1, batch_size=3, verbose=0)
    model.save(tmp_path / "graph.keras", save_format="fastconv")
    loaded = keras.models.load_model(tmp_path / "graph.keras")
    assert [layer.name for layer in loaded.layers] == [layer.name for layer in model.layers]
    np.testing.assert_array_equal(model.predict(x_data), loaded.predict(x_data))
    for a_weight, b_weight in zip(model.get_weights(), loaded.get_weights()):
        np.testing.assert_array_equal(a_weight, b_weight)
    for a_state, b_state in zip(model.optimizer.variables(), loaded.optimizer.variables()):
        np.testing.assert_array_equal(a_state, b_state)


def _example_layers():
    return {
        "InputLayer": lambda: layers.InputLayer(shape=(3, 4)),
        "Conv2D": lambda: layers.Conv2D(3, (2, 3), strides=2, padding="same",
                                        dilation_rate=1, groups=1, activation="relu"),
        "Dense": lambda: layers.Dense(4, use_bias=False, kernel_initializer="zeros"),
        "Dropout": lambda: layers.Dropout(0.3, seed=4),
        "Activation": lambda: layers.Activation("tanh"),
        "ReLU": lambda: layers.ReLU(max_value=6.0, negative_slope=0.1),
        "Softmax": lambda: layers.Softmax(axis=1),
        "Reshape": lambda: layers.Reshape((2, -1)),
        "Rescaling": lambda: layers.Rescaling(1 / 255.0, offset=-1.0),
        "MaxPooling2D": lambda: layers.MaxPooling2D(3, strides=1, padding="same"),
        "AveragePooling2D": lambda: layers.AveragePooling2D((2, 1)),
        "RandomRotation": lambda: layers.RandomRotation(0.1, seed=3),
        "RandomTranslation": lambda: layers.RandomTranslation(0.1, (-0.2, 0.1)),
        "RandomZoom": lambda: layers.RandomZoom((-0.2, 0.1), seed=1),
    }


@pytest.mark.parametrize("class_name", sorted(saving.layer_registry()))
def test_every_registered_layer_config_round_trips(class_name):
    cls = saving.layer_registry()[class_name]
    make = _example_layers().get(cls.__name__)
    try:
        layer = make() if make else cls()
    except TypeError:
        pytest.skip(f"{class_name} needs constructor arguments and has no example here")
    config = json.loads(json.dumps(saving.serialize_layer(layer), default=list))
    rebuilt = saving.deserialize_layer(config)
    assert type(rebuilt) is type(layer)
    assert json.loads(json.dumps(rebuilt.get_config(), default=list)) == config["config"]


# --------------------------------------------------------------------------- resuming
def test_training_resumes_exactly_after_save_and_load(tmp_path):
    x, y = data(32)
    continuous = tutorial_cnn(seed=3)
    continuous.fit(x, y, epochs=2, batch_size=8, verbose=0)

    first = tutorial_cnn(seed=3)
    first.fit(x, y, epochs=1, batch_size=8, verbose=0)
    first.save(tmp_path / "ckpt.keras", save_format="fastconv")
    resumed = keras.models.load_model(tmp_path / "ckpt.keras")
    assert resumed.optimizer.iterations == first.optimizer.iterations == 4
    resumed.fit(x, y, epochs=2, initial_epoch=1, batch_size=8, verbose=0)

    for a, b in zip(continuous.get_weights(), resumed.get_weights()):
        np.testing.assert_array_equal(a, b)
    for a, b in zip(continuous.optimizer.variables(), resumed.optimizer.variables()):
        np.testing.assert_array_equal(a, b)


def test_loading_leaves_global_random_state_unchanged(tmp_path):
    path, _ = saved(tmp_path)
    state = backend.random_generator().bit_generator.state
    keras.models.load_model(path)
    assert backend.random_generator().bit_generator.state == state


@pytest.mark.parametrize("optimizer", ["sgd", "nadam", "adagrad", "adamw"])
def test_optimizer_state_round_trips(tmp_path, optimizer):
    model = tutorial_cnn()
    model.compile(optimizer=optimizer, loss="sparse_categorical_crossentropy")
    path, model = saved(tmp_path, model)
    loaded = keras.models.load_model(path)
    assert type(loaded.optimizer) is type(model.optimizer)
    for a, b in zip(model.optimizer.variables(), loaded.optimizer.variables()):
        np.testing.assert_array_equal(a, b)


def test_uncompiled_and_compile_false_and_include_optimizer_false(tmp_path):
    model = functional_model()
    model.save(tmp_path / "plain.keras", save_format="fastconv")
    assert not keras.models.load_model(tmp_path / "plain.keras").compiled
    path, _ = saved(tmp_path)
    assert not keras.models.load_model(path, compile=False).compiled
    compiled = tutorial_cnn()
    compiled.save(tmp_path / "noopt.keras", include_optimizer=False, save_format="fastconv")
    assert not keras.models.load_model(tmp_path / "noopt.keras").compiled


def test_compiled_but_untrained_model_round_trips(tmp_path):
    model = tutorial_cnn()
    model.save(tmp_path / "fresh.keras", save_format="fastconv")
    loaded = keras.models.load_model(tmp_path / "fresh.keras")
    assert loaded.optimizer.iterations == 0 and not loaded.optimizer.built
    loaded.fit(*data(), epochs=1, verbose=0)


def test_custom_layer_needs_registration(tmp_path):
    class Doubler(layers.Activation):
        def __init__(self, **kwargs):
            kwargs.pop("activation", None)
            super().__init__("linear", **kwargs)

    model = keras.Sequential([layers.Input(shape=(3,)), Doubler(), layers.Dense(2)])
    model.save(tmp_path / "c.keras", save_format="fastconv")
    with pytest.raises(ValueError, match="Unknown layer class 'Doubler'"):
        keras.models.load_model(tmp_path / "c.keras")
    loaded = keras.models.load_model(tmp_path / "c.keras", custom_objects={"Doubler": Doubler})
    assert type(loaded.layers[0]) is Doubler


def test_save_refuses_unbuilt_model_and_respects_overwrite(tmp_path):
    with pytest.raises(ValueError, match="not built"):
        keras.Sequential([layers.Dense(2)]).save(tmp_path / "x.keras")
    path, model = saved(tmp_path)
    with pytest.raises(FileExistsError):
        model.save(path, overwrite=False)
    with pytest.raises(IsADirectoryError):
        model.save(tmp_path)


# --------------------------------------------------------------------------- weights only
def test_save_and_load_weights(tmp_path):
    model = tutorial_cnn(seed=1)
    model.fit(*data(), epochs=1, verbose=0)
    model.save_weights(tmp_path / "w.weights.h5", save_format="fastconv")
    assert json.loads(entries(tmp_path / "w.weights.h5")["metadata.json"])["kind"] == "weights"
    assert "config.json" not in entries(tmp_path / "w.weights.h5")
    other = tutorial_cnn(seed=2)
    other.load_weights(tmp_path / "w.weights.h5")
    x, _ = data(5)
    np.testing.assert_array_equal(model.predict(x), other.predict(x))
    # A full model file also provides weights.
    model.save(tmp_path / "full.keras", save_format="fastconv")
    third = tutorial_cnn(seed=4)
    third.load_weights(tmp_path / "full.keras")
    np.testing.assert_array_equal(model.predict(x), third.predict(x))
    with pytest.raises(ValueError, match="only weights"):
        keras.models.load_model(tmp_path / "w.weights.h5")


def test_load_weights_shape_mismatch_names_layer_and_changes_nothing(tmp_path):
    model = tutorial_cnn()
    model.save_weights(tmp_path / "w.h5", save_format="fastconv")
    keras.utils.set_random_seed(0)
    other = keras.Sequential([
        layers.Input(shape=(10, 10, 1)), layers.Conv2D(4, 3, activation="relu"),
        layers.MaxPooling2D(), layers.Flatten(), layers.Dense(5, name="head"),
    ])
    before = other.get_weights()
    with pytest.raises(ValueError, match="layer 'head'.*expects \\(64, 5\\).*holds \\(64, 3\\)"):
        other.load_weights(tmp_path / "w.h5")
    for a, b in zip(before, other.get_weights()):
        np.testing.assert_array_equal(a, b)
    fewer = keras.Sequential([layers.Input(shape=(10, 10, 1)), layers.Flatten(), layers.Dense(3)])
    with pytest.raises(ValueError, match="weights for 2 layers"):
        fewer.load_weights(tmp_path / "w.h5")


# --------------------------------------------------------------------------- hostile files
def assert_refused(path, match=None, directory=None, weights_too=True):
    """load_model (and load_weights, for damage it reads) raise a ValueError naming the file;
    nothing is written."""
    directory = directory or os.path.dirname(path)
    before = sorted(os.listdir(directory))
    with pytest.raises(ValueError) as info:
        keras.models.load_model(path)
    message = str(info.value)
    assert isinstance(info.value, ModelFileError) and str(path) in message
    if match:
        assert match in message, message
    if weights_too:
        with pytest.raises(ValueError):
            tutorial_cnn().load_weights(path)
    assert sorted(os.listdir(directory)) == before
    return message


@pytest.mark.parametrize("content", [b"", b"hello world", b"PK\x03\x04" + b"\0" * 40,
                                     os.urandom(3000)])
def test_not_our_file(tmp_path, content):
    path = tmp_path / "bad.keras"
    path.write_bytes(content)
    assert_refused(path)


def test_damaged_hdf5_file_is_refused_or_asks_for_h5py(tmp_path):
    path = tmp_path / "keras2.h5"
    path.write_bytes(b"\x89HDF\r\n\x1a\n" + b"\0" * 100)
    if importlib.util.find_spec("h5py") is None:
        with pytest.raises(ImportError, match="pip install h5py"):
            keras.models.load_model(path)
    else:
        assert_refused(path, "HDF5")


def test_missing_file_is_an_oserror(tmp_path):
    with pytest.raises(OSError):
        keras.models.load_model(tmp_path / "nope.keras")


@pytest.mark.parametrize("fraction", [0.1, 0.5, 0.9, 0.999])
def test_truncated_file(tmp_path, fraction):
    path, _ = saved(tmp_path)
    data_bytes = path.read_bytes()
    path.write_bytes(data_bytes[:int(len(data_bytes) * fraction)])
    assert_refused(path)


def test_corrupt_array_bytes_fail_the_crc(tmp_path):
    path, _ = saved(tmp_path)
    raw = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as archive_file:
        info = archive_file.getinfo("weights/00000.npy")
    raw[info.header_offset + 30 + len(info.filename) + 100] ^= 0xFF
    path.write_bytes(bytes(raw))
    assert_refused(path, "corrupt")


def test_newer_format_version(tmp_path):
    path, _ = saved(tmp_path)
    metadata = json.loads(entries(path)["metadata.json"])
    metadata["format_version"] = 99
    message = assert_refused(rewrite(path, tmp_path / "new.keras",
                                     replace={"metadata.json": metadata}))
    assert "format_version 99" in message and "Upgrade fastconv" in message


@pytest.mark.parametrize("metadata", [
    {"format": "keras", "format_version": 1, "kind": "model"},
    {"format": "fastconv-model", "format_version": "1", "kind": "model"},
    {"format": "fastconv-model", "format_version": True, "kind": "model"},
    {"format": "fastconv-model", "format_version": 1, "kind": "pickle"},
    [1, 2, 3],
])
def test_bad_metadata(tmp_path, metadata):
    path, _ = saved(tmp_path)
    assert_refused(rewrite(path, tmp_path / "bad.keras", replace={"metadata.json": metadata}))


@pytest.mark.parametrize("name", ["/etc/passwd", "../evil.npy", "weights/../../evil.npy",
                                  "C:/evil", "weights\\00000.npy", "extra.txt",
                                  "weights/00000.npy.exe"])
def test_unsafe_or_unknown_entry_names(tmp_path, name):
    path, _ = saved(tmp_path)
    crafted = rewrite(path, tmp_path / "crafted.keras", add=[(name, b"x")])
    message = assert_refused(crafted)
    assert repr(name) in message
    assert not (tmp_path.parent / "evil.npy").exists()


def test_duplicate_entries(tmp_path):
    path, _ = saved(tmp_path)
    with pytest.warns(UserWarning):
        crafted = rewrite(path, tmp_path / "dup.keras",
                          add=[("config.json", json.dumps({"model": {}}).encode())])
    assert_refused(crafted, "duplicate")


@pytest.mark.parametrize("missing", ["metadata.json", "config.json", "weights.json",
                                     "weights/00001.npy", "optimizer/00003.npy"])
def test_missing_entries(tmp_path, missing):
    path, _ = saved(tmp_path)
    assert_refused(rewrite(path, tmp_path / "missing.keras", drop={missing}), "missing",
                   weights_too=missing != "config.json" and not missing.startswith("optimizer"))


def _patch_central_size(path, name, size):
    """Sets the uncompressed size the zip's central directory declares for `name`."""
    raw = bytearray(path.read_bytes())
    position = raw.find(b"PK\x01\x02")
    while position >= 0:
        name_length = struct.unpack("<H", raw[position + 28:position + 30])[0]
        if raw[position + 46:position + 46 + name_length] == name.encode():
            raw[position + 24:position + 28] = struct.pack("<I", size)
            path.write_bytes(bytes(raw))
            return
        position = raw.find(b"PK\x01\x02", position + 4)
    raise AssertionError(f"{name} not found")


@pytest.mark.parametrize("name, size", [("config.json", 0xFFFFFFF0),
                                        ("weights/00000.npy", 0xFFFFFF00)])
def test_huge_declared_sizes_are_refused_before_reading(tmp_path, name, size):
    path, _ = saved(tmp_path)
    _patch_central_size(path, name, size)
    message = assert_refused(path)
    assert name in message


def test_zip_bomb_is_refused_before_reading(tmp_path, monkeypatch):
    path, _ = saved(tmp_path)
    bomb = npy(np.zeros(2_000_000, np.float32))  # 8 MB of zeros, deflates ~1000:1
    crafted = tmp_path / "bomb.keras"
    items = list(entries(path).items())
    with zipfile.ZipFile(crafted, "w") as archive_file:
        for name, value in items:
            if name == "weights/00000.npy":
                archive_file.writestr(name, bomb, compress_type=zipfile.ZIP_DEFLATED)
            else:
                archive_file.writestr(name, value)
    monkeypatch.setattr(archive.DEFAULT_LIMITS, "max_array_bytes", 1 << 20)
    reads = []
    original = archive.ArchiveReader.read_bytes
    monkeypatch.setattr(archive.ArchiveReader, "read_bytes",
                        lambda self, name: reads.append(name) or original(self, name))
    assert_refused(crafted, "limit")
    assert reads == []


def test_deflate_ratio_beyond_possible_is_refused(tmp_path):
    path, _ = saved(tmp_path)
    crafted = tmp_path / "ratio.keras"
    with zipfile.ZipFile(crafted, "w") as archive_file:
        for name, value in entries(path).items():
            archive_file.writestr(name, value, compress_type=zipfile.ZIP_DEFLATED)
    _patch_central_size(crafted, "weights.json", 10 << 20)
    assert_refused(crafted, "compression ratio")


def test_overlapping_entries_are_refused(tmp_path):
    path, _ = saved(tmp_path)
    raw = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as archive_file:
        first = archive_file.getinfo("weights/00000.npy").header_offset
    # Point the central-directory record of weights/00001.npy at weights/00000.npy's data.
    position = raw.find(b"PK\x01\x02")
    while position >= 0:
        name_length = struct.unpack("<H", raw[position + 28:position + 30])[0]
        if raw[position + 46:position + 46 + name_length] == b"weights/00001.npy":
            raw[position + 42:position + 46] = struct.pack("<I", first)
        position = raw.find(b"PK\x01\x02", position + 4)
    path.write_bytes(bytes(raw))
    assert_refused(path)


@pytest.mark.parametrize("array, allow_pickle, match", [
    (np.array([{"a": 1}, None], dtype=object), True, "object"),
    (np.array(["a", "b"]), False, "dtype <U1"),
    (np.zeros(2, dtype=[("a", "f4"), ("b", "f4")]), False, "plain numeric"),
    (np.zeros(3, np.complex64), False, "complex64"),
])
def test_pickles_and_non_numeric_arrays_are_refused(tmp_path, array, allow_pickle, match):
    path, _ = saved(tmp_path)
    crafted = rewrite(path, tmp_path / "pickle.keras",
                      replace={"weights/00000.npy": npy(array, allow_pickle)})
    assert_refused(crafted, match)


def test_pickle_payload_is_never_executed(tmp_path):
    marker = tmp_path / "pwned"

    class Payload:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    path, _ = saved(tmp_path)
    crafted = rewrite(path, tmp_path / "evil.keras",
                      replace={"weights/00000.npy": npy(np.array([Payload()], dtype=object), True)})
    if marker.exists():
        marker.unlink()  # np.save pickled it (calling nothing); make sure loading creates none
    assert_refused(crafted)
    assert not marker.exists()


@pytest.mark.parametrize("header_shape", ["(100000000000,)", "(-3,)", "(3, 3, 1, 4, 'x')"])
def test_npy_header_lies(tmp_path, header_shape):
    path, _ = saved(tmp_path)
    good = entries(path)["weights/00000.npy"]
    header_length = struct.unpack("<H", good[8:10])[0]
    header = good[10:10 + header_length].decode("latin1")
    start, end = header.index("'shape': ") + 9, header.index("), ") + 1
    new_header = (header[:start] + header_shape + header[end:]).rstrip()
    new_header = new_header.ljust(header_length - 1) + "\n"
    if len(new_header) != header_length:
        pytest.skip("header does not fit")
    crafted_npy = good[:10] + new_header.encode("latin1") + good[10 + header_length:]
    crafted = rewrite(path, tmp_path / "lie.keras", replace={"weights/00000.npy": crafted_npy})
    assert_refused(crafted)


@pytest.mark.parametrize("header", [b"{'descr': '<f4', 'shape': ((", b"{'descr': [[[", b"\xff\xfe",
                                    b"{'descr': '<f4', 'fortran_order': 1, 'shape': ()}"])
def test_malformed_npy_header(tmp_path, header):
    # Found by fuzz/fuzz_load_model.py: NumPy's header parser raised tokenize.TokenError.
    header = header.ljust(117) + b"\n"
    crafted_npy = b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header + b"\0" * 16
    path, _ = saved(tmp_path)
    crafted = rewrite(path, tmp_path / "hdr.keras", replace={"weights/00000.npy": crafted_npy})
    assert_refused(crafted, "weights/00000.npy")


def _config(path):
    return json.loads(entries(path)["config.json"])


@pytest.mark.parametrize("mutate, match", [
    ([], "config.json"),
    ({"model": "Sequential"}, "config.json"),
    (lambda c: c["model"].update(class_name=5), "class_name"),
    (lambda c: c["model"].update(class_name="os.system"), "Unknown model class"),
    (lambda c: c["model"]["config"].update(layers="abc"), "layers"),
    (lambda c: c["model"]["config"]["layers"][1].update(class_name="__import__"),
     "Unknown layer class"),
    (lambda c: c["model"]["config"]["layers"][1].update(class_name="Layer"),
     "Unknown layer class"),
    (lambda c: c["model"]["config"]["layers"][1].update(class_name="fastconv.backend.set_seed"),
     "Unknown layer class"),
    (lambda c: c["model"]["config"]["layers"][1]["config"].update(filters="many"), "filters"),
    (lambda c: c["model"]["config"]["layers"][1]["config"].update(evil=1), "evil"),
    (lambda c: c["model"]["config"]["layers"][1].update(config=[1]), "config"),
    (lambda c: c["model"]["config"]["layers"][-1]["config"].update(units=10 ** 12),
     "more values than the file"),
    (lambda c: c["model"]["config"]["layers"][1]["config"].update(filters=10 ** 9),
     "more values than the file"),
    (lambda c: c["model"]["config"]["layers"][1]["config"].update(
        kernel_size=[100000, 100000]), "invalid model config"),
    (lambda c: c["model"]["config"]["layers"][-1]["config"].update(activation={"a": [1]}),
     "activation"),
    (lambda c: c["model"]["config"].update(trainable="yes"), "trainable"),
    (lambda c: c["model"]["config"]["layers"].pop(0), "no input shape"),
    (lambda c: c["compile"].update(optimizer={"class_name": "Evil", "config": {}}), "optimizer"),
    (lambda c: c["compile"].update(optimizer={"class_name": "Adam", "config": {"lr": "x"}}),
     "compile"),
    (lambda c: c["compile"].update(loss={"class_name": "Exec", "config": {}}), "loss"),
    (lambda c: c["compile"].update(metrics="accuracy"), "metrics"),
    (lambda c: c["compile"].update(metrics=[{"class_name": "Os", "config": {}}]), "metric"),
    (lambda c: c["compile"].update(loss_weights="heavy"), "loss_weights"),
])
def test_config_of_wrong_types(tmp_path, mutate, match):
    path, _ = saved(tmp_path)
    config = _config(path)
    if callable(mutate):
        mutate(config)  # in place
    else:
        config = mutate  # a whole replacement
    crafted = rewrite(path, tmp_path / "cfg.keras", replace={"config.json": config})
    with pytest.raises(ValueError) as info:
        keras.models.load_model(crafted)
    assert str(crafted) in str(info.value) and match in str(info.value), str(info.value)


@pytest.mark.parametrize("content", [b"[" * 100000 + b"]" * 100000, b"\xff\xfe{}", b"{}{}",
                                     b'{"model": 1, "model": 2}', b"NaN"],
                         ids=["deep", "utf16", "two-objects", "duplicate-key", "nan"])
def test_config_json_that_does_not_parse(tmp_path, content):
    path, _ = saved(tmp_path)
    assert_refused(rewrite(path, tmp_path / "j.keras", replace={"config.json": content}),
                   weights_too=False)


@pytest.mark.parametrize("mutate", [
    lambda w: w["layers"][0]["weights"][0].update(shape=[3, 3, 1, 5]),
    lambda w: w["layers"][0]["weights"][0].update(shape=[2 ** 40]),
    lambda w: w["layers"][0]["weights"][0].update(file="../x.npy"),
    lambda w: w["layers"][0]["weights"][0].update(file="weights/00099.npy"),
    lambda w: w["layers"][0]["weights"][1].update(file="weights/00000.npy"),
    lambda w: w["layers"].pop(),
    lambda w: w.update(layers={"a": 1}),
    lambda w: w.update(optimizer_state=["weights/00000.npy"]),
    lambda w: w.update(optimizer_state=w["optimizer_state"][:-1]),
])
def test_weights_manifest_of_wrong_types(tmp_path, mutate):
    path, _ = saved(tmp_path)
    manifest = json.loads(entries(path)["weights.json"])
    mutate(manifest)
    truncated_state = manifest.get("optimizer_state", []) and len(
        manifest["optimizer_state"]) == 8  # load_weights does not read the optimizer state
    assert_refused(rewrite(path, tmp_path / "w.keras", replace={"weights.json": manifest}),
                   weights_too=not truncated_state)


@pytest.mark.parametrize("replacement", [
    np.array([3, 4], np.int64), np.array(-1, np.int64), np.array(1.5),
])
def test_bad_optimizer_state(tmp_path, replacement):
    path, _ = saved(tmp_path)
    crafted = rewrite(path, tmp_path / "o.keras", replace={"optimizer/00000.npy": npy(replacement)})
    assert_refused(crafted, "optimizer", weights_too=False)


def test_optimizer_slot_of_wrong_shape(tmp_path):
    path, _ = saved(tmp_path)
    crafted = rewrite(path, tmp_path / "o.keras",
                      replace={"optimizer/00001.npy": npy(np.zeros((2, 2), np.float32))})
    assert_refused(crafted, "optimizer", weights_too=False)


def test_weight_of_wrong_dtype(tmp_path):
    path, _ = saved(tmp_path)
    shape = np.load(io.BytesIO(entries(path)["weights/00001.npy"])).shape
    crafted = rewrite(path, tmp_path / "d.keras",
                      replace={"weights/00001.npy": npy(np.zeros(shape, np.int32))})
    assert_refused(crafted, "int32")


def test_encrypted_flag_and_other_compression_are_refused(tmp_path):
    path, _ = saved(tmp_path)
    crafted = tmp_path / "bz.keras"
    with zipfile.ZipFile(crafted, "w") as archive_file:
        for name, value in entries(path).items():
            archive_file.writestr(name, value, compress_type=zipfile.ZIP_BZIP2)
    assert_refused(crafted, "compression method")


# --------------------------------------------------------------------------- atomic writes
def test_failed_save_keeps_previous_file_and_leaves_no_temp(tmp_path, monkeypatch):
    path, model = saved(tmp_path)
    original = path.read_bytes()
    calls = []
    real = archive._array_bytes

    def failing(array):
        calls.append(1)
        if len(calls) == 3:
            raise RuntimeError("disk on fire")
        return real(array)

    monkeypatch.setattr(archive, "_array_bytes", failing)
    model.fit(*data(), epochs=1, verbose=0)
    with pytest.raises(RuntimeError, match="disk on fire"):
        model.save(path, save_format="fastconv")
    assert path.read_bytes() == original
    assert sorted(os.listdir(tmp_path)) == [path.name]
    keras.models.load_model(path)


@pytest.mark.parametrize("target", ["fsync", "replace"])
def test_failed_fsync_or_rename_keeps_previous_file(tmp_path, monkeypatch, target):
    path, model = saved(tmp_path)
    original = path.read_bytes()

    def fail(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(archive.os, target, fail)
    with pytest.raises(OSError, match="No space"):
        model.save_weights(path, save_format="fastconv")
    monkeypatch.undo()
    assert path.read_bytes() == original
    assert sorted(os.listdir(tmp_path)) == [path.name]


def test_new_file_has_normal_permissions(tmp_path):
    path, _ = saved(tmp_path)
    umask = os.umask(0)
    os.umask(umask)
    assert (os.stat(path).st_mode & 0o777) == (0o666 & ~umask)


# --------------------------------------------------------------------------- crafted-file stalls
# The quadratic checks took ~36 s on these files; a linear one takes ~0.3 s on a quiet machine
# and up to ~2 s on a loaded one, so 5 s tells the two apart without failing under load.
REFUSAL_SECONDS = 5.0


def _time_refusal(path, match):
    start = time.perf_counter()
    with pytest.raises(ModelFileError, match=match):
        keras.models.load_model(path)
    return time.perf_counter() - start


def test_config_with_many_repeated_keys_is_refused_quickly(tmp_path):
    # 30,000 keys each given twice: the duplicate check used to take ~36 s (quadratic).
    path, _ = saved(tmp_path)
    body = ", ".join(f'"k{i}": 0, "k{i}": 0' for i in range(30_000))
    crafted = rewrite(path, tmp_path / "keys.keras", replace={"config.json": ("{" + body + "}").encode()})
    elapsed = _time_refusal(crafted, r"duplicate keys \['k0', 'k1', .*\(30000 in all\)")
    assert elapsed < REFUSAL_SECONDS, f"load_model took {elapsed:.2f} s to refuse the crafted config"


def test_archive_with_many_repeated_entries_is_refused_quickly(tmp_path):
    # 30,000 array entries each given twice (60,000 < the 100,000-entry limit).
    items = [(f"weights/{i:05d}.npy", b"") for i in range(30_000)] * 2
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # zipfile warns on each duplicate name
        crafted = write_zip(tmp_path / "entries.keras", items)
    elapsed = _time_refusal(crafted, r"duplicate zip entries \['weights/00000.npy', .*"
                                     r"\(30000 in all\)")
    assert elapsed < REFUSAL_SECONDS, \
        f"load_model took {elapsed:.2f} s to refuse the crafted archive"
