"""Conv2DTranspose, DepthwiseConv2D, SeparableConv2D, Conv1D and the 1-D pooling layers:
forward against plain float64 NumPy references (tests/layers_reference.py), backward against
float64 finite differences, Keras's parameter-count formulas, configs and errors."""

import numpy as np
import pytest

import fastconv
import layers_reference as lref
from fastconv import layers
from layercheck import check_layer, roundtrip_config

F64 = {"dtype": "float64"}


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    before = fastconv.get_num_threads()
    fastconv.set_num_threads(1)
    yield
    fastconv.set_num_threads(before)


def _x(*shape, seed=1):
    return np.random.default_rng(seed).standard_normal(shape)


def _nchw(a):
    return np.ascontiguousarray(a.transpose(0, 3, 1, 2))


def _nhwc(a):
    return np.ascontiguousarray(a.transpose(0, 2, 3, 1))


# ------------------------------------------------------------------ Conv2DTranspose
@pytest.mark.parametrize("kwargs, shape", [
    (dict(filters=3, kernel_size=3), (2, 4, 5, 2)),
    (dict(filters=2, kernel_size=3, strides=2, padding="same"), (2, 3, 4, 3)),
    (dict(filters=2, kernel_size=4, strides=2, padding="same"), (1, 3, 3, 2)),
    (dict(filters=2, kernel_size=(2, 3), strides=(2, 3), padding="valid"), (2, 3, 2, 2)),
    (dict(filters=3, kernel_size=3, strides=2, output_padding=1), (1, 3, 4, 2)),
    (dict(filters=2, kernel_size=3, strides=3, padding="same", output_padding=(2, 1)),
     (1, 2, 3, 2)),
    (dict(filters=2, kernel_size=1, strides=2, padding="same"), (1, 3, 3, 2)),
    (dict(filters=2, kernel_size=3, dilation_rate=2, padding="same"), (1, 5, 4, 2)),
    (dict(filters=2, kernel_size=2, strides=3), (1, 2, 2, 1)),  # stride > kernel: gaps
    (dict(filters=1, kernel_size=5, padding="same"), (1, 2, 2, 1)),  # kernel > input
])
def test_conv2d_transpose_matches_reference(kwargs, shape):
    layer = layers.Conv2DTranspose(**kwargs, bias_initializer="random_normal", **F64)

    def reference(x, kernel, bias):
        return lref.conv2d_transpose(x, kernel, bias, layer.strides, layer.padding,
                                     layer.output_padding, layer.dilation_rate)

    check_layer(layer, _x(*shape), reference)


def test_conv2d_transpose_channels_first_and_activation():
    layer = layers.Conv2DTranspose(3, 3, strides=2, padding="same", output_padding=1,
                                   data_format="channels_first", activation="tanh", **F64)

    def reference(x, kernel, bias):
        return _nchw(np.tanh(lref.conv2d_transpose(_nhwc(x), kernel, bias, (2, 2), "same",
                                                   (1, 1), (1, 1))))

    check_layer(layer, _x(2, 2, 3, 4), reference)


def test_conv2d_transpose_float32_and_relu():
    layer = layers.Conv2DTranspose(4, 3, strides=2, padding="same", activation="relu")
    x = _x(2, 5, 6, 3).astype(np.float32)
    y = layer(x)
    assert y.dtype == np.float32 and y.shape == (2, 10, 12, 4)
    expected = np.maximum(lref.conv2d_transpose(x.astype(np.float64), layer.kernel, layer.bias,
                                                (2, 2), "same", None, (1, 1)), 0)
    np.testing.assert_allclose(y, expected, rtol=1e-5, atol=1e-5)


def test_conv2d_transpose_inverts_conv2d_shapes():
    # The shape a strided "same" Conv2D divides by, Conv2DTranspose multiplies back.
    down = layers.Conv2D(4, 3, strides=2, padding="same")
    up = layers.Conv2DTranspose(3, 3, strides=2, padding="same")
    assert up(down(np.zeros((1, 8, 6, 3)))).shape == (1, 8, 6, 3)


def test_conv2d_transpose_params_and_config():
    layer = layers.Conv2DTranspose(8, (3, 2), strides=2, output_padding=1)
    layer.build_for((None, 5, 5, 6))
    # Keras: kernel (KH, KW, filters, channels) + bias (filters,)
    assert layer.kernel.shape == (3, 2, 8, 6)
    assert layer.count_params() == 3 * 2 * 8 * 6 + 8
    assert layer.compute_output_shape((None, 5, 5, 6)) == (None, 12, 11, 8)
    config = roundtrip_config(layer).get_config()
    assert config["output_padding"] == (1, 1) and "groups" not in config


def test_conv2d_transpose_errors():
    with pytest.raises(ValueError, match="Strides must be greater than output padding"):
        layers.Conv2DTranspose(2, 3, strides=2, output_padding=2)
    with pytest.raises(ValueError, match="output size would be zero"):
        layers.Conv2DTranspose(2, 2, padding="same", output_padding=0)(np.zeros((1, 1, 1, 1)))
    layer = layers.Conv2DTranspose(2, 3)
    layer(np.zeros((1, 4, 4, 3)))
    with pytest.raises(ValueError, match="expected axis -1 of input shape to have value 3"):
        layer(np.zeros((1, 4, 4, 2)))
    with pytest.raises(ValueError, match="expects 3 input channels"):
        fastconv.ops.conv2d_transpose(np.zeros((1, 4, 4, 2)), np.zeros((3, 3, 2, 3)))


# ------------------------------------------------------------------ DepthwiseConv2D
@pytest.mark.parametrize("kwargs, shape", [
    (dict(kernel_size=3), (2, 5, 6, 3)),
    (dict(kernel_size=3, depth_multiplier=2, padding="same", strides=2), (1, 5, 5, 2)),
    (dict(kernel_size=(2, 3), dilation_rate=2, depth_multiplier=3, use_bias=False), (1, 6, 7, 2)),
    (dict(kernel_size=1, depth_multiplier=2), (2, 3, 3, 1)),
])
def test_depthwise_conv2d_matches_reference(kwargs, shape):
    layer = layers.DepthwiseConv2D(**kwargs, bias_initializer="random_normal", **F64)

    def reference(x, kernel, bias=None):
        return lref.depthwise_conv2d(x, kernel, bias, layer.strides, layer.padding,
                                     layer.dilation_rate)

    check_layer(layer, _x(*shape), reference)


def test_depthwise_conv2d_channels_first():
    layer = layers.DepthwiseConv2D(3, depth_multiplier=2, padding="same",
                                   data_format="channels_first", **F64)
    check_layer(layer, _x(1, 3, 4, 5),
                lambda x, k, b: _nchw(lref.depthwise_conv2d(_nhwc(x), k, b, 1, "same", 1)))


def test_depthwise_conv2d_params_and_config():
    layer = layers.DepthwiseConv2D(3, depth_multiplier=2)
    assert layer(np.zeros((1, 6, 6, 5), np.float32)).shape == (1, 4, 4, 10)
    assert layer.kernel.shape == (3, 3, 5, 2)
    assert layer.count_params() == 3 * 3 * 5 * 2 + 5 * 2  # Keras: KH*KW*C*m + C*m
    config = roundtrip_config(layer).get_config()
    assert config["depth_multiplier"] == 2 and "filters" not in config
    assert "depthwise_initializer" in config and "kernel_initializer" not in config


# ------------------------------------------------------------------ SeparableConv2D
@pytest.mark.parametrize("kwargs, shape", [
    (dict(filters=3, kernel_size=3), (2, 5, 5, 2)),
    (dict(filters=4, kernel_size=3, depth_multiplier=2, strides=2, padding="same",
          activation="relu"), (1, 6, 5, 3)),
    (dict(filters=2, kernel_size=2, use_bias=False, activation="sigmoid"), (1, 4, 4, 2)),
])
def test_separable_conv2d_matches_reference(kwargs, shape):
    layer = layers.SeparableConv2D(**kwargs, bias_initializer="random_normal", **F64)
    act = fastconv.activations.get(kwargs.get("activation"))

    def reference(x, depthwise, pointwise, bias=None):
        mid = lref.depthwise_conv2d(x, depthwise, None, layer.strides, layer.padding,
                                    layer.dilation_rate)
        y = np.einsum("nhwc,cf->nhwf", mid, pointwise[0, 0])
        return act(y if bias is None else y + bias)

    # x near zero would put a ReLU kink within the finite-difference step: shift it away.
    check_layer(layer, _x(*shape) + 0.05, reference)


def test_separable_conv2d_params_and_weights():
    layer = layers.SeparableConv2D(8, 3, depth_multiplier=2)
    layer(np.zeros((1, 7, 7, 4), np.float32))
    assert [w.shape for w in layer.weights] == [(3, 3, 4, 2), (1, 1, 8, 8), (8,)]
    assert layer.count_params() == 3 * 3 * 4 * 2 + 4 * 2 * 8 + 8
    config = roundtrip_config(layer).get_config()
    assert "pointwise_initializer" in config and "kernel_initializer" not in config


# ------------------------------------------------------------------ Conv1D
@pytest.mark.parametrize("kwargs, shape", [
    (dict(filters=3, kernel_size=3), (2, 7, 2)),
    (dict(filters=2, kernel_size=3, padding="same", strides=2), (2, 8, 3)),
    (dict(filters=2, kernel_size=3, padding="causal", dilation_rate=2), (1, 9, 2)),
    (dict(filters=4, kernel_size=2, groups=2, padding="causal"), (2, 5, 4)),
    (dict(filters=2, kernel_size=4, padding="same"), (1, 4, 1)),
])
def test_conv1d_matches_reference(kwargs, shape):
    layer = layers.Conv1D(**kwargs, bias_initializer="random_normal", **F64)

    def reference(x, kernel, bias):
        return lref.conv1d(x, kernel, bias, layer.strides[0], layer.padding,
                           layer.dilation_rate[0], layer.groups)

    check_layer(layer, _x(*shape), reference)


def test_conv1d_channels_first_and_causality():
    layer = layers.Conv1D(2, 3, padding="causal", data_format="channels_first", **F64)
    x = _x(1, 3, 6)

    def reference(x, kernel, bias):
        return lref.conv1d(x.transpose(0, 2, 1), kernel, bias, 1, "causal", 1).transpose(0, 2, 1)

    y = check_layer(layer, x, reference)
    later = x.copy()
    later[:, :, 4:] += 1.0  # changing steps 4, 5 must not move outputs 0..3
    np.testing.assert_allclose(layer(later)[:, :, :4], y[:, :, :4])


def test_conv1d_params_shapes_and_errors():
    layer = layers.Conv1D(6, 5, groups=2)
    layer(np.zeros((1, 10, 4), np.float32))
    assert layer.kernel.shape == (5, 2, 6)
    assert layer.count_params() == 5 * 2 * 6 + 6
    config = roundtrip_config(layer).get_config()
    assert config["kernel_size"] == (5,) and config["strides"] == (1,)
    assert layers.Conv1D(2, 3, padding="causal").get_config()["padding"] == "causal"
    with pytest.raises(ValueError, match="expected ndim=3"):
        layers.Conv1D(2, 3)(np.zeros((1, 5, 5, 1)))
    with pytest.raises(ValueError, match="kernel_size"):
        layers.Conv1D(2, (3, 3))
    with pytest.raises(ValueError, match="padding"):
        layers.Conv1D(2, 3, padding="full")


# ------------------------------------------------------------------ 1-D pooling
@pytest.mark.parametrize("cls, kind", [(layers.MaxPooling1D, "max"),
                                       (layers.AveragePooling1D, "avg")])
@pytest.mark.parametrize("kwargs", [dict(), dict(pool_size=3, strides=2),
                                    dict(pool_size=3, strides=2, padding="same")])
def test_pooling1d_matches_reference(cls, kind, kwargs):
    layer = cls(**kwargs, **F64)
    x = _x(2, 7, 3)
    expected = lref.pool1d(x, kind, layer.pool_size[0], layer.strides[0], layer.padding)
    check_layer(layer, x, lambda x: expected)


def test_pooling1d_channels_first():
    layer = layers.MaxPooling1D(2, data_format="channels_first", **F64)
    x = _x(1, 3, 6)
    check_layer(layer, x, lambda x: lref.pool1d(x.transpose(0, 2, 1), "max", 2, 2,
                                                "valid").transpose(0, 2, 1))


@pytest.mark.parametrize("cls, reduce", [(layers.GlobalAveragePooling1D, np.mean),
                                         (layers.GlobalMaxPooling1D, np.max)])
@pytest.mark.parametrize("data_format, keepdims", [("channels_last", False),
                                                   ("channels_first", True)])
def test_global_pooling1d(cls, reduce, data_format, keepdims):
    layer = cls(data_format=data_format, keepdims=keepdims, **F64)
    axis = 1 if data_format == "channels_last" else 2
    check_layer(layer, _x(2, 5, 3), lambda x: reduce(x, axis=axis, keepdims=keepdims))
    roundtrip_config(layer)


# ------------------------------------------------------------------ in models
def test_models_with_the_new_convolutions_train_save_and_load(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((32, 8, 8, 2)).astype(np.float32)
    autoencoder = fastconv.Sequential([
        fastconv.Input((8, 8, 2)),
        layers.SeparableConv2D(4, 3, padding="same", activation="relu"),
        layers.DepthwiseConv2D(3, strides=2, padding="same", depth_multiplier=2),
        layers.Conv2DTranspose(2, 3, strides=2, padding="same"),
    ])
    autoencoder.compile(optimizer=fastconv.optimizers.Adam(0.01), loss="mse")
    history = autoencoder.fit(x, x, epochs=8, batch_size=8, verbose=0)
    assert history.history["loss"][-1] < 0.8 * history.history["loss"][0]
    path = tmp_path / "ae.keras"
    autoencoder.save(path)
    loaded = fastconv.models.load_model(path)
    np.testing.assert_allclose(loaded.predict(x, verbose=0), autoencoder.predict(x, verbose=0),
                               rtol=1e-6, atol=1e-6)

    seq = rng.standard_normal((32, 12, 3)).astype(np.float32)
    labels = (seq[:, :, 0].sum(axis=1) > 0).astype(np.int64)
    classifier = fastconv.Sequential([
        fastconv.Input((12, 3)),
        layers.Conv1D(8, 3, padding="causal", activation="relu"),
        layers.MaxPooling1D(2),
        layers.GlobalAveragePooling1D(),
        layers.Dense(2, activation="softmax"),
    ])
    classifier.compile(optimizer=fastconv.optimizers.Adam(0.02),
                       loss="sparse_categorical_crossentropy")
    history = classifier.fit(seq, labels, epochs=10, batch_size=8, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]
    path = tmp_path / "seq.keras"
    classifier.save(path)
    np.testing.assert_allclose(fastconv.models.load_model(path).predict(seq, verbose=0),
                               classifier.predict(seq, verbose=0), rtol=1e-6, atol=1e-6)
