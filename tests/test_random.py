"""keras.random: Keras 3's seeding rules (int: the same draw; SeedGenerator: a new,
reproducible draw per call), the distributions' moments and ranges, dropout's scaling and
gradient, and argument errors."""

import numpy as np
import pytest

import fastconv as keras
from fastconv.autodiff import GradientTape


def test_int_seed_repeats_and_seed_generator_advances_reproducibly():
    np.testing.assert_array_equal(keras.random.normal((5,), seed=3), keras.random.normal((5,), seed=3))
    first, second = keras.random.SeedGenerator(7), keras.random.SeedGenerator(7)
    a1, a2 = keras.random.uniform((5,), seed=first), keras.random.uniform((5,), seed=first)
    assert not np.array_equal(a1, a2)
    np.testing.assert_array_equal(a1, keras.random.uniform((5,), seed=second))
    np.testing.assert_array_equal(a2, keras.random.uniform((5,), seed=second))


def test_set_random_seed_makes_unseeded_draws_reproducible():
    keras.utils.set_random_seed(11)
    a = keras.random.normal((4,))
    keras.utils.set_random_seed(11)
    np.testing.assert_array_equal(a, keras.random.normal((4,)))


def test_distributions_moments_ranges_and_dtypes():
    x = keras.random.normal((200_000,), mean=2.0, stddev=3.0, seed=0)
    assert x.dtype == np.float32
    assert abs(x.mean() - 2.0) < 0.05 and abs(x.std() - 3.0) < 0.05
    t = keras.random.truncated_normal((100_000,), mean=1.0, stddev=0.5, seed=0, dtype="float64")
    assert t.dtype == np.float64 and np.abs(t - 1.0).max() <= 1.0
    # a standard normal cut at +-2 has standard deviation ~0.8796
    assert abs(t.std() / 0.5 - 0.8796) < 0.01
    u = keras.random.uniform((10_000, 3), minval=-1.0, maxval=3.0, seed=1)
    assert u.shape == (10_000, 3) and u.min() >= -1.0 and u.max() < 3.0 and abs(u.mean() - 1.0) < 0.05
    r = keras.random.randint((1000,), 2, 5, seed=2)
    assert r.dtype == np.int32 and set(np.unique(r)) == {2, 3, 4}


def test_dropout_keeps_the_expected_value_and_passes_the_mask_as_gradient():
    x = np.full((400, 500), 3.0, np.float32)
    y = keras.random.dropout(x, rate=0.25, seed=5)
    assert y.dtype == np.float32
    assert set(np.unique(y)) == {0.0, 4.0}  # kept entries scaled by 1 / (1 - rate)
    assert abs((y == 0).mean() - 0.25) < 0.01
    with GradientTape() as tape:
        traced = tape.watch(np.full((3, 4), 2.0))
        out = keras.random.dropout(traced, rate=0.5, seed=9)
        total = np.sum(out)
    (grad,) = tape.gradient(total, [traced])
    np.testing.assert_array_equal(grad, np.asarray(out) / 2.0)  # d out / d x = mask / (1 - rate)


def test_dropout_noise_shape_drops_whole_feature_maps():
    y = keras.random.dropout(np.ones((2, 4, 4, 8)), rate=0.5, noise_shape=(None, 1, 1, 8), seed=1)
    per_map = y.reshape(2, 16, 8)
    assert (per_map == per_map[:, :1, :]).all()


def test_shuffle_permutes_along_an_axis_and_categorical_follows_softmax():
    x = np.arange(12).reshape(3, 4)
    shuffled = keras.random.shuffle(x, axis=1, seed=0)
    np.testing.assert_array_equal(np.sort(shuffled, axis=1), x)
    logits = np.log([[0.2, 0.5, 0.3], [0.9, 0.05, 0.05]])
    samples = keras.random.categorical(logits, 20_000, seed=3)
    assert samples.shape == (2, 20_000) and samples.dtype == np.int32
    freq = np.stack([np.bincount(row, minlength=3) / 20_000 for row in samples])
    np.testing.assert_allclose(freq, np.exp(logits), atol=0.015)


def test_errors_name_the_argument():
    with pytest.raises(ValueError, match="rate"):
        keras.random.dropout(np.ones(3), rate=1.0)
    with pytest.raises(ValueError, match="seed"):
        keras.random.normal((2,), seed="abc")
    with pytest.raises(ValueError, match="dtype"):
        keras.random.normal((2,), dtype="int32")
