"""Layers: shapes and parameter counts as Keras computes them, forward values,
configs, names, weights, initializers, activations and argument errors."""

import math

import numpy as np
import pytest

import fastconv
from fastconv import activations, backend, initializers, layers
import reference


@pytest.fixture(autouse=True)
def _fresh_names_one_thread():
    backend.clear_session()
    before = fastconv.get_num_threads()
    fastconv.set_num_threads(1)
    yield
    fastconv.set_num_threads(before)


def _x(*shape, seed=0, dtype=np.float32):
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


# ----------------------------------------------------------------- shapes and counts
@pytest.mark.parametrize("layer, input_shape, output_shape, params", [
    (lambda: layers.Conv2D(32, 3, padding="same"), (None, 28, 28, 1), (None, 28, 28, 32), 320),
    (lambda: layers.Conv2D(64, (3, 3)), (None, 14, 14, 32), (None, 12, 12, 64), 18496),
    (lambda: layers.Conv2D(8, 5, strides=2), (None, 28, 28, 3), (None, 12, 12, 8), 608),
    (lambda: layers.Conv2D(8, 3, strides=2, padding="same"), (None, 7, 9, 3), (None, 4, 5, 8), 224),
    (lambda: layers.Conv2D(4, 3, dilation_rate=2), (None, 10, 10, 2), (None, 6, 6, 4), 76),
    (lambda: layers.Conv2D(6, 3, groups=3, use_bias=False), (None, 5, 5, 6), (None, 3, 3, 6), 108),
    (lambda: layers.Conv2D(4, 3, data_format="channels_first"), (None, 2, 8, 9), (None, 4, 6, 7), 76),
    (lambda: layers.MaxPooling2D(2), (None, 28, 28, 32), (None, 14, 14, 32), 0),
    (lambda: layers.MaxPooling2D(2), (None, 7, 7, 64), (None, 3, 3, 64), 0),
    (lambda: layers.MaxPool2D(3, strides=2, padding="same"), (None, 7, 7, 4), (None, 4, 4, 4), 0),
    (lambda: layers.AveragePooling2D((2, 3)), (None, 6, 9, 2), (None, 3, 3, 2), 0),
    (lambda: layers.GlobalAveragePooling2D(), (None, 7, 7, 64), (None, 64), 0),
    (lambda: layers.GlobalMaxPooling2D(keepdims=True), (None, 7, 7, 64), (None, 1, 1, 64), 0),
    (lambda: layers.Flatten(), (None, 7, 7, 64), (None, 3136), 0),
    (lambda: layers.Dense(100), (None, 3136), (None, 100), 313700),
    (lambda: layers.Dense(10), (None, 5, 100), (None, 5, 10), 1010),
    (lambda: layers.Reshape((-1, 4)), (None, 2, 6), (None, 3, 4), 0),
    (lambda: layers.Dropout(0.4), (None, 100), (None, 100), 0),
])
def test_output_shape_and_params(layer, input_shape, output_shape, params):
    layer = layer()
    assert layer.compute_output_shape(input_shape) == output_shape
    batch = (2,) + input_shape[1:]
    y = layer(np.zeros(batch, np.float32))
    assert y.shape == (2,) + output_shape[1:]
    assert y.dtype == np.float32
    assert layer.count_params() == params
    assert layer.output_shape == output_shape
    assert layer.input_shape == input_shape


def test_conv2d_forward_matches_reference():
    layer = layers.Conv2D(5, (3, 2), strides=(2, 1), padding="same", activation="relu",
                          bias_initializer="random_normal")
    x = _x(2, 7, 6, 3)
    y = layer(x)
    expected = np.maximum(reference.conv2d_ref(x.astype(np.float64), layer.kernel, layer.bias,
                                               strides=(2, 1), padding="same"), 0)
    np.testing.assert_allclose(y, expected, rtol=1e-5, atol=1e-5)


def test_dense_forward_and_fused_relu():
    layer = layers.Dense(3, activation="relu", bias_initializer="random_normal")
    x = _x(4, 5)
    np.testing.assert_allclose(layer(x), np.maximum(x @ layer.kernel + layer.bias, 0),
                               rtol=1e-5, atol=1e-6)


def test_pooling_forward_matches_reference():
    x = _x(2, 5, 7, 3)
    np.testing.assert_allclose(layers.MaxPooling2D(3, strides=2, padding="same")(x),
                               reference.max_pool2d_ref(x, 3, 2, "same"), rtol=1e-6)
    np.testing.assert_allclose(layers.AveragePooling2D(2)(x),
                               reference.avg_pool2d_ref(x, 2, None, "valid"), rtol=1e-5)
    np.testing.assert_allclose(layers.GlobalAveragePooling2D()(x), x.mean(axis=(1, 2)), rtol=1e-5)
    np.testing.assert_allclose(layers.GlobalMaxPooling2D()(x), x.max(axis=(1, 2)))


def test_flatten_channels_first_matches_channels_last_order():
    x = _x(2, 3, 4, 5)  # channels_first
    flat_cf = layers.Flatten(data_format="channels_first")(x)
    flat_cl = layers.Flatten()(np.transpose(x, (0, 2, 3, 1)))
    np.testing.assert_array_equal(flat_cf, flat_cl)


def test_rescaling_casts_integers():
    y = layers.Rescaling(1 / 255)(np.array([[0, 51, 255]], np.uint8))
    assert y.dtype == np.float32
    np.testing.assert_allclose(y, [[0, 0.2, 1]], rtol=1e-6)


def test_dropout_only_in_training_and_keeps_the_mean():
    layer = layers.Dropout(0.4)
    x = np.ones((200, 100), np.float32)
    np.testing.assert_array_equal(layer(x), x)
    y = layer(x, training=True)
    np.testing.assert_allclose(np.unique(y), [0.0, 1 / 0.6], rtol=1e-6)
    assert abs(y.mean() - 1) < 0.03
    backend.set_seed(3)
    first = layers.Dropout(0.5)(x, training=True)
    backend.set_seed(3)
    np.testing.assert_array_equal(layers.Dropout(0.5)(x, training=True), first)
    np.testing.assert_array_equal(layers.Dropout(1.0)(x, training=True), 0)


def test_relu_and_softmax_layers():
    x = np.array([[-2.0, -0.5, 0.5, 3.0]], np.float32)
    np.testing.assert_allclose(layers.ReLU()(x), [[0, 0, 0.5, 3]])
    np.testing.assert_allclose(layers.ReLU(max_value=1.0, negative_slope=0.1)(x),
                               [[-0.2, -0.05, 0.5, 1]], rtol=1e-6)
    np.testing.assert_allclose(layers.ReLU(threshold=1.0)(x), [[0, 0, 0, 3]])
    s = layers.Softmax()(x)
    np.testing.assert_allclose(s.sum(axis=-1), 1, rtol=1e-6)
    np.testing.assert_allclose(s, np.exp(x) / np.exp(x).sum(), rtol=1e-5)


# ----------------------------------------------------------------------------- names
def test_unique_snake_case_names():
    assert layers.Conv2D(1, 1).name == "conv2d"
    assert layers.Conv2D(1, 1).name == "conv2d_1"
    assert layers.MaxPooling2D().name == "max_pooling2d"
    assert layers.MaxPool2D().name == "max_pooling2d_1"
    assert layers.GlobalAveragePooling2D().name == "global_average_pooling2d"
    assert layers.Dense(1).name == "dense"
    assert layers.Dense(1).name == "dense_1"
    assert layers.Flatten().name == "flatten"
    assert layers.ReLU().name == "re_lu"
    assert layers.Dense(1, name="head").name == "head"
    backend.clear_session()
    assert layers.Dense(1).name == "dense"


# --------------------------------------------------------------------------- weights
def test_weights_lists_and_set_weights_in_place():
    layer = layers.Conv2D(4, 3)
    layer(np.zeros((1, 5, 5, 2)))
    kernel_id = id(layer.kernel)
    assert [w.shape for w in layer.weights] == [(3, 3, 2, 4), (4,)]
    assert all(w.dtype == np.float32 and w.flags.c_contiguous for w in layer.weights)
    assert layer.trainable_weights == layer.weights and layer.non_trainable_weights == []
    new = [np.full((3, 3, 2, 4), 0.5), np.arange(4.0)]
    layer.set_weights(new)
    assert id(layer.kernel) == kernel_id
    np.testing.assert_array_equal(layer.kernel, 0.5)
    copies = layer.get_weights()
    copies[1][:] = -1
    np.testing.assert_array_equal(layer.bias, np.arange(4.0))
    with pytest.raises(ValueError, match=r"weight shape \(3, 3, 2, 4\) is not compatible"):
        layer.set_weights([np.zeros((3, 3, 1, 4)), np.zeros(4)])
    with pytest.raises(ValueError, match="was expecting 2 weights"):
        layer.set_weights([np.zeros((3, 3, 2, 4))])
    layer.trainable = False
    assert layer.trainable_weights == [] and len(layer.non_trainable_weights) == 2


def test_count_params_before_build_raises():
    with pytest.raises(ValueError, match="isn't built"):
        layers.Dense(3).count_params()


# ---------------------------------------------------------------------------- config
@pytest.mark.parametrize("layer", [
    lambda: layers.Conv2D(8, (3, 2), strides=2, padding="same", activation="relu", groups=2,
                          use_bias=False, kernel_initializer="he_normal"),
    lambda: layers.Dense(7, activation="softmax", bias_initializer="ones"),
    lambda: layers.MaxPooling2D((3, 3), strides=2, padding="same"),
    lambda: layers.AveragePooling2D(data_format="channels_first"),
    lambda: layers.GlobalMaxPooling2D(keepdims=True),
    lambda: layers.Dropout(0.3, seed=2),
    lambda: layers.Flatten(),
    lambda: layers.Reshape((2, -1)),
    lambda: layers.Rescaling(0.5, offset=1.0),
    lambda: layers.Activation("tanh"),
    lambda: layers.ReLU(max_value=6.0),
    lambda: layers.Softmax(axis=1),
])
def test_config_round_trip(layer):
    layer = layer()
    config = layer.get_config()
    assert config["name"] == layer.name and config["trainable"] is True
    clone = type(layer).from_config(config)
    assert clone.get_config() == config


def test_conv2d_config_keys_are_keras_keys():
    config = layers.Conv2D(32, 3).get_config()
    for key in ("filters", "kernel_size", "strides", "padding", "data_format", "dilation_rate",
                "groups", "activation", "use_bias", "kernel_initializer", "bias_initializer"):
        assert key in config
    assert config["kernel_size"] == (3, 3) and config["activation"] == "linear"
    assert config["kernel_initializer"]["class_name"] == "GlorotUniform"


# ---------------------------------------------------------------------------- errors
@pytest.mark.parametrize("make, error, match", [
    (lambda: layers.Conv2D(0, 3), ValueError, "filters=0"),
    (lambda: layers.Conv2D(8, 3, strides=2, dilation_rate=2), ValueError,
     r"`strides > 1` not supported in conjunction with `dilation_rate > 1`"),
    (lambda: layers.Conv2D(8, 3, padding="full"), ValueError, "padding='full'"),
    (lambda: layers.Conv2D(8, 3, groups=3), ValueError, "evenly divisible.*groups=3, filters=8"),
    (lambda: layers.Conv2D(8, 3, data_format="nhwc"), ValueError, "data_format='nhwc'"),
    (lambda: layers.Conv2D(8, 3, activation="swishy"), ValueError, "activation='swishy'"),
    (lambda: layers.Conv2D(8, 3, kernel_initializer="nope"), ValueError, "initializer='nope'"),
    (lambda: layers.Conv2D(8, 3, kernel_regularizer="l3"), ValueError,
     "regularizer identifier: .l3"),
    (lambda: layers.Dense(-1), ValueError, "units=-1"),
    (lambda: layers.Dense(3, bogus=1), TypeError, "Unrecognized keyword arguments.*bogus"),
    (lambda: layers.Dropout(1.5), ValueError, "rate=1.5"),
    (lambda: layers.MaxPooling2D(0), ValueError, "pool_size"),
    (lambda: layers.Reshape((-1, -1)), ValueError, "target_shape"),
    (lambda: layers.Dense(3, dtype="int32"), ValueError, "dtype='int32'"),
    (lambda: layers.ReLU(max_value=-1), ValueError, "max_value=-1"),
])
def test_argument_errors(make, error, match):
    with pytest.raises(error, match=match):
        make()


def test_input_errors():
    conv = layers.Conv2D(4, 3)
    with pytest.raises(ValueError, match=r"expected ndim=4, found ndim=3"):
        conv(np.zeros((2, 5, 5)))
    conv(np.zeros((2, 5, 5, 3)))
    with pytest.raises(ValueError, match="expected axis -1 of input shape to have value 3"):
        conv(np.zeros((2, 5, 5, 2)))
    with pytest.raises(ValueError, match="zero or negative"):
        layers.Conv2D(4, 5)(np.zeros((1, 3, 3, 1)))
    with pytest.raises(ValueError, match="zero or negative"):
        layers.MaxPooling2D(4)(np.zeros((1, 3, 3, 1)))
    dense = layers.Dense(2)
    dense(np.zeros((1, 4)))
    with pytest.raises(ValueError, match="expected axis -1 of input shape to have value 4"):
        dense(np.zeros((1, 5)))
    with pytest.raises(ValueError, match="total size of the tensor must be unchanged"):
        layers.Reshape((5,))(np.zeros((1, 4)))
    with pytest.raises(TypeError, match="numeric"):
        layers.Flatten()(np.array([["a"]]))


# ------------------------------------------------------------------------ functional
def test_input_and_symbolic_calls():
    inputs = layers.Input(shape=(8, 8, 3))
    assert inputs.shape == (None, 8, 8, 3)
    hidden = layers.Conv2D(4, 3)(inputs)
    outputs = layers.GlobalAveragePooling2D()(hidden)
    assert hidden.shape == (None, 6, 6, 4) and outputs.shape == (None, 4)
    assert outputs.parent is hidden and hidden.parent is inputs
    assert isinstance(inputs.layer, layers.InputLayer)


# ---------------------------------------------------------------------- initializers
def test_fans():
    assert initializers.compute_fans((3, 3, 1, 32)) == (9, 288)
    assert initializers.compute_fans((3136, 100)) == (3136, 100)
    assert initializers.compute_fans((5,)) == (5, 5)


@pytest.mark.parametrize("name, bound", [
    ("glorot_uniform", math.sqrt(6 / (9 * 16 + 9 * 32))),
    ("he_uniform", math.sqrt(6 / (9 * 16))),
    ("lecun_uniform", math.sqrt(3 / (9 * 16))),
])
def test_uniform_variance_scaling_limits(name, bound):
    values = initializers.get(name)((3, 3, 16, 32))
    assert values.dtype == np.float32 and values.shape == (3, 3, 16, 32)
    assert np.abs(values).max() <= bound
    assert np.abs(values).max() > 0.95 * bound
    np.testing.assert_allclose(values.std(), bound / math.sqrt(3), rtol=0.05)


@pytest.mark.parametrize("name, std", [
    ("glorot_normal", math.sqrt(2 / (400 + 300))),
    ("he_normal", math.sqrt(2 / 400)),
    ("lecun_normal", math.sqrt(1 / 400)),
])
def test_truncated_normal_variance_scaling(name, std):
    values = initializers.get(name)((400, 300))
    np.testing.assert_allclose(values.std(), std, rtol=0.03)
    assert np.abs(values).max() <= 2 * std / 0.87962566103423978 + 1e-6


def test_simple_initializers_and_get():
    assert initializers.get("zeros")((2, 3)).sum() == 0
    assert initializers.get("ones")((2,)).tolist() == [1, 1]
    assert initializers.Constant(3)((2,)).tolist() == [3, 3]
    normal = initializers.RandomNormal(stddev=2.0)((20000,))
    assert abs(normal.std() - 2) < 0.1
    uniform = initializers.get("random_uniform")((1000,))
    assert uniform.min() >= -0.05 and uniform.max() < 0.05
    truncated = initializers.TruncatedNormal(stddev=1.0)((1000,))
    assert np.abs(truncated).max() <= 2
    seeded = initializers.GlorotUniform(seed=1)
    np.testing.assert_array_equal(seeded((3, 3)), seeded((3, 3)))
    assert isinstance(initializers.get("GlorotUniform"), initializers.GlorotUniform)
    assert isinstance(initializers.get(initializers.HeNormal), initializers.HeNormal)
    config = initializers.serialize(initializers.RandomNormal(mean=1.0))
    assert initializers.get(config).get_config() == {"mean": 1.0, "stddev": 0.05, "seed": None}
    assert initializers.get("he_normal")((2, 2), dtype="float64").dtype == np.float64
    backend.set_seed(5)
    first = initializers.get("glorot_uniform")((4, 4))
    backend.set_seed(5)
    np.testing.assert_array_equal(initializers.get("glorot_uniform")((4, 4)), first)


def test_layer_uses_its_initializers():
    layer = layers.Dense(3, kernel_initializer="ones", bias_initializer=initializers.Constant(2))
    layer(np.zeros((1, 2)))
    np.testing.assert_array_equal(layer.kernel, 1)
    np.testing.assert_array_equal(layer.bias, 2)


# ----------------------------------------------------------------------- activations
def test_activation_functions():
    x = np.array([[-3.0, 0.0, 2.0]])
    np.testing.assert_array_equal(activations.relu(x), [[0, 0, 2]])
    np.testing.assert_allclose(activations.sigmoid(x), 1 / (1 + np.exp(-x)))
    np.testing.assert_allclose(activations.tanh(x), np.tanh(x))
    np.testing.assert_allclose(activations.softmax(x), np.exp(x) / np.exp(x).sum())
    assert activations.linear(x) is x
    big = activations.softmax(np.array([[1000.0, 0.0]]))
    np.testing.assert_allclose(big, [[1, 0]])
    assert np.all(np.isfinite(activations.sigmoid(np.array([-1000.0, 1000.0]))))
    assert activations.get(None) is activations.linear
    assert activations.get("ReLU") is activations.relu
    assert activations.serialize(activations.softmax) == "softmax"
    with pytest.raises(ValueError, match="no known gradient"):
        activations.get(lambda v: v)
