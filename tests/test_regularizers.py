"""Regularizers: Keras 3's penalties, and gradients checked by float64 central differences."""

import json

import numpy as np
import pytest

import fastconv as keras
from fastconv import regularizers


def finite_difference(f, x, h=1e-6):
    """Central differences of the scalar f at every entry of the float64 array x."""
    grad = np.zeros_like(x)
    for index in np.ndindex(x.shape):
        plus, minus = x.copy(), x.copy()
        plus[index] += h
        minus[index] -= h
        grad[index] = (f(plus) - f(minus)) / (2 * h)
    return grad


def weights(shape, seed=0):
    x = np.random.default_rng(seed).standard_normal(shape)
    return np.where(np.abs(x) < 1e-3, 0.1, x)  # keep |x| away from the kink of |.| at 0


@pytest.mark.parametrize("regularizer,penalty", [
    (regularizers.L1(0.3), lambda x: 0.3 * np.sum(np.abs(x))),
    (regularizers.L2(0.2), lambda x: 0.2 * np.sum(x * x)),
    (regularizers.L1L2(l1=0.05, l2=0.4), lambda x: 0.05 * np.sum(np.abs(x)) + 0.4 * np.sum(x * x)),
    (regularizers.L1L2(l2=0.1), lambda x: 0.1 * np.sum(x * x)),
], ids=["L1", "L2", "L1L2", "L1L2-l2-only"])
def test_penalty_and_gradient(regularizer, penalty):
    for shape in [(3, 3, 2, 4), (5, 3), (7,)]:
        x = weights(shape)
        assert regularizer(x) == pytest.approx(penalty(x), rel=1e-12)
        grad = regularizer.gradient(x)
        assert grad.shape == x.shape and grad.dtype == x.dtype
        np.testing.assert_allclose(grad, finite_difference(regularizer, x), rtol=1e-6, atol=1e-8)
    assert regularizer.gradient(np.ones(3, np.float32)).dtype == np.float32


def test_keras_docstring_values_and_defaults():
    assert regularizers.L2(2.0)(np.ones((5, 5))) == 50.0  # Keras's "Directly calling" example
    assert regularizers.L1().l1 == 0.01 and regularizers.L2().l2 == 0.01
    assert regularizers.L1L2().get_config() == {"l1": 0.0, "l2": 0.0}
    assert regularizers.L1(None).l1 == 0.01 and regularizers.L1L2(None, None).l2 == 0.0
    assert regularizers.L1(0.1).gradient(np.array([0.0, -2.0])).tolist() == [0.0, -0.1]


def test_keras_namespace_and_aliases():
    assert isinstance(keras.regularizers.L2(1e-4), regularizers.L2)
    assert keras.regularizers.l2 is regularizers.L2 and keras.regularizers.l1_l2 is regularizers.L1L2


def orthogonal_penalty(x, factor, mode):
    """Keras's definition written out: mean |cosine| over the distinct pairs of rows (columns)."""
    rows = x if mode == "rows" else x.T
    n = len(rows)
    total = 0.0
    for i in range(n):
        for j in range(n):
            if i != j:
                total += abs(rows[i] @ rows[j]) / (np.linalg.norm(rows[i]) * np.linalg.norm(rows[j]))
    return factor * 0.5 * total / (n * (n - 1) / 2)


@pytest.mark.parametrize("mode", ["rows", "columns"])
def test_orthogonal_regularizer(mode):
    x = weights((4, 6), seed=3)
    regularizer = regularizers.OrthogonalRegularizer(factor=0.3, mode=mode)
    assert regularizer(x) == pytest.approx(orthogonal_penalty(x, 0.3, mode), rel=1e-12)
    np.testing.assert_allclose(regularizer.gradient(x), finite_difference(regularizer, x),
                               rtol=1e-6, atol=1e-9)
    orthonormal = np.eye(4)
    assert regularizer(orthonormal) == 0.0


@pytest.mark.parametrize("identifier,expected", [
    ("l1", regularizers.L1(0.01)), ("l2", regularizers.L2(0.01)),
    ("l1_l2", regularizers.L1L2(0.01, 0.01)), ("l1l2", regularizers.L1L2(0.0, 0.0)),
    ("L2", regularizers.L2()), ("orthogonal_regularizer", regularizers.OrthogonalRegularizer()),
    ({"class_name": "L1L2", "config": {"l1": 0.5, "l2": 0.25}}, regularizers.L1L2(0.5, 0.25)),
    (regularizers.L1, regularizers.L1()),
])
def test_get(identifier, expected):
    got = regularizers.get(identifier)
    assert type(got) is type(expected) and got.get_config() == expected.get_config()


def test_get_passes_none_and_instances_through():
    reg = regularizers.L2(0.5)
    assert regularizers.get(None) is None and regularizers.get(reg) is reg


@pytest.mark.parametrize("regularizer", [regularizers.L1(0.2), regularizers.L2(3e-4),
                                         regularizers.L1L2(0.1, 0.2),
                                         regularizers.OrthogonalRegularizer(0.5, "columns")])
def test_config_round_trip(regularizer):
    config = json.loads(json.dumps(regularizers.serialize(regularizer)))
    assert config["module"] == "keras.regularizers"
    rebuilt = regularizers.deserialize(config)
    assert type(rebuilt) is type(regularizer) and rebuilt.get_config() == regularizer.get_config()


@pytest.mark.parametrize("make,error,match", [
    (lambda: regularizers.L1(-0.1), ValueError, r"`l1`.*Received: l1=-0.1"),
    (lambda: regularizers.L2("big"), ValueError, "l2"),
    (lambda: regularizers.L1L2(l2=float("inf")), ValueError, "l2"),
    (lambda: regularizers.L1L2(l1=float("nan")), ValueError, "l1"),
    (lambda: regularizers.OrthogonalRegularizer(factor=-1), ValueError, "factor"),
    (lambda: regularizers.OrthogonalRegularizer(mode="diagonal"), ValueError, "mode=diagonal"),
    (lambda: regularizers.OrthogonalRegularizer()(np.ones((2, 2, 2))), ValueError, r"rank 2.*\(2, 2, 2\)"),
    (lambda: regularizers.OrthogonalRegularizer(mode="columns").gradient(np.ones((3, 1))), ValueError, "at least 2"),
    (lambda: regularizers.get("l3"), ValueError, "regularizer identifier: 'l3'"),
    (lambda: regularizers.get(lambda w: 0.0), ValueError, "gradient"),
    (lambda: regularizers.deserialize({"class_name": "L9", "config": {}}), ValueError, "Unknown regularizer"),
    (lambda: regularizers.Regularizer().gradient(np.ones(2)), NotImplementedError, "gradient"),
])
def test_errors(make, error, match):
    with pytest.raises(error, match=match):
        make()
