"""fastconv.utils: to_categorical (Keras semantics) and set_random_seed."""

import random

import numpy as np
import pytest

from fastconv import backend, utils


def test_to_categorical_basic_and_dtype():
    out = utils.to_categorical([0, 2, 1])
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out, np.eye(3)[[0, 2, 1]])
    assert utils.to_categorical([1], num_classes=4, dtype="int64").tolist() == [[0, 1, 0, 0]]


def test_to_categorical_shapes_like_keras():
    assert utils.to_categorical(np.array([[1], [2]])).shape == (2, 3)  # (n, 1) -> (n, C)
    assert utils.to_categorical(np.zeros((2, 3), np.uint8), 5).shape == (2, 3, 5)
    assert utils.to_categorical(np.zeros((2, 3, 1)), 5).shape == (2, 3, 5)
    assert utils.to_categorical(np.array(3), 5).shape == (5,)
    assert utils.to_categorical(np.array([2.0, 0.0])).tolist() == [[0, 0, 1], [1, 0, 0]]


def test_to_categorical_errors():
    with pytest.raises(ValueError, match="< num_classes=3"):
        utils.to_categorical([3], num_classes=3)
    with pytest.raises(ValueError, match=">= 0"):
        utils.to_categorical([-1, 1])
    with pytest.raises(ValueError, match="non-integer"):
        utils.to_categorical([0.5])
    with pytest.raises(ValueError, match="integer class labels"):
        utils.to_categorical(["a"])


def test_set_random_seed_reseeds_everything():
    utils.set_random_seed(123)
    a = (backend.random_generator().random(), np.random.rand(), random.random())
    utils.set_random_seed(123)
    b = (backend.random_generator().random(), np.random.rand(), random.random())
    assert a == b
    with pytest.raises(ValueError, match="integer"):
        utils.set_random_seed(1.5)
