"""keras.ops.numpy in fastconv: forward values against plain NumPy and Keras's dtype rules;
every differentiable op's gradient against float64 finite differences (tests/gradcheck.py)."""

import numpy as np
import pytest
from gradcheck import check_gradients

from fastconv import ops
from fastconv.autodiff import GradientTape, Traced

rng = np.random.default_rng(0)
A = rng.standard_normal((3, 4))
B = rng.standard_normal((3, 4))
POS = rng.uniform(0.5, 2.0, (3, 4))
ROW = rng.standard_normal(4)
UNIT = rng.uniform(-0.8, 0.8, (3, 4))
BIG = rng.uniform(1.5, 3.0, (3, 4))
DISTINCT = rng.permutation(12).reshape(3, 4) + rng.uniform(0, 0.1, (3, 4))  # no ties

UNARY = {  # op, its NumPy twin, an input where it is smooth
    "negative": (np.negative, A), "abs": (np.abs, A), "absolute": (np.absolute, A),
    "square": (np.square, A), "sqrt": (np.sqrt, POS), "cbrt": (np.cbrt, POS),
    "reciprocal": (np.reciprocal, POS), "exp": (np.exp, A), "exp2": (np.exp2, A),
    "expm1": (np.expm1, A), "log": (np.log, POS), "log1p": (np.log1p, POS),
    "log2": (np.log2, POS), "log10": (np.log10, POS), "sin": (np.sin, A), "cos": (np.cos, A),
    "tan": (np.tan, UNIT), "arcsin": (np.arcsin, UNIT), "arccos": (np.arccos, UNIT),
    "arctan": (np.arctan, A), "sinh": (np.sinh, A), "cosh": (np.cosh, A), "tanh": (np.tanh, A),
    "arcsinh": (np.arcsinh, A), "arccosh": (np.arccosh, BIG), "arctanh": (np.arctanh, UNIT),
}
BINARY = {
    "add": np.add, "subtract": np.subtract, "multiply": np.multiply, "divide": np.divide,
    "true_divide": np.true_divide, "power": np.power, "maximum": np.maximum,
    "minimum": np.minimum, "arctan2": np.arctan2, "logaddexp": np.logaddexp, "hypot": np.hypot,
}


@pytest.mark.parametrize("name", UNARY)
def test_unary_forward_and_gradient(name):
    op, (twin, x) = getattr(ops, name), UNARY[name]
    np.testing.assert_allclose(op(x), twin(x), rtol=1e-14)
    check_gradients(op, x)


@pytest.mark.parametrize("name", BINARY)
def test_binary_forward_and_gradient_with_broadcasting(name):
    op, twin = getattr(ops, name), BINARY[name]
    np.testing.assert_allclose(op(POS, ROW + 3), twin(POS, ROW + 3), rtol=1e-14)
    check_gradients(op, POS, ROW + 3)
    check_gradients(op, ROW + 3, POS)


def test_keras_dtype_rules():
    assert ops.exp(np.arange(3)).dtype == np.float32           # int -> floatx
    assert ops.divide(np.arange(3), 2).dtype == np.float32
    assert ops.add(np.ones(2, np.int32), np.ones(2, np.float32)).dtype == np.float32
    assert ops.add(np.ones(2, np.float32), 1.5).dtype == np.float32
    assert ops.multiply(np.arange(2), 1.5).dtype == np.float32         # int array, Python float
    assert ops.subtract(2.5, np.arange(2, dtype=np.int8)).dtype == np.float32
    assert ops.add(np.arange(2, dtype=np.int8), 1).dtype == np.int8
    assert ops.mean(np.arange(4)).dtype == np.float32
    assert ops.sum(np.ones(3, bool)).dtype == np.int32
    assert ops.argmax([1.0, 3.0]).dtype == np.int32
    assert ops.ones(2).dtype == ops.zeros(2).dtype == ops.eye(2).dtype == np.float32
    assert ops.full((2,), 3).dtype == np.float32
    assert ops.arange(3).dtype == np.int32 and ops.arange(0.0, 1.0, 0.5).dtype == np.float32
    assert ops.linspace(0, 1, 5).dtype == np.float32
    assert ops.ones_like(np.ones(2, np.int8)).dtype == np.int8


def test_creation_values():
    np.testing.assert_array_equal(ops.arange(2, 8, 3), [2, 5])
    np.testing.assert_allclose(ops.linspace(0, 1, 5), np.linspace(0, 1, 5))
    np.testing.assert_array_equal(ops.eye(3, 4, k=1), np.eye(3, 4, 1))
    np.testing.assert_array_equal(ops.identity(2), np.eye(2))
    np.testing.assert_array_equal(ops.tri(3, k=-1), np.tri(3, k=-1))
    np.testing.assert_array_equal(ops.full_like(A, 7), np.full_like(A, 7))
    np.testing.assert_array_equal(ops.zeros_like(A, dtype="int32"), np.zeros((3, 4), np.int32))
    assert ops.empty((2, 3)).shape == (2, 3)
    grids = ops.meshgrid([1.0, 2.0, 3.0], [4.0, 5.0])
    for got, want in zip(grids, np.meshgrid([1.0, 2.0, 3.0], [4.0, 5.0])):
        np.testing.assert_array_equal(got, want)
    for got, want in zip(ops.meshgrid([1, 2], [3, 4, 5], [6], indexing="ij"),
                         np.meshgrid([1, 2], [3, 4, 5], [6], indexing="ij")):
        np.testing.assert_array_equal(got, want)
    check_gradients(lambda a, b: ops.meshgrid(a, b), ROW, ROW[:3])
    check_gradients(lambda a, b: ops.meshgrid(a, b, a, indexing="ij"), ROW, ROW[:3])


REDUCTIONS = {
    "sum": (np.sum, {"axis": 1}), "sum_keep": (np.sum, {"axis": (0, 1), "keepdims": True}),
    "mean": (np.mean, {"axis": 0}), "max": (np.max, {"axis": 1}), "min": (np.min, {}),
    "prod": (np.prod, {"axis": 0}), "var": (np.var, {"axis": 1}),
    "std": (np.std, {"axis": 0, "keepdims": True}), "cumsum": (np.cumsum, {"axis": 1}),
    "cumprod": (np.cumprod, {"axis": 0}), "sort": (np.sort, {"axis": 0}),
    "amax": (np.amax, {"axis": 0}),
}


@pytest.mark.parametrize("case", REDUCTIONS)
def test_reductions_forward_and_gradient(case):
    twin, kwargs = REDUCTIONS[case]
    op = getattr(ops, case.split("_")[0])
    np.testing.assert_allclose(op(DISTINCT, **kwargs), twin(DISTINCT, **kwargs), rtol=1e-13)
    check_gradients(lambda x: op(x, **kwargs), DISTINCT)


def test_flat_scans_average_and_ties():
    np.testing.assert_allclose(ops.cumsum(A), np.cumsum(A))
    check_gradients(ops.cumsum, A)
    check_gradients(ops.cumprod, POS)
    weights = np.array([1.0, 2.0, 3.0, 4.0])
    np.testing.assert_allclose(ops.average(A, axis=1, weights=weights),
                               np.average(A, axis=1, weights=weights))
    check_gradients(lambda x, w: ops.average(x, axis=1, weights=w), A, weights)
    with GradientTape() as tape:
        x = tape.watch(np.array([1.0, 3.0, 3.0]))
        y = ops.max(x)
    np.testing.assert_array_equal(tape.gradient(y, x), [0, 0.5, 0.5])


def test_non_differentiable_reductions_give_constants():
    x = np.array([[1.0, -2.0], [0.0, 4.0]])
    np.testing.assert_array_equal(ops.argmin(x, axis=1), [1, 0])
    np.testing.assert_array_equal(ops.argsort([3.0, 1.0, 2.0]), [1, 2, 0])
    assert not ops.all(x) and ops.any(x) and int(ops.count_nonzero(x)) == 3
    with GradientTape() as tape:
        t = tape.watch(x)
        assert not isinstance(ops.argmax(t, axis=0), Traced)
        assert not isinstance(ops.any(t > 0), Traced)


SHAPE_OPS = {  # name: function of one array (A, 3x4), NumPy twin
    "reshape": (lambda x: ops.reshape(x, (4, 3)), lambda x: x.reshape(4, 3)),
    "transpose": (lambda x: ops.transpose(x), np.transpose),
    "expand_dims": (lambda x: ops.expand_dims(x, (0, 2)), lambda x: np.expand_dims(x, (0, 2))),
    "squeeze": (lambda x: ops.squeeze(x[None], 0), lambda x: x),
    "ravel": (ops.ravel, np.ravel),
    "swapaxes": (lambda x: ops.swapaxes(x, 0, 1), lambda x: np.swapaxes(x, 0, 1)),
    "moveaxis": (lambda x: ops.moveaxis(x[None], 0, 2), lambda x: np.moveaxis(x[None], 0, 2)),
    "concatenate": (lambda x: ops.concatenate([x, 2 * x], axis=1),
                    lambda x: np.concatenate([x, 2 * x], axis=1)),
    "append": (lambda x: ops.append(x, x[:1]), lambda x: np.append(x, x[:1])),
    "stack": (lambda x: ops.stack([x, x * x], axis=1), lambda x: np.stack([x, x * x], axis=1)),
    "hstack": (lambda x: ops.hstack([x, x]), lambda x: np.hstack([x, x])),
    "vstack": (lambda x: ops.vstack([x[0], x]), lambda x: np.vstack([x[0], x])),
    "tile": (lambda x: ops.tile(x, (2, 1, 3)), lambda x: np.tile(x, (2, 1, 3))),
    "tile_int": (lambda x: ops.tile(x, 2), lambda x: np.tile(x, 2)),
    "repeat": (lambda x: ops.repeat(x, 2, axis=1), lambda x: np.repeat(x, 2, axis=1)),
    "repeat_counts": (lambda x: ops.repeat(x, [0, 2, 1], axis=0),
                      lambda x: np.repeat(x, [0, 2, 1], axis=0)),
    "repeat_flat": (lambda x: ops.repeat(x, 2), lambda x: np.repeat(x, 2)),
    "broadcast_to": (lambda x: ops.broadcast_to(x[:1], (2, 3, 4)),
                     lambda x: np.broadcast_to(x[:1], (2, 3, 4))),
    "split": (lambda x: ops.split(x, [1, 3], axis=1), lambda x: np.split(x, [1, 3], axis=1)),
    "array_split": (lambda x: ops.array_split(x, 3, axis=1),
                    lambda x: np.array_split(x, 3, axis=1)),
    "take": (lambda x: ops.take(x, [[2, 0], [2, 2]], axis=1),
             lambda x: np.take(x, [[2, 0], [2, 2]], axis=1)),
    "take_flat": (lambda x: ops.take(x, [5, 5, -1]), lambda x: np.take(x, [5, 5, -1])),
    "take_along_axis": (lambda x: ops.take_along_axis(x, np.array([[0, 0], [3, 1], [2, 2]]), 1),
                        lambda x: np.take_along_axis(x, np.array([[0, 0], [3, 1], [2, 2]]), 1)),
    "get_item": (lambda x: ops.get_item(x, (slice(None), [1, 1])), lambda x: x[:, [1, 1]]),
    "pad": (lambda x: ops.pad(x, ((1, 0), (2, 1)), constant_values=3.0),
            lambda x: np.pad(x, ((1, 0), (2, 1)), constant_values=3.0)),
    "pad_reflect": (lambda x: ops.pad(x, 2, mode="reflect"), lambda x: np.pad(x, 2, "reflect")),
    "pad_symmetric": (lambda x: ops.pad(x, ((0, 3), (1, 1)), mode="symmetric"),
                      lambda x: np.pad(x, ((0, 3), (1, 1)), "symmetric")),
    "pad_edge": (lambda x: ops.pad(x, 1, mode="edge"), lambda x: np.pad(x, 1, "edge")),
    "pad_wrap": (lambda x: ops.pad(x, 2, mode="wrap"), lambda x: np.pad(x, 2, "wrap")),
    "flip": (lambda x: ops.flip(x, 1), lambda x: np.flip(x, 1)),
    "flip_all": (ops.flip, np.flip),
    "roll": (lambda x: ops.roll(x, (1, -2), axis=(0, 1)),
             lambda x: np.roll(x, (1, -2), axis=(0, 1))),
    "roll_flat": (lambda x: ops.roll(x, 5), lambda x: np.roll(x, 5)),
    "where": (lambda x: ops.where(x > 0, x, x * x), lambda x: np.where(x > 0, x, x * x)),
    "select": (lambda x: ops.select([x > 1, x < -1], [x, -x], x * 3),
               lambda x: np.select([x > 1, x < -1], [x, -x], x * 3)),
    "tril": (lambda x: ops.tril(x, 1), lambda x: np.tril(x, 1)),
    "triu": (lambda x: ops.triu(x, -1), lambda x: np.triu(x, -1)),
    "clip": (lambda x: ops.clip(x, -0.5, 0.5), lambda x: np.clip(x, -0.5, 0.5)),
    "diagonal": (lambda x: ops.diagonal(x, -1), lambda x: np.diagonal(x, -1)),
    "diagonal_3d": (lambda x: ops.diagonal(x.reshape(2, 3, 2), 1, 2, 1),
                    lambda x: np.diagonal(x.reshape(2, 3, 2), 1, 2, 1)),
    "diag_of_matrix": (lambda x: ops.diag(x, 1), lambda x: np.diag(x, 1)),
    "diag_of_vector": (lambda x: ops.diag(x[0], -1), lambda x: np.diag(x[0], -1)),
    "trace": (lambda x: ops.trace(x, 1), lambda x: np.trace(x, 1)),
    "diff": (lambda x: ops.diff(x, 2, axis=1), lambda x: np.diff(x, 2, axis=1)),
    "copy": (ops.copy, np.copy), "array": (ops.array, np.array),
    "divide_no_nan": (lambda x: ops.divide_no_nan(x, np.where(x > 0, x + 1, 0.0)),
                      lambda x: np.where(x > 0, x / np.where(x > 0, x + 1, 1.0), 0.0)),
}


def _assert_same(got, want):
    if isinstance(want, list):
        assert isinstance(got, list) and len(got) == len(want)
        for g, w in zip(got, want):
            np.testing.assert_allclose(g, w, rtol=1e-14)
    else:
        np.testing.assert_allclose(got, want, rtol=1e-14)
        assert np.shape(got) == np.shape(want)


@pytest.mark.parametrize("name", SHAPE_OPS)
def test_shape_ops_forward_and_gradient(name):
    op, twin = SHAPE_OPS[name]
    _assert_same(op(A), twin(A))
    check_gradients(op, A)


@pytest.mark.parametrize("name", ["tile", "repeat", "split", "take", "pad", "flip", "roll",
                                  "broadcast_to", "einsum", "tensordot", "tril", "sort",
                                  "cumprod", "take_along_axis", "logaddexp", "diagonal",
                                  "trace", "diff", "append", "hstack", "select", "average",
                                  "meshgrid", "median", "quantile", "percentile"])
def test_numpy_functions_on_traced_values_route_to_the_ops(name):
    """np.<name>(traced, ...) is recorded by the tape through the registered op."""
    calls = {
        "tile": lambda x: np.tile(x, 2), "repeat": lambda x: np.repeat(x, [1, 2, 0], axis=0),
        "split": lambda x: np.split(x, 2, axis=1)[1], "take": lambda x: np.take(x, [1, 1]),
        "pad": lambda x: np.pad(x, 1, mode="reflect"), "flip": lambda x: np.flip(x, 0),
        "roll": lambda x: np.roll(x, 1, axis=1), "broadcast_to": lambda x:
        np.broadcast_to(x, (2, 3, 4)), "einsum": lambda x: np.einsum("ij,ij->i", x, x),
        "tensordot": lambda x: np.tensordot(x, x, axes=([1], [1])), "tril": np.tril,
        "sort": lambda x: np.sort(x, axis=1), "cumprod": lambda x: np.cumprod(x, axis=1),
        "take_along_axis": lambda x: np.take_along_axis(x, np.zeros((3, 1), int), axis=1),
        "logaddexp": lambda x: np.logaddexp(x, 1.0), "diagonal": np.diagonal,
        "trace": np.trace, "diff": lambda x: np.diff(x, axis=0),
        "append": lambda x: np.append(x, x[0]), "hstack": lambda x: np.hstack([x, x * 2]),
        "select": lambda x: np.select([x > 1.5], [x * x], x),
        "average": lambda x: np.average(x, axis=0, weights=x[:, 0] ** 2 + 1),
        "meshgrid": lambda x: np.meshgrid(x[0], x[1, :2]),
        "median": lambda x: np.median(x, axis=1), "quantile": lambda x: np.quantile(x, 0.3),
        "percentile": lambda x: np.percentile(x, [10, 60], axis=0),
    }
    check_gradients(calls[name], DISTINCT / 4)


PRODUCTS = {
    "matmul_2d": (lambda a, b: ops.matmul(a, b.T), lambda a, b: a @ b.T),
    "matmul_batched": (lambda a, b: ops.matmul(a.reshape(3, 2, 2), b.reshape(3, 2, 2)),
                       lambda a, b: a.reshape(3, 2, 2) @ b.reshape(3, 2, 2)),
    "matmul_vector": (lambda a, b: ops.matmul(a, b[0]), lambda a, b: a @ b[0]),
    "dot": (lambda a, b: ops.dot(a, b.T), lambda a, b: np.dot(a, b.T)), "dot_nd": (
        lambda a, b: ops.dot(a.reshape(3, 2, 2), b.reshape(2, 2, 3)),
        lambda a, b: np.dot(a.reshape(3, 2, 2), b.reshape(2, 2, 3))),
    "tensordot": (lambda a, b: ops.tensordot(a, b, axes=([0], [0])),
                  lambda a, b: np.tensordot(a, b, axes=([0], [0]))),
    "tensordot_int": (lambda a, b: ops.tensordot(a, b, 2), lambda a, b: np.tensordot(a, b, 2)),
    "einsum": (lambda a, b: ops.einsum("ij,kj->ik", a, b), lambda a, b: np.einsum("ij,kj->ik", a, b)),
    "einsum_implicit": (lambda a, b: ops.einsum("ij,ij", a, b), lambda a, b: np.einsum("ij,ij", a, b)),
    "einsum_ellipsis": (lambda a, b: ops.einsum("...j,...j->...", a, b[:1]),
                        lambda a, b: np.einsum("...j,...j->...", a, b[:1])),
    "einsum_sum_within": (lambda a, b: ops.einsum("ij,k->k", a, b[0]),
                          lambda a, b: np.einsum("ij,k->k", a, b[0])),
    "outer": (ops.outer, np.outer), "inner": (ops.inner, np.inner), "vdot": (ops.vdot, np.vdot),
}


@pytest.mark.parametrize("name", PRODUCTS)
def test_products_forward_and_gradient(name):
    op, twin = PRODUCTS[name]
    np.testing.assert_allclose(op(A, B), twin(A, B), rtol=1e-12, atol=1e-14)
    check_gradients(op, A, B)


def test_matmul_keeps_the_fused_gemm_extras():
    a, b = A.astype(np.float32), B.T.astype(np.float32)
    bias = np.ones(3, np.float32)
    np.testing.assert_allclose(ops.matmul(a, b, bias, activation="relu"),
                               np.maximum(a @ b + 1, 0), rtol=1e-5)
    check_gradients(lambda x, w, b: ops.matmul(x, w, b, activation="relu"), A, B.T, ROW[:3])
    check_gradients(lambda x, w: ops.matmul(x, w, out=np.zeros((3, 3))), A, B.T)
    with pytest.raises(ValueError, match="last axis of `x1`"):
        ops.matmul(np.ones((2, 3)), np.ones((2, 4, 5)))
    with pytest.raises(ValueError, match="scalars"):
        ops.matmul(np.ones(3), 2.0)
    assert ops.matmul(np.ones((2, 3), np.int32), np.ones((3, 2), np.int32)).dtype == np.int32


NORMS = [dict(), dict(ord=1, axis=1), dict(ord=np.inf, axis=0), dict(ord=-np.inf, axis=1),
         dict(ord=3, axis=1), dict(ord="fro"), dict(ord=1), dict(ord=np.inf),
         dict(ord=-1, axis=(1, 0), keepdims=True), dict(axis=0, keepdims=True)]


@pytest.mark.parametrize("kwargs", NORMS, ids=str)
def test_norm_matches_numpy_and_differentiates(kwargs):
    np.testing.assert_allclose(ops.norm(DISTINCT, **kwargs), np.linalg.norm(DISTINCT, **kwargs),
                               rtol=1e-13)
    check_gradients(lambda x: ops.norm(x, **kwargs), DISTINCT)


def test_norm_forward_only_orders_and_errors():
    np.testing.assert_allclose(ops.norm(A, ord="nuc"), np.linalg.norm(A, ord="nuc"))
    assert int(ops.norm([0.0, 2.0, 3.0], ord=0)) == 2
    with pytest.raises(ValueError, match="Invalid norm order"):
        ops.norm(A, ord="bad")


def test_comparisons_and_rounding_pass_no_gradient():
    np.testing.assert_array_equal(ops.greater(A, 0), A > 0)
    np.testing.assert_array_equal(ops.logical_and(A > 0, B > 0), (A > 0) & (B > 0))
    np.testing.assert_array_equal(ops.round(np.array([0.5, 1.5, 2.26]), 1), [0.5, 1.5, 2.3])
    np.testing.assert_array_equal(ops.floor([1.5, -1.5]), [1.0, -2.0])
    np.testing.assert_array_equal(ops.mod([5, -5], 3), [2, 1])
    assert ops.isclose([1.0, 2.0], [1.0 + 1e-9, 2.1]).tolist() == [True, False]
    assert ops.allclose(A, A + 1e-12) and not ops.allclose(A, A + 1)
    np.testing.assert_array_equal(ops.searchsorted([1.0, 2.0, 3.0], [0.5, 2.0, 9.0]), [0, 1, 3])
    with GradientTape() as tape:
        t = tape.watch(A)
        y = ops.sum(ops.floor(t) + ops.sign(t)) + ops.sum(t)
    np.testing.assert_array_equal(tape.gradient(y, t), np.ones_like(A))


def test_shape_op_errors_are_keras_form():
    with pytest.raises(ValueError, match="constant_values"):
        ops.pad(A, 1, mode="reflect", constant_values=1)
    with pytest.raises(ValueError, match="both"):
        ops.where(A > 0, A)
    with pytest.raises(ValueError, match="same length"):
        ops.select([A > 0], [A, A])
    with pytest.raises(ValueError, match="indexing"):
        ops.meshgrid([1], indexing="xx")
    with GradientTape() as tape:
        t = tape.watch(A)
        with pytest.raises(TypeError, match="no gradient"):
            ops.pad(t, 1, mode="mean")
    np.testing.assert_array_equal(ops.where([True, False]), (np.array([0]),))
    assert ops.size(A) == 12 and ops.ndim(A) == 2


SQUARE = rng.standard_normal((2, 3, 3)) + 3 * np.eye(3)  # well conditioned


def test_linalg_against_numpy_and_gradients():
    np.testing.assert_allclose(ops.linalg.inv(SQUARE), np.linalg.inv(SQUARE), rtol=1e-12)
    np.testing.assert_allclose(ops.linalg.det(SQUARE), np.linalg.det(SQUARE), rtol=1e-12)
    rhs = rng.standard_normal((2, 3, 2))
    np.testing.assert_allclose(ops.linalg.solve(SQUARE, rhs), np.linalg.solve(SQUARE, rhs),
                               rtol=1e-12)
    check_gradients(ops.linalg.inv, SQUARE)
    check_gradients(ops.linalg.det, SQUARE)
    check_gradients(ops.linalg.solve, SQUARE, rhs)
    check_gradients(ops.linalg.solve, SQUARE[0], rhs[0, :, 0])         # a vector b
    lower = np.tril(SQUARE[0])
    np.testing.assert_allclose(ops.linalg.solve_triangular(SQUARE[0], rhs[0], lower=True),
                               np.linalg.solve(lower, rhs[0]), rtol=1e-12)
    check_gradients(lambda a, b: ops.linalg.solve_triangular(a, b, lower=True), SQUARE[0], rhs[0])
    check_gradients(lambda a: np.linalg.inv(a) + np.linalg.det(a)[..., None, None], SQUARE)


def test_decompositions_are_forward_only():
    spd = SQUARE @ np.swapaxes(SQUARE, -1, -2)
    factor = ops.linalg.cholesky(spd)
    np.testing.assert_allclose(factor @ np.swapaxes(factor, -1, -2), spd, rtol=1e-12)
    upper = ops.linalg.cholesky(spd, upper=True)
    np.testing.assert_allclose(np.swapaxes(upper, -1, -2) @ upper, spd, rtol=1e-12)
    q, r = ops.linalg.qr(A)
    np.testing.assert_allclose(q @ r, A, atol=1e-12)
    u, s, vh = ops.linalg.svd(A, full_matrices=False)
    np.testing.assert_allclose((u * s) @ vh, A, atol=1e-12)
    np.testing.assert_allclose(ops.linalg.svd(A, compute_uv=False), s)
    values, vectors = ops.linalg.eigh(spd[0])
    np.testing.assert_allclose(spd[0] @ vectors, vectors * values, atol=1e-10)
    np.testing.assert_allclose(ops.linalg.lstsq(A.T, B[0]), np.linalg.lstsq(A.T, B[0])[0])
    with GradientTape() as tape:
        with pytest.raises(TypeError, match="no gradient"):
            ops.linalg.cholesky(tape.watch(spd))
    with pytest.raises(ValueError, match="mode"):
        ops.linalg.qr(A, mode="full")


@pytest.mark.parametrize("method", ["linear", "lower", "higher", "midpoint", "nearest"])
@pytest.mark.parametrize("axis,keepdims", [(None, False), (1, False), ((0, 1), True), (0, True)])
def test_quantiles_match_numpy_and_differentiate(method, axis, keepdims):
    q = np.array([0.1, 0.5, 0.93])
    np.testing.assert_allclose(ops.quantile(DISTINCT, q, axis, method, keepdims),
                               np.quantile(DISTINCT, q, axis=axis, method=method,
                                           keepdims=keepdims), rtol=1e-13)
    check_gradients(lambda x: ops.quantile(x, q, axis, method, keepdims), DISTINCT)


def test_median_and_percentile():
    np.testing.assert_allclose(ops.median(DISTINCT, axis=0), np.median(DISTINCT, axis=0))
    np.testing.assert_allclose(ops.median(DISTINCT), np.median(DISTINCT))
    np.testing.assert_allclose(ops.percentile(DISTINCT, 25, axis=1),
                               np.percentile(DISTINCT, 25, axis=1))
    check_gradients(lambda x: ops.median(x, axis=1, keepdims=True), DISTINCT)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        ops.quantile(A, 1.5)
    with pytest.raises(ValueError, match="method"):
        ops.quantile(A, 0.5, method="weibull")
