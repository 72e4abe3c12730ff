"""Model utilities around saving: clone_model, the custom-object registry
(register_keras_serializable, get_custom_objects, custom_object_scope, custom_objects in
load_model) and plot_model / model_to_dot."""

import importlib.util
import sys

import numpy as np
import pytest

import fastconv as keras
from fastconv import layers, saving
from fastconv.saving import ModelFileError, object_registration

HAVE_H5PY = importlib.util.find_spec("h5py") is not None
HAVE_PYDOT = importlib.util.find_spec("pydot") is not None


def functional():
    inputs = layers.Input(shape=(5, 5, 1), name="pixels")
    x = layers.Conv2D(2, 3, activation="relu", name="conv")(inputs)
    y = layers.Conv2D(2, 3, name="side")(inputs)
    x = layers.Add(name="sum")([x, y])
    outputs = layers.Dense(3, name="head")(layers.Flatten(name="flat")(x))
    return keras.Model(inputs, outputs, name="two_paths")


def sequential():
    return keras.Sequential([layers.Input(shape=(4,)), layers.Dense(3, activation="relu"),
                             layers.Dropout(0.5), layers.Dense(2)], name="mlp")


@pytest.fixture
def registry():
    """The global registry, restored after the test."""
    saved = dict(object_registration._GLOBAL_CUSTOM_OBJECTS)
    names = dict(object_registration._GLOBAL_CUSTOM_NAMES)
    yield saving.get_custom_objects()
    object_registration._GLOBAL_CUSTOM_OBJECTS.clear()
    object_registration._GLOBAL_CUSTOM_OBJECTS.update(saved)
    object_registration._GLOBAL_CUSTOM_NAMES.clear()
    object_registration._GLOBAL_CUSTOM_NAMES.update(names)


# --------------------------------------------------------------------------- clone_model
@pytest.mark.parametrize("build", [sequential, functional])
def test_clone_has_the_architecture_and_new_weights(build):
    keras.utils.set_random_seed(0)
    model = build()
    clone = keras.models.clone_model(model)
    assert clone is not model and clone.get_config() == model.get_config()
    assert all(a is not b for a, b in zip(clone.layers, model.layers))
    assert any(not np.array_equal(a, b) for a, b in zip(clone.get_weights(), model.get_weights()))
    clone.set_weights(model.get_weights())
    x = np.random.default_rng(1).random((2,) + model.input_shape[1:], dtype=np.float32)
    np.testing.assert_array_equal(clone.predict(x), model.predict(x))
    assert not clone.compiled


def test_clone_function_and_input_tensors():
    model = functional()
    seen = []

    def clone_function(layer):
        seen.append(layer.name)
        config = layer.get_config()
        if isinstance(layer, layers.Dense):
            config["units"] = 4
        return type(layer).from_config(config)
    clone = keras.models.clone_model(model, clone_function=clone_function)
    assert seen == ["conv", "side", "sum", "flat", "head"]
    assert clone.output_shape == (None, 4)
    new_input = layers.Input(shape=(5, 5, 1))
    on_input = keras.models.clone_model(model, input_tensors=new_input)
    assert on_input.inputs[0] is new_input
    with pytest.raises(ValueError, match="call_function"):
        keras.models.clone_model(model, call_function=lambda layer, *a: layer(*a))


# --------------------------------------------------------------------------- registry
class Scale(layers.Layer):
    """A custom layer with its own config."""

    def __init__(self, factor=2.0, **kwargs):
        super().__init__(**kwargs)
        self.factor = factor

    def call(self, x, training=None):
        return x * self.factor

    def get_config(self):
        return {**super().get_config(), "factor": self.factor}


def test_register_keras_serializable_names_and_lookups(registry):
    registered = saving.register_keras_serializable(package="Tests")(Scale)
    assert registered is Scale
    assert saving.get_registered_name(Scale) == "Tests>Scale"
    assert registry["Tests>Scale"] is Scale
    assert keras.utils.get_custom_objects() is registry
    assert saving.get_registered_object("Tests>Scale") is Scale
    assert saving.get_registered_name(layers.Dense) == "Dense"
    with pytest.raises(ValueError, match="without '>'"):
        saving.register_keras_serializable(package="a>b")


def test_custom_object_scope_is_scoped():
    assert saving.get_registered_object("Scale") is None
    with keras.utils.custom_object_scope({"Scale": Scale}):
        assert saving.get_registered_object("Scale") is Scale
        with saving.custom_object_scope({"Other": Scale}):
            assert saving.get_registered_object("Other") is Scale
        assert saving.get_registered_object("Other") is None
    assert saving.get_registered_object("Scale") is None


def _scale_model():
    return keras.Sequential([layers.Input(shape=(3,)), Scale(3.0, name="scale"),
                             layers.Dense(2)])


@pytest.mark.parametrize("name", ["m.keras", "m.h5", "m.fastconv"])
def test_custom_layer_loads_when_registered_scoped_or_passed(tmp_path, registry, name):
    if not HAVE_H5PY and not name.endswith(".fastconv"):
        pytest.skip("needs h5py")
    model = _scale_model()
    path = tmp_path / name
    model.save(path)
    with pytest.raises(ModelFileError, match="Scale"):
        keras.models.load_model(path)
    loaded = keras.models.load_model(path, custom_objects={"Scale": Scale})
    assert type(loaded.layers[0]) is Scale and loaded.layers[0].factor == 3.0
    with saving.custom_object_scope({"Scale": Scale}):
        assert type(keras.models.load_model(path).layers[0]) is Scale
    saving.register_keras_serializable(package="Tests")(Scale)
    loaded = keras.models.load_model(path)
    x = np.ones((1, 3), np.float32)
    np.testing.assert_array_equal(loaded.predict(x), model.predict(x))


def test_model_from_json_uses_custom_objects(registry):
    text = _scale_model().to_json()
    with pytest.raises(ValueError, match="Scale"):
        keras.models.model_from_json(text)
    assert type(keras.models.model_from_json(text, {"Scale": Scale}).layers[0]) is Scale


# --------------------------------------------------------------------------- plot_model
def test_plot_model_without_pydot_says_how_to_install(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "pydot", None)
    with pytest.raises(ImportError, match="pip install pydot"):
        keras.utils.plot_model(sequential(), tmp_path / "m.png")


@pytest.mark.skipif(not HAVE_PYDOT, reason="needs pydot")
def test_model_to_dot_draws_every_layer_and_connection(tmp_path):
    model = functional()
    path = tmp_path / "m.dot"
    keras.utils.plot_model(model, path, show_shapes=True, show_layer_activations=True)
    source = path.read_text()
    for name in ("pixels", "conv", "side", "sum", "flat", "head"):
        assert name in source
    for parent, child in (("pixels", "conv"), ("pixels", "side"), ("conv", "sum"),
                          ("side", "sum"), ("sum", "flat"), ("flat", "head")):
        assert f"{parent} -> {child}" in source
    assert "(None, 3, 3, 2)" in source and "activation: relu" in source
    dot = keras.utils.model_to_dot(sequential(), rankdir="LR")
    boxes = [node for node in dot.get_nodes() if node.get_name() != "node"]  # not the defaults
    assert len(boxes) == 4 and len(dot.get_edges()) == 3


@pytest.mark.skipif(not HAVE_PYDOT, reason="needs pydot")
def test_plot_model_renders_with_graphviz_or_says_to_install_it(tmp_path):
    import shutil
    path = tmp_path / "m.png"
    if shutil.which("dot") is None:
        with pytest.raises(ImportError, match="install Graphviz"):
            keras.utils.plot_model(sequential(), path)
        assert not path.exists()
    else:
        keras.utils.plot_model(sequential(), path)
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
