"""LayerNormalization, SpatialDropout1D/2D, GaussianNoise, Identity and Embedding: forward
against NumPy formulas, backward against float64 finite differences, configs and errors."""

import numpy as np
import pytest

import fastconv
from fastconv import layers
from layercheck import check_layer, roundtrip_config

F64 = {"dtype": "float64"}


def _x(*shape, seed=1):
    return np.random.default_rng(seed).standard_normal(shape)


@pytest.mark.parametrize("axis, shape", [(-1, (3, 5)), (-1, (2, 3, 4)), ([1, 2], (2, 3, 4)),
                                         (1, (2, 3, 4))])
def test_layer_normalization(axis, shape):
    layer = layers.LayerNormalization(axis=axis, gamma_initializer="random_normal",
                                      beta_initializer="random_normal", **F64)
    axes = tuple(np.atleast_1d(axis) % len(shape))

    def reference(x, gamma, beta):
        mean = x.mean(axis=axes, keepdims=True)
        var = x.var(axis=axes, keepdims=True)
        bshape = [shape[i] if i in axes else 1 for i in range(len(shape))]
        return (x - mean) / np.sqrt(var + 1e-3) * gamma.reshape(bshape) + beta.reshape(bshape)

    check_layer(layer, _x(*shape), reference)
    assert layer.count_params() == 2 * int(np.prod([shape[a] for a in axes]))
    roundtrip_config(layer)


def test_layer_normalization_options_and_errors():
    layer = layers.LayerNormalization(center=False, **F64)
    check_layer(layer, _x(2, 4), lambda x, gamma: (x - x.mean(-1, keepdims=True))
                / np.sqrt(x.var(-1, keepdims=True) + 1e-3) * gamma)
    assert [w.shape for w in layer.weights] == [(4,)]
    with pytest.raises(ValueError, match="rms_scaling"):
        layers.LayerNormalization(rms_scaling=True)
    with pytest.raises(ValueError, match="non-batch axes"):
        layers.LayerNormalization(axis=0)(np.zeros((2, 3)))


def test_spatial_dropout2d_drops_whole_channels():
    layer = layers.SpatialDropout2D(0.5, seed=3)
    x = np.ones((4, 5, 6, 8), np.float32)
    y = layer(x, training=True)
    per_channel = y.reshape(4, 30, 8)
    assert (per_channel == per_channel[:, :1]).all()  # one value per (sample, channel)
    assert set(np.unique(y)) <= {0.0, 2.0} and 0 < (y == 0).mean() < 1
    # Its backward pass applies the same mask.
    np.testing.assert_array_equal(layer.backward(np.ones_like(y)), y)
    np.testing.assert_array_equal(layer(x), x)  # inference: the identity
    first = layers.SpatialDropout2D(0.5, data_format="channels_first", seed=3)(
        np.ones((4, 8, 5, 6), np.float32), training=True)
    assert (first == first[:, :, :1, :1]).all()
    assert roundtrip_config(layer).get_config()["rate"] == 0.5


def test_spatial_dropout1d():
    y = layers.SpatialDropout1D(0.5, seed=1)(np.ones((3, 7, 6)), training=True)
    assert (y == y[:, :1]).all() and 0 < (y == 0).mean() < 1


def test_gaussian_noise():
    layer = layers.GaussianNoise(0.5, seed=0)
    x = np.zeros((200, 100))
    noise = layer(x, training=True)
    assert abs(noise.std() - 0.5) < 0.01 and abs(noise.mean()) < 0.01
    np.testing.assert_array_equal(layer(x), x)
    np.testing.assert_array_equal(layer.backward(np.ones_like(x)), np.ones_like(x))
    with pytest.raises(ValueError, match="stddev=-1"):
        layers.GaussianNoise(-1)
    roundtrip_config(layer)


def test_identity():
    check_layer(layers.Identity(**F64), _x(2, 3), lambda x: x)


def test_embedding():
    layer = layers.Embedding(7, 3, **F64)
    indices = np.array([[0, 3, 3], [6, 1, 0]])
    y = layer(indices)
    table = np.asarray(layer.embeddings)
    np.testing.assert_array_equal(y, table[indices])
    assert np.abs(table).max() <= 0.05  # Keras's "uniform": [-0.05, 0.05]
    assert layer.count_params() == 7 * 3
    dy = _x(2, 3, 3)
    layer.backward(dy)
    expected = np.zeros((7, 3))
    for (i, j), index in np.ndenumerate(indices):
        expected[index] += dy[i, j]
    np.testing.assert_allclose(layer.grads[0], expected)
    roundtrip_config(layer)


def test_embedding_inputs_and_errors():
    layer = layers.Embedding(5, 2, weights=np.arange(10.0).reshape(5, 2), input_length=3)
    assert layer(np.array([[4.0, 0.0]])).tolist() == [[[8.0, 9.0], [0.0, 1.0]]]
    with pytest.raises(ValueError, match=r"indices must be in \[0, 5\)"):
        layer(np.array([[5]]))
    with pytest.raises(ValueError, match="integer indices"):
        layer(np.array([[0.5]]))
    with pytest.raises(ValueError, match="mask_zero"):
        layers.Embedding(5, 2, mask_zero=True)


def test_embedding_model_learns():
    rng = np.random.default_rng(0)
    tokens = rng.integers(0, 10, size=(256, 6))
    labels = (tokens == 3).any(axis=1).astype(np.int64)
    model = fastconv.Sequential([
        fastconv.Input((6,)),
        layers.Embedding(10, 4),
        layers.GlobalAveragePooling1D(),
        layers.Dense(2, activation="softmax"),
    ])
    model.compile(optimizer=fastconv.optimizers.Adam(0.05),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    history = model.fit(tokens, labels, epochs=15, batch_size=32, verbose=0)
    assert history.history["accuracy"][-1] > 0.8


def test_integer_input_feeds_an_embedding(tmp_path):
    keras_input = fastconv.Input((3,), dtype="int32")
    assert keras_input.dtype == "int32"
    outputs = layers.Dense(2)(layers.Flatten()(layers.Embedding(5, 2)(keras_input)))
    model = fastconv.Model(keras_input, outputs)
    batch = np.array([[0, 4, 2], [1, 1, 3]])
    expected = model.predict(batch, verbose=0)
    model.save(tmp_path / "tokens.keras")
    loaded = fastconv.models.load_model(tmp_path / "tokens.keras")
    assert loaded.layers[0].dtype == "int32"
    np.testing.assert_allclose(loaded.predict(batch, verbose=0), expected, rtol=1e-6)
    with pytest.raises(ValueError, match="dtype"):
        fastconv.Input((3,), dtype="complex64")
