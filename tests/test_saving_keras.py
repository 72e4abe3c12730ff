"""Keras 3's files (.keras, .weights.h5, legacy .h5): files written by real Keras 3
(tests/keras3_files, made by its make_files.py) load and predict as Keras did; fastconv's
files follow Keras's layout (facts from keras/src/saving/saving_lib.py and
legacy/saving/legacy_h5_format.py) and load back; hostile HDF5 files are refused; without
h5py the messages say how to install it. The live round trip with Keras itself is
.ci/keras_roundtrip.sh.
"""

import importlib.util
import io
import json
import os
import sys
import zipfile

import numpy as np
import pytest

import fastconv as keras
from fastconv import layers
from fastconv.saving import ModelFileError

HAVE_H5PY = importlib.util.find_spec("h5py") is not None
needs_h5py = pytest.mark.skipif(not HAVE_H5PY, reason="needs h5py (the test extra installs it)")
FILES = os.path.join(os.path.dirname(__file__), "keras3_files")


def keras_file(name):
    return os.path.join(FILES, name)


def expected():
    with np.load(keras_file("expected.npz"), allow_pickle=False) as archive:
        return {key: archive[key] for key in archive.files}


def fastconv_cnn():
    """The architecture of keras3_files' "cnn", built in fastconv."""
    return keras.Sequential([
        layers.Input(shape=(8, 8, 1)), layers.Conv2D(3, 3, activation="relu", padding="same"),
        layers.BatchNormalization(), layers.MaxPooling2D(), layers.Dropout(0.2),
        layers.Flatten(), layers.Dense(2, activation="softmax"),
    ])


def fastconv_functional():
    inputs = layers.Input(shape=(6, 6, 2))
    x = layers.Conv2D(2, 3, padding="same", activation="relu")(inputs)
    y = layers.AveragePooling2D(pool_size=1)(inputs)
    x = layers.GlobalAveragePooling2D()(layers.Concatenate()([x, y]))
    return keras.Model(inputs, layers.Dense(2)(x))


def trained_cnn(seed=0):
    keras.utils.set_random_seed(seed)
    model = fastconv_cnn()
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    rng = np.random.default_rng(seed)
    model.fit(rng.random((16, 8, 8, 1), dtype=np.float32), rng.integers(0, 2, 16), batch_size=8,
              epochs=1, verbose=0)
    return model


def batch(n=5, seed=7):
    return np.random.default_rng(seed).random((n, 8, 8, 1), dtype=np.float32)


# --------------------------------------------------------------------------- Keras's files
@needs_h5py
@pytest.mark.parametrize("suffix", [".keras", ".h5"])
@pytest.mark.parametrize("name", ["cnn", "functional"])
def test_files_written_by_keras_load_and_predict_as_keras(name, suffix):
    want = expected()
    model = keras.models.load_model(keras_file(name + suffix))
    np.testing.assert_allclose(model.predict(want[f"{name}_x"]), want[f"{name}_predictions"],
                               rtol=1e-5, atol=1e-6)
    assert model.compiled and model.optimizer.iterations == int(want[f"{name}_iterations"]) > 0
    assert type(model.optimizer).__name__ == ("Adam" if name == "cnn" else "SGD")
    assert model.optimizer.built  # the moments came with the file


@needs_h5py
@pytest.mark.parametrize("name, build", [("cnn", fastconv_cnn),
                                         ("functional", fastconv_functional)])
def test_weights_files_written_by_keras_load_into_fastconv_models(name, build):
    want = expected()
    for suffix in (".weights.h5", ".h5", ".keras"):
        model = build()
        model.load_weights(keras_file(name + suffix))
        np.testing.assert_allclose(model.predict(want[f"{name}_x"]),
                                   want[f"{name}_predictions"], rtol=1e-5, atol=1e-6)


def fastconv_graph():
    """The architecture of keras3_files' "graph", built in fastconv."""
    left, right = layers.Input(shape=(5,), name="left"), layers.Input(shape=(5,), name="right")
    shared = layers.Dense(4, activation="relu", name="shared")
    tower = keras.Sequential([layers.Input(shape=(8,)), layers.Dense(3, use_bias=False),
                              layers.BatchNormalization()], name="tower")
    x = tower(layers.Concatenate()([shared(left), shared(right)]))
    return keras.Model({"left": left, "right": right},
                       [layers.Dense(2, activation="softmax", name="label")(x),
                        layers.Dense(1, name="score")(x)], name="graph")


@needs_h5py
@pytest.mark.parametrize("suffix", [".keras", ".h5"])
def test_keras_graph_with_shared_nested_and_several_outputs_loads(suffix):
    want = expected()
    model = keras.models.load_model(keras_file("graph" + suffix))
    inputs = {key: want[f"graph_x_{key}"] for key in ("left", "right")}
    got = model.predict(inputs)
    assert len(got) == 2
    for index, array in enumerate(got):
        np.testing.assert_allclose(array, want[f"graph_predictions_{index}"], rtol=1e-5,
                                   atol=1e-6)
    assert type(model.get_layer("tower")).__name__ == "Sequential"
    assert model.optimizer.iterations == int(want["graph_iterations"])
    assert type(model.optimizer).__name__ == "RMSprop" and model.optimizer.built
    again = fastconv_graph()
    again.load_weights(keras_file("graph.weights.h5"))
    for index, array in enumerate(again.predict(inputs)):
        np.testing.assert_allclose(array, want[f"graph_predictions_{index}"], rtol=1e-5,
                                   atol=1e-6)


@needs_h5py
@pytest.mark.parametrize("suffix", [".keras", ".h5"])
def test_graph_round_trip_keeps_sharing_nesting_and_outputs(tmp_path, suffix):
    keras.utils.set_random_seed(1)
    model = fastconv_graph()
    model.compile(optimizer="adam", loss=["sparse_categorical_crossentropy", "mse"],
                  loss_weights=[1.0, 0.5], metrics=[["accuracy"], []])
    rng = np.random.default_rng(0)
    inputs = {"left": rng.random((8, 5), dtype=np.float32),
              "right": rng.random((8, 5), dtype=np.float32)}
    targets = [rng.integers(0, 2, 8), rng.random((8, 1), dtype=np.float32)]
    model.fit(inputs, targets, batch_size=4, verbose=0)
    model.save(tmp_path / ("g" + suffix))
    loaded = keras.models.load_model(tmp_path / ("g" + suffix))
    for a, b in zip(loaded.predict(inputs), model.predict(inputs)):
        np.testing.assert_array_equal(a, b)
    assert loaded.get_config() == model.get_config()
    for a, b in zip(loaded.optimizer.variables(), model.optimizer.variables()):
        np.testing.assert_array_equal(a, b)
    model.train_on_batch(inputs, targets)
    loaded.train_on_batch(inputs, targets)
    for a, b in zip(loaded.get_weights(), model.get_weights()):
        np.testing.assert_array_equal(a, b)


@needs_h5py
def test_nested_model_weights_sit_below_its_group(tmp_path):
    import h5py
    model = fastconv_graph()
    model.save_weights(tmp_path / "g.weights.h5")
    with h5py.File(tmp_path / "g.weights.h5", "r") as h5:
        assert h5["layers/sequential/vars"].attrs["name"] == "tower"
        assert sorted(h5["layers/sequential/layers"]) == ["batch_normalization", "dense"]
        assert sorted(h5["layers/sequential/layers/batch_normalization/vars"]) == [
            "0", "1", "2", "3"]
        assert "layers/input_layer_1" in h5 and "layers/dense_2" in h5  # two inputs, 3 Dense


@needs_h5py
def test_keras_file_resumes_training_with_its_optimizer_state():
    model = keras.models.load_model(keras_file("cnn.keras"))
    again = keras.models.load_model(keras_file("cnn.h5"))
    x, y = batch(4), np.array([0, 1, 1, 0])
    for each in (model, again):
        keras.utils.set_random_seed(3)  # the same Dropout masks
        each.train_on_batch(x, y)
    for a, b in zip(model.get_weights(), again.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)
    assert model.optimizer.iterations == int(expected()["cnn_iterations"]) + 1


# --------------------------------------------------------------------------- fastconv's files
@needs_h5py
def test_keras_file_layout(tmp_path):
    model = trained_cnn()
    model.save(tmp_path / "m.keras")
    with zipfile.ZipFile(tmp_path / "m.keras") as archive:
        assert sorted(archive.namelist()) == ["config.json", "metadata.json", "model.weights.h5"]
        config = json.loads(archive.read("config.json"))
        metadata = json.loads(archive.read("metadata.json"))
        weights = archive.read("model.weights.h5")
    assert metadata["keras_version"].startswith("3.")
    assert (config["module"], config["class_name"]) == ("keras", "Sequential")
    assert config["build_config"] == {"input_shape": [None, 8, 8, 1]}
    entries = config["config"]["layers"]
    assert [e["class_name"] for e in entries] == [
        "InputLayer", "Conv2D", "BatchNormalization", "MaxPooling2D", "Dropout", "Flatten",
        "Dense"]
    assert all(e["module"] == "keras.layers" and e["registered_name"] is None for e in entries)
    conv = entries[1]
    assert conv["build_config"] == {"input_shape": [None, 8, 8, 1]}
    assert conv["config"]["dtype"]["class_name"] == "DTypePolicy"
    assert conv["config"]["kernel_initializer"]["module"] == "keras.initializers"
    assert entries[-1]["build_config"] == {"input_shape": [None, 48]}
    compiled = config["compile_config"]
    assert compiled["optimizer"]["module"] == "keras.optimizers"
    assert compiled["optimizer"]["class_name"] == "Adam"
    import h5py
    with h5py.File(io.BytesIO(weights), "r") as h5:
        assert h5["vars"].attrs["name"] == model.name
        assert h5["layers/conv2d/vars"].attrs["name"] == model.layers[0].name
        np.testing.assert_array_equal(h5["layers/conv2d/vars/0"][()], model.layers[0].weights[0])
        assert sorted(h5["layers/batch_normalization/vars"]) == ["0", "1", "2", "3"]
        assert sorted(h5["layers/dense/vars"]) == ["0", "1"]
        assert "layers/input_layer" not in h5  # a Sequential's `layers` leaves it out
        # Optimizer: iterations, learning rate, then each variable's (momentum, velocity).
        slots = h5["optimizer/vars"]
        assert len(slots) == 2 + 2 * len(model.trainable_weights)
        assert slots["0"][()] == model.optimizer.iterations
        np.testing.assert_allclose(slots["1"][()], 0.01)
        assert slots["2"].shape == slots["3"].shape == model.layers[0].weights[0].shape


@needs_h5py
def test_legacy_h5_layout(tmp_path):
    import h5py
    model = trained_cnn()
    model.save(tmp_path / "m.h5")
    with h5py.File(tmp_path / "m.h5", "r") as h5:
        config = json.loads(h5.attrs["model_config"])
        training = json.loads(h5.attrs["training_config"])
        names = [n.decode() for n in h5["model_weights"].attrs["layer_names"]]
        dense = model.layers[-1]
        weight_names = [n.decode() for n in h5["model_weights"][dense.name].attrs["weight_names"]]
        kernel = h5["model_weights"][dense.name][weight_names[0]][()]
        optimizer_names = h5["optimizer_weights"].attrs["weight_names"]
    assert config["class_name"] == "Sequential" and "module" not in config["config"]["layers"][1]
    assert training["optimizer_config"]["class_name"] == "Adam"
    assert names == [layer.name for layer in model.layers]
    np.testing.assert_array_equal(kernel, dense.weights[0])
    assert len(optimizer_names) == 2 + 2 * len(model.trainable_weights)


@needs_h5py
@pytest.mark.parametrize("suffix", [".keras", ".h5"])
def test_round_trip_in_keras_formats(tmp_path, suffix):
    model = trained_cnn()
    model.save(tmp_path / ("m" + suffix))
    loaded = keras.models.load_model(tmp_path / ("m" + suffix))
    np.testing.assert_array_equal(loaded.predict(batch()), model.predict(batch()))
    assert [type(a) for a in loaded.layers] == [type(b) for b in model.layers]
    assert loaded.optimizer.get_config()["learning_rate"] == pytest.approx(0.01)
    for a, b in zip(loaded.optimizer.variables(), model.optimizer.variables()):
        np.testing.assert_array_equal(a, b)
    x, y = batch(4, seed=2), np.array([1, 0, 1, 1])
    for each in (model, loaded):
        keras.utils.set_random_seed(3)  # the same Dropout masks
        each.train_on_batch(x, y)
    for a, b in zip(loaded.get_weights(), model.get_weights()):
        np.testing.assert_array_equal(a, b)


@needs_h5py
@pytest.mark.parametrize("name", ["w.weights.h5", "w.h5"])
def test_weights_round_trip_and_mismatch(tmp_path, name):
    model = trained_cnn()
    model.save_weights(tmp_path / name)
    other = fastconv_cnn()
    other.load_weights(tmp_path / name)
    np.testing.assert_array_equal(other.predict(batch()), model.predict(batch()))
    wider = keras.Sequential([layers.Input(shape=(8, 8, 1)), layers.Conv2D(3, 3, padding="same"),
                              layers.BatchNormalization(), layers.MaxPooling2D(),
                              layers.Flatten(), layers.Dense(5)])
    before = wider.get_weights()
    with pytest.raises(ModelFileError, match=r"expects \(48, 5\).*\(48, 2\)"):
        wider.load_weights(tmp_path / name)
    for a, b in zip(before, wider.get_weights()):
        np.testing.assert_array_equal(a, b)
    with pytest.raises(ModelFileError, match="only weights|no model_config"):
        keras.models.load_model(tmp_path / name)


@needs_h5py
def test_functional_round_trip_and_json(tmp_path):
    model = fastconv_functional()
    model.save(tmp_path / "f.keras")
    loaded = keras.models.load_model(tmp_path / "f.keras")
    x = np.random.default_rng(0).random((3, 6, 6, 2), dtype=np.float32)
    np.testing.assert_array_equal(loaded.predict(x), model.predict(x))
    with zipfile.ZipFile(tmp_path / "f.keras") as archive:
        config = json.loads(archive.read("config.json"))
    assert config["class_name"] == "Functional" and config["registered_name"] == "Functional"
    concat = next(e for e in config["config"]["layers"] if e["class_name"] == "Concatenate")
    histories = [t["config"]["keras_history"] for t in concat["inbound_nodes"][0]["args"][0]]
    assert [h[1:] for h in histories] == [[0, 0], [0, 0]]
    assert config["config"]["input_layers"] == [model.layers[0].name, 0, 0]


# --------------------------------------------------------------------------- hostile HDF5
def _hostile(tmp_path, build):
    import h5py
    model = trained_cnn()
    path = tmp_path / "hostile.weights.h5"
    model.save_weights(path)
    with h5py.File(path, "a") as h5:
        build(h5, tmp_path)
    return path


@needs_h5py
@pytest.mark.parametrize("attack, match", [
    ("external_link", "ExternalLink"),
    ("soft_link", "SoftLink"),
    ("strings", "only plain numeric"),
    ("compound", "only plain numeric"),
    ("missing", "no weights for layer"),
    ("extra_weight", "datasets named 0"),
    ("integers", "must be floats"),
    ("unwritten", "stores 0 in the file"),
])
def test_hostile_weights_files_are_refused(tmp_path, attack, match):
    import h5py

    def build(h5, folder):
        vars_path = "layers/conv2d/vars"
        if attack == "external_link":
            with h5py.File(folder / "other.h5", "w") as other:
                other["x"] = np.zeros((3, 3, 1, 3), np.float32)
            del h5[vars_path + "/0"]
            h5[vars_path + "/0"] = h5py.ExternalLink(str(folder / "other.h5"), "/x")
        elif attack == "soft_link":
            del h5[vars_path + "/0"]
            h5[vars_path + "/0"] = h5py.SoftLink("/layers/dense/vars/0")
        elif attack == "strings":
            del h5[vars_path + "/1"]
            h5.create_dataset(vars_path + "/1", data=np.array([b"a", b"b", b"c"], dtype=object),
                              dtype=h5py.string_dtype())
        elif attack == "compound":
            del h5[vars_path + "/1"]
            h5[vars_path + "/1"] = np.zeros(3, dtype=[("a", "f4"), ("b", "f4")])
        elif attack == "missing":
            del h5["layers/dense"]
        elif attack == "extra_weight":
            h5[vars_path + "/7"] = np.zeros(3, np.float32)
        elif attack == "unwritten":  # a huge declared shape, no data: a memory bomb
            del h5[vars_path + "/1"]
            h5.create_dataset(vars_path + "/1", shape=(4096, 4096), dtype="f4")
        elif attack == "integers":
            del h5[vars_path + "/1"]
            h5[vars_path + "/1"] = np.zeros(3, np.int32)
    path = _hostile(tmp_path, build)
    model = fastconv_cnn()
    before = model.get_weights()
    with pytest.raises(ModelFileError, match=match) as info:
        model.load_weights(path)
    assert str(path) in str(info.value)
    for a, b in zip(before, model.get_weights()):
        np.testing.assert_array_equal(a, b)


@needs_h5py
def test_hdf5_dataset_beyond_the_limits_is_refused_before_reading(tmp_path):
    from fastconv.saving import Limits, keras_format
    path = tmp_path / "m.weights.h5"
    trained_cnn().save_weights(path)
    with pytest.raises(ModelFileError, match="declares 108 bytes; the limit is 100"):
        keras_format.load_weights_h5(fastconv_cnn(), path, limits=Limits(max_array_bytes=100))


@needs_h5py
def test_damaged_hdf5_structures_are_refused_as_file_errors(tmp_path):
    # Found by the fuzz target: a damaged local heap made h5py raise a bare RuntimeError
    # while listing a group. Every h5py access now reports the file, not the library.
    path = tmp_path / "m.keras"
    trained_cnn().save(path)
    with zipfile.ZipFile(path) as archive:
        entries = {name: archive.read(name) for name in archive.namelist()}
    assert entries["model.weights.h5"].count(b"HEAP") > 0
    entries["model.weights.h5"] = entries["model.weights.h5"].replace(b"HEAP", b"HEAQ")
    damaged = tmp_path / "damaged.keras"
    with zipfile.ZipFile(damaged, "w") as archive:
        for name, content in entries.items():
            archive.writestr(name, content)
    with pytest.raises(ModelFileError, match=r"cannot read .*bad local heap signature"):
        keras.models.load_model(damaged)


@needs_h5py
def test_hdf5_superblock_address_beyond_any_size_is_refused_as_a_file_error(tmp_path):
    # Found by the fuzz target: an address past what a C ssize_t holds made h5py's
    # in-memory file driver raise a bare OverflowError while opening the weights.
    path = tmp_path / "m.keras"
    trained_cnn().save(path)
    with zipfile.ZipFile(path) as archive:
        entries = {name: archive.read(name) for name in archive.namelist()}
    weights = bytearray(entries["model.weights.h5"])
    assert weights[8] == 0  # superblock version 0: the driver-info address is at byte 48
    weights[48:56] = b"\x00\x00\x00\x00\x20\x00\xff\xff"
    entries["model.weights.h5"] = bytes(weights)
    damaged = tmp_path / "damaged.keras"
    with zipfile.ZipFile(damaged, "w") as archive:
        for name, content in entries.items():
            archive.writestr(name, content)
    with pytest.raises(ModelFileError, match="not a readable HDF5 file"):
        keras.models.load_model(damaged)


@needs_h5py
@pytest.mark.parametrize("fraction", [0.05, 0.5, 0.95])
def test_truncated_keras_files_are_refused(tmp_path, fraction):
    model = trained_cnn()
    for name in ("m.keras", "m.h5", "m.weights.h5"):
        path = tmp_path / name
        (model.save_weights if name.endswith(".weights.h5") else model.save)(path)
        data = path.read_bytes()
        path.write_bytes(data[:int(len(data) * fraction)])
        with pytest.raises(ModelFileError):
            fastconv_cnn().load_weights(path)


@needs_h5py
def test_crafted_config_cannot_allocate_beyond_the_file(tmp_path):
    model = trained_cnn()
    model.save(tmp_path / "m.keras")
    with zipfile.ZipFile(tmp_path / "m.keras") as archive:
        items = {name: archive.read(name) for name in archive.namelist()}
    config = json.loads(items["config.json"])
    config["config"]["layers"][-1]["config"]["units"] = 10 ** 9
    items["config.json"] = json.dumps(config).encode()
    with zipfile.ZipFile(tmp_path / "big.keras", "w") as archive:
        for name, data in items.items():
            archive.writestr(name, data)
    with pytest.raises(ModelFileError, match="more values than the file holds"):
        keras.models.load_model(tmp_path / "big.keras")


# --------------------------------------------------------------------------- configs (no h5py)
def keras_zip(path, config, weights=b"\x89HDF\r\n\x1a\n"):
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("metadata.json", json.dumps({"keras_version": "3.15.1"}))
        archive.writestr("config.json", json.dumps(config))
        archive.writestr("model.weights.h5", weights)
    return path


def keras_config_of_fixture(name):
    with zipfile.ZipFile(keras_file(name)) as archive:
        return json.loads(archive.read("config.json"))


@pytest.mark.parametrize("key, value, match", [
    ("renorm", True, "renorm=True"),
    ("synchronized", True, "synchronized=True"),
])
def test_keras_features_fastconv_lacks_are_named(tmp_path, key, value, match):
    config = keras_config_of_fixture("cnn.keras")
    batchnorm = config["config"]["layers"][2]
    assert batchnorm["class_name"] == "BatchNormalization"
    batchnorm["config"][key] = value
    with pytest.raises(ModelFileError, match=f"batch_normalization.*{match}"):
        keras.models.load_model(keras_zip(tmp_path / "x.keras", config))


def test_unknown_keras_layer_and_subclassed_model_are_named(tmp_path):
    config = keras_config_of_fixture("cnn.keras")
    config["config"]["layers"][1]["class_name"] = "LSTM"
    with pytest.raises(ModelFileError, match="Unknown layer class 'LSTM'"):
        keras.models.load_model(keras_zip(tmp_path / "x.keras", config))
    config["class_name"] = "MyModel"
    with pytest.raises(ModelFileError, match="subclassed Keras models"):
        keras.models.load_model(keras_zip(tmp_path / "y.keras", config))


def test_keras_zip_with_extra_entries_is_refused(tmp_path):
    path = keras_zip(tmp_path / "x.keras", keras_config_of_fixture("cnn.keras"))
    with zipfile.ZipFile(path, "a") as archive:
        archive.writestr("weights.json", "{}")
    with pytest.raises(ModelFileError, match="unexpected zip entries"):
        keras.models.load_model(path)


def test_model_from_json_reads_keras_configs_and_to_json_writes_them():
    config = keras_config_of_fixture("functional.keras")
    model = keras.models.model_from_json(json.dumps(config))
    assert [type(layer).__name__ for layer in model.layers] == [
        "InputLayer", "Conv2D", "AveragePooling2D", "Concatenate", "GlobalAveragePooling2D",
        "Dense"]
    assert model.input_shape == (None, 6, 6, 2)
    written = json.loads(model.to_json())
    assert written["class_name"] == "Functional"
    again = keras.models.model_from_json(model.to_json())
    assert again.get_config() == model.get_config()
    with pytest.raises(ValueError, match="JSON text"):
        keras.models.model_from_json("{not json")


# --------------------------------------------------------------------------- without h5py
@pytest.fixture
def no_h5py(monkeypatch):
    monkeypatch.setitem(sys.modules, "h5py", None)  # `import h5py` now raises ImportError


def test_without_h5py_saves_fall_back_to_fastconv_zip_with_a_warning(tmp_path, no_h5py):
    model = trained_cnn()
    with pytest.warns(UserWarning, match="h5py is not installed.*pip install h5py"):
        model.save(tmp_path / "m.keras")
    with zipfile.ZipFile(tmp_path / "m.keras") as archive:
        assert "weights.json" in archive.namelist()
    loaded = keras.models.load_model(tmp_path / "m.keras")
    np.testing.assert_array_equal(loaded.predict(batch()), model.predict(batch()))


def test_without_h5py_keras_files_ask_for_it(no_h5py):
    for name in ("cnn.h5", "cnn.keras"):
        with pytest.raises(ImportError, match=r"pip install h5py"):
            keras.models.load_model(keras_file(name))
    with pytest.raises(ImportError, match=r"pip install h5py"):
        fastconv_cnn().load_weights(keras_file("cnn.weights.h5"))


def test_save_format_fastconv_is_explicit(tmp_path):
    model = trained_cnn()
    model.save(tmp_path / "m.keras", save_format="fastconv")
    with zipfile.ZipFile(tmp_path / "m.keras") as archive:
        assert json.loads(archive.read("metadata.json"))["format"] == "fastconv-model"
    with pytest.raises(ValueError, match="Unknown save_format 'tf'"):
        model.save(tmp_path / "m.keras", save_format="tf")


def test_keras2_functional_config_loads():
    """tf.keras 2 wrote inbound nodes as nested lists and no "module" keys."""
    config = {"class_name": "Functional", "config": {
        "name": "model", "layers": [
            {"class_name": "InputLayer", "name": "input_1", "inbound_nodes": [],
             "config": {"batch_input_shape": [None, 4], "dtype": "float32", "sparse": False,
                        "ragged": False, "name": "input_1"}},
            {"class_name": "Dense", "name": "dense", "inbound_nodes": [[["input_1", 0, 0, {}]]],
             "config": {"name": "dense", "trainable": True, "dtype": "float32", "units": 3,
                        "activation": "relu", "use_bias": True,
                        "kernel_initializer": {"class_name": "GlorotUniform",
                                               "config": {"seed": None}},
                        "bias_initializer": {"class_name": "Zeros", "config": {}},
                        "kernel_regularizer": None, "bias_regularizer": None,
                        "activity_regularizer": None, "kernel_constraint": None,
                        "bias_constraint": None}}],
        "input_layers": [["input_1", 0, 0]], "output_layers": [["dense", 0, 0]]}}
    model = keras.models.model_from_json(json.dumps(config))
    assert model.output_shape == (None, 3) and model.get_layer("dense").units == 3


@needs_h5py
@pytest.mark.parametrize("name", ["m.keras", "m.h5", "m.weights.h5"])
def test_failed_save_keeps_the_previous_file_and_leaves_no_temp(tmp_path, monkeypatch, name):
    from fastconv.saving import keras_weights
    model = trained_cnn()
    path = tmp_path / name
    save = model.save_weights if name.endswith(".weights.h5") else model.save
    save(path)
    original = path.read_bytes()

    def failing(*args, **kwargs):
        raise RuntimeError("disk on fire")
    monkeypatch.setattr(keras_weights, "write_store", failing)
    monkeypatch.setattr(keras_weights, "write_legacy_weights", failing)
    with pytest.raises(RuntimeError, match="disk on fire"):
        save(path)
    assert path.read_bytes() == original and os.listdir(tmp_path) == [name]
