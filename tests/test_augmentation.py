"""Augmentation layers: identity at inference, seeding, exact geometry, fill modes, adjoints."""

import numpy as np
import pytest

import fastconv
from fastconv import backend, layers
from fastconv.models import Sequential


@pytest.fixture(autouse=True)
def _fresh_names():
    backend.clear_session()


def _images(shape=(3, 5, 6, 2), seed=0):
    return np.random.default_rng(seed).normal(size=shape).astype("float32")


def _all_layers(seed=None):
    return [layers.RandomFlip(seed=seed), layers.RandomRotation(0.2, seed=seed),
            layers.RandomTranslation(0.2, 0.3, seed=seed), layers.RandomZoom(0.3, seed=seed)]


def test_identity_at_inference():
    x = _images()
    for layer in _all_layers(seed=0):
        np.testing.assert_array_equal(layer(x, training=False), x)
        # Called without `training`, Keras 3's preprocessing layers augment.
        assert not np.array_equal(layer(x), x)


def test_seeded_layers_are_deterministic_and_keep_shapes():
    x = _images((4, 7, 7, 3))
    for first, second in zip(_all_layers(seed=7), _all_layers(seed=7)):
        out = first(x, training=True)
        assert out.shape == x.shape and out.dtype == x.dtype
        np.testing.assert_array_equal(out, second(x, training=True))
        assert not np.array_equal(out, x)  # something moved for at least one sample
    unbatched = layers.RandomRotation(0.1, seed=1)(x[0], training=True)
    assert unbatched.shape == x[0].shape


def test_flip_modes():
    x = _images((16, 3, 4, 1))
    out = layers.RandomFlip("horizontal", seed=0)(x, training=True)
    flipped = [np.array_equal(o, xi[:, ::-1]) for o, xi in zip(out, x)]
    assert all(f or np.array_equal(o, xi) for f, o, xi in zip(flipped, out, x))
    assert 0 < sum(flipped) < 16
    out = layers.RandomFlip("vertical", seed=0)(x, training=True)
    assert all(np.array_equal(o, xi) or np.array_equal(o, xi[::-1]) for o, xi in zip(out, x))
    out = layers.RandomFlip(seed=0)(x, training=True)
    options = lambda xi: [xi, xi[::-1], xi[:, ::-1], xi[::-1, ::-1]]
    assert all(any(np.array_equal(o, v) for v in options(xi)) for o, xi in zip(out, x))
    with pytest.raises(ValueError, match="unknown mode"):
        layers.RandomFlip("diagonal")


def test_zero_factors_are_exact_identities():
    x = _images()
    for layer in (layers.RandomRotation(0.0), layers.RandomZoom(0.0),
                  layers.RandomTranslation(0.0, 0.0), layers.RandomRotation(0.0, fill_mode="constant")):
        np.testing.assert_array_equal(layer(x, training=True), x)


def test_quarter_turn_is_counter_clockwise():
    x = _images((2, 5, 5, 1)).astype("float64")
    out = layers.RandomRotation((0.25, 0.25), dtype="float64")(x, training=True)
    np.testing.assert_allclose(out, np.rot90(x, k=1, axes=(1, 2)), atol=1e-12)


def test_translation_by_whole_pixels():
    x = np.arange(12.0).reshape(1, 3, 4, 1)
    # height 3 * 1/3 = 1 pixel down, width 4 * -0.25 = 1 pixel left.
    out = layers.RandomTranslation((1 / 3, 1 / 3), (-0.25, -0.25), fill_mode="constant",
                                   fill_value=-1.0)(x, training=True)
    expected = np.full((3, 4), -1.0)
    expected[1:, :3] = x[0, :2, 1:, 0]
    np.testing.assert_allclose(out[0, :, :, 0], expected, atol=1e-12)


@pytest.mark.parametrize("fill_mode, row", [
    ("reflect", [1, 0, 0, 1]),   # (d c b a | a b c d)
    ("wrap", [2, 3, 0, 1]),      # (a b c d | a b c d)
    ("nearest", [0, 0, 0, 1]),   # (a a a a | a b c d)
    ("constant", [9, 9, 0, 1]),  # (k k k k | a b c d)
])
def test_fill_modes_on_a_tiny_image(fill_mode, row):
    x = np.arange(4.0).reshape(1, 1, 4, 1)  # a b c d = 0 1 2 3
    layer = layers.RandomTranslation(0.0, (0.5, 0.5), fill_mode=fill_mode, fill_value=9.0)
    np.testing.assert_allclose(layer(x, training=True).ravel(), row, atol=1e-12)


def test_positive_zoom_factor_zooms_out():
    x = np.arange(9.0).reshape(1, 3, 3, 1)
    # zoom 1 + 1 = 2: output x reads input 2 * (x - 1) + 1 = -1, 1, 3.
    out = layers.RandomZoom((1.0, 1.0), fill_mode="constant")(x, training=True)
    expected = np.zeros((3, 3))
    expected[1, 1] = x[0, 1, 1, 0]
    np.testing.assert_allclose(out[0, :, :, 0], expected, atol=1e-12)
    zoom_in = layers.RandomZoom((-0.5, -0.5), width_factor=(0.0, 0.0), interpolation="nearest")
    out = zoom_in(np.arange(5.0).reshape(1, 5, 1, 1), training=True).ravel()
    np.testing.assert_allclose(out, [1, 2, 2, 3, 3])  # rows 2 + 0.5 * (y - 2), rounded half up


@pytest.mark.parametrize("make", [
    lambda: layers.RandomFlip(seed=3, dtype="float64"),
    lambda: layers.RandomRotation(0.3, seed=3, dtype="float64"),
    lambda: layers.RandomTranslation(0.3, 0.3, fill_mode="constant", seed=3, dtype="float64"),
    lambda: layers.RandomZoom(0.4, fill_mode="wrap", seed=3, dtype="float64"),
    lambda: layers.RandomZoom(0.4, interpolation="nearest", seed=3, dtype="float64"),
])
def test_backward_is_the_adjoint_of_the_transform(make):
    layer = make()
    rng = np.random.default_rng(4)
    x, d = rng.normal(size=(3, 5, 6, 2)), rng.normal(size=(3, 5, 6, 2))
    out = layer(x, training=True)
    np.testing.assert_allclose(np.sum(out * d), np.sum(x * layer.backward(d)), rtol=1e-12)


def test_augmentation_first_in_a_trained_model():
    model = Sequential([layers.Input(shape=(6, 6, 1)), layers.RandomFlip("horizontal", seed=0),
                        layers.RandomRotation(0.05, seed=0), layers.RandomZoom(0.1, seed=0),
                        layers.RandomTranslation(0.1, 0.1, seed=0), layers.Flatten(),
                        layers.Dense(2, activation="softmax")])
    model.compile(optimizer=fastconv.optimizers.Adam(0.01), loss="sparse_categorical_crossentropy")
    x = _images((16, 6, 6, 1))
    model.fit(x, (x.mean(axis=(1, 2, 3)) > 0).astype(int), epochs=2, batch_size=8, verbose=0)
    dense = model.layers[-1]
    np.testing.assert_allclose(model.predict(x), dense(x.reshape(16, -1)), rtol=1e-6)


def test_argument_errors():
    with pytest.raises(ValueError, match="fill_mode"):
        layers.RandomRotation(0.1, fill_mode="mirror")
    with pytest.raises(ValueError, match="interpolation"):
        layers.RandomZoom(0.1, interpolation="bicubic")
    with pytest.raises(ValueError, match="height_factor"):
        layers.RandomZoom(1.5)
    with pytest.raises(ValueError, match="factor"):
        layers.RandomRotation("big")
