"""Constraints: Keras 3's projections against plain NumPy formulas, for Dense and Conv2D kernel layouts."""

import json

import numpy as np
import pytest

import fastconv as keras
from fastconv import constraints

EPSILON = 1e-7  # keras.backend.epsilon()


def column_norms(w, axis):
    """The L2 norm over `axis` (an int or a list), written with an explicit loop over the kept axes."""
    axes = [axis] if isinstance(axis, int) else list(axis)
    axes = [a % w.ndim for a in axes]
    kept = [a for a in range(w.ndim) if a not in axes]
    moved = np.moveaxis(w, kept, list(range(len(kept))))
    norms = np.empty(moved.shape[:len(kept)])
    for index in np.ndindex(norms.shape):
        norms[index] = np.sqrt(np.sum(moved[index] ** 2))
    shape = [1 if a in axes else w.shape[a] for a in range(w.ndim)]
    return norms.reshape(shape)


SHAPES = [((6, 4), 0), ((6, 4), 1), ((3, 3, 2, 5), [0, 1, 2]), ((3, 3, 2, 5), 3), ((3, 3, 2, 5), -1)]


@pytest.mark.parametrize("shape,axis", SHAPES)
def test_max_norm(shape, axis):
    w = np.random.default_rng(1).standard_normal(shape)
    norms = column_norms(w, axis)
    expected = w * np.minimum(norms, 1.5) / (EPSILON + norms)
    np.testing.assert_allclose(constraints.MaxNorm(1.5, axis=axis)(w), expected, rtol=1e-12)
    out = column_norms(constraints.MaxNorm(1.5, axis=axis)(w), axis)
    np.testing.assert_allclose(out, np.minimum(norms, 1.5), rtol=1e-6)  # long columns shrink to 1.5


@pytest.mark.parametrize("shape,axis", SHAPES)
def test_unit_norm(shape, axis):
    w = np.random.default_rng(2).standard_normal(shape)
    out = constraints.UnitNorm(axis=axis)(w)
    np.testing.assert_allclose(out, w / (EPSILON + column_norms(w, axis)), rtol=1e-12)
    np.testing.assert_allclose(column_norms(out, axis), 1.0, rtol=1e-6)


@pytest.mark.parametrize("shape,axis", SHAPES)
@pytest.mark.parametrize("rate", [1.0, 0.3])
def test_min_max_norm(shape, axis, rate):
    w = np.random.default_rng(3).standard_normal(shape) * 0.8
    norms = column_norms(w, axis)
    desired = rate * np.clip(norms, 1.0, 2.0) + (1 - rate) * norms
    np.testing.assert_allclose(constraints.MinMaxNorm(1.0, 2.0, rate, axis)(w),
                               w * desired / (EPSILON + norms), rtol=1e-12)


def test_non_neg_and_dtypes():
    w = np.array([[-1.5, 0.0], [2.0, -0.0]], np.float32)
    out = constraints.NonNeg()(w)
    assert out.dtype == np.float32 and out.tolist() == [[0.0, 0.0], [2.0, 0.0]]
    assert constraints.MaxNorm()(w).dtype == np.float32
    assert constraints.UnitNorm()(np.zeros((3, 2))).tolist() == [[0.0, 0.0]] * 3  # no NaN


def test_keras_defaults_and_names():
    assert constraints.MaxNorm().get_config() == {"max_value": 2, "axis": 0}
    assert constraints.UnitNorm().get_config() == {"axis": 0}
    assert constraints.MinMaxNorm().get_config() == {"min_value": 0.0, "max_value": 1.0,
                                                     "rate": 1.0, "axis": 0}
    assert constraints.NonNeg().get_config() == {}
    assert keras.constraints.max_norm is constraints.MaxNorm
    assert isinstance(keras.constraints.NonNeg(), constraints.Constraint)


@pytest.mark.parametrize("constraint", [constraints.MaxNorm(3, axis=[0, 1, 2]), constraints.NonNeg(),
                                        constraints.UnitNorm(axis=1), constraints.MinMaxNorm(0.5, 2.0, 0.7)])
def test_config_round_trip(constraint):
    config = json.loads(json.dumps(constraints.serialize(constraint)))
    assert config["module"] == "keras.constraints"
    rebuilt = constraints.deserialize(config)
    assert type(rebuilt) is type(constraint) and rebuilt.get_config() == constraint.get_config()
    w = np.random.default_rng(4).standard_normal((3, 3, 2, 4))
    np.testing.assert_array_equal(rebuilt(w), constraint(w))


def test_get():
    assert type(constraints.get("max_norm")) is constraints.MaxNorm
    assert type(constraints.get("NonNeg")) is constraints.NonNeg
    assert constraints.get({"class_name": "UnitNorm", "config": {"axis": 1}}).axis == 1
    assert constraints.get(None) is None
    clip = constraints.MinMaxNorm()
    assert constraints.get(clip) is clip
    assert type(constraints.get(constraints.UnitNorm)) is constraints.UnitNorm
    function = np.abs
    assert constraints.get(function) is function  # any callable w -> w, as in Keras


@pytest.mark.parametrize("make,match", [
    (lambda: constraints.MaxNorm(-1), "max_value"),
    (lambda: constraints.MaxNorm(axis="rows"), "axis"),
    (lambda: constraints.MinMaxNorm(2.0, 1.0), "max_value"),
    (lambda: constraints.MinMaxNorm(rate=1.5), "rate"),
    (lambda: constraints.UnitNorm(axis=2)(np.ones((3, 4))), r"axis=2.*\(3, 4\)"),
    (lambda: constraints.get("max"), "constraint identifier: 'max'"),
    (lambda: constraints.deserialize({"class_name": "Clip", "config": {}}), "Unknown constraint"),
])
def test_errors(make, match):
    with pytest.raises(ValueError, match=match):
        make()
