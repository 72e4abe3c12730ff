"""ops.matmul, ops.adam_update and ops.relu_backward against plain float64 NumPy."""
import math

import numpy as np
import pytest

import fastconv
from fastconv import ops

TOLERANCE = {np.float32: 2e-5, np.float64: 1e-12}


def rel_error(got, want):
    return np.abs(got - want).max() / max(np.abs(want).max(), 1e-30)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("m,k,n", [(32, 3136, 100), (3136, 32, 100), (1, 1, 1), (7, 0, 5),
                                   (100, 300, 17), (5, 513, 700)])
@pytest.mark.parametrize("threads", [1, 2])
def test_matmul_with_bias_relu_and_transposed_views(dtype, m, k, n, threads):
    rng = np.random.default_rng(m * 7 + k * 3 + n)
    a = rng.standard_normal((m, k)).astype(dtype)
    b = rng.standard_normal((k, n)).astype(dtype)
    bias = rng.standard_normal(n).astype(dtype)
    want = a.astype(np.float64) @ b.astype(np.float64)
    fastconv.set_num_threads(threads)
    try:
        assert rel_error(ops.matmul(a, b), want) <= TOLERANCE[dtype]
        a_t, b_t = np.ascontiguousarray(a.T).T, np.ascontiguousarray(b.T).T
        assert rel_error(ops.matmul(a_t, b_t), want) <= TOLERANCE[dtype]
        fused = ops.matmul(a, b, bias, activation="relu")
        assert rel_error(fused, np.maximum(want + bias, 0)) <= TOLERANCE[dtype]
        out = ops.matmul(a, b)
        assert ops.matmul(a, b, out=out, accumulate=True) is out
        assert rel_error(out, 2 * want) <= TOLERANCE[dtype]
    finally:
        fastconv.set_num_threads(None)


def test_matmul_errors_name_the_argument():
    # Keras's ops.matmul(x1, x2) takes any ranks; the fused extras take the GEMM's 2-D `a`, `b`.
    with pytest.raises(ValueError, match="last axis of `x1`"):
        ops.matmul(np.ones((2, 3)), np.ones((4, 5)))
    with pytest.raises(ValueError, match="`a` has 3 columns"):
        ops.matmul(np.ones((2, 3)), np.ones((4, 5)), activation="relu")
    with pytest.raises(ValueError, match="`b` must be a 2-D"):
        ops.matmul(np.ones((2, 3)), np.ones(3), activation="relu")
    with pytest.raises(ValueError, match="`out`"):
        ops.matmul(np.ones((2, 3)), np.ones((3, 4)), out=np.ones((4, 2)))
    with pytest.raises(TypeError, match="`a`"):
        ops.matmul(np.ones((2, 3), complex), np.ones((3, 4)), activation="relu")
    with pytest.raises(ValueError, match="activation"):
        ops.matmul(np.ones((2, 3)), np.ones((3, 4)), activation="gelu")


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_adam_update_follows_the_keras_formula(dtype):
    rng = np.random.default_rng(3)
    var = rng.standard_normal((300, 7)).astype(dtype)
    m, v = np.zeros_like(var), np.zeros_like(var)
    ref_var, ref_m, ref_v = var.astype(np.float64), np.zeros(var.shape), np.zeros(var.shape)
    lr, b1, b2, eps = 1e-2, 0.9, 0.999, 1e-7
    for t in range(1, 6):
        g = rng.standard_normal(var.shape).astype(dtype)
        alpha = lr * math.sqrt(1 - b2**t) / (1 - b1**t)
        ops.adam_update(var, m, v, g, alpha=alpha, beta_1=b1, beta_2=b2, epsilon=eps)
        g64 = g.astype(np.float64)
        ref_m += (g64 - ref_m) * (1 - b1)
        ref_v += (g64 * g64 - ref_v) * (1 - b2)
        ref_var -= alpha * ref_m / (np.sqrt(ref_v) + eps)
    assert rel_error(var, ref_var) <= TOLERANCE[dtype]
    assert rel_error(m, ref_m) <= TOLERANCE[dtype]


def test_adam_update_refuses_mismatched_state():
    var = np.zeros(4, np.float32)
    with pytest.raises(ValueError, match="`m`"):
        ops.adam_update(var, np.zeros(5, np.float32), np.zeros(4, np.float32), np.zeros(4),
                        alpha=1e-3, beta_1=0.9, beta_2=0.999, epsilon=1e-7)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_relu_backward_masks_where_the_output_is_not_positive(dtype):
    rng = np.random.default_rng(4)
    y = np.maximum(rng.standard_normal((3, 5, 5, 4)), 0).astype(dtype)
    y[0, 0, 0, 0] = np.nan
    dy = rng.standard_normal(y.shape).astype(dtype)
    np.testing.assert_array_equal(ops.relu_backward(dy, y), np.where(y > 0, dy, 0))
    in_place = dy.copy()
    assert ops.relu_backward(in_place, y, out=in_place) is in_place
    np.testing.assert_array_equal(in_place, np.where(y > 0, dy, 0))
    with pytest.raises(ValueError, match="`dy` and `y`"):
        ops.relu_backward(dy, y[:1])
