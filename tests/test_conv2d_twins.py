"""The fast conv2d kernels against their plain C twins, and against themselves across threads.

The independent float64 NumPy reference lives in reference.py (test_conv2d.py); this file pins
the fast paths (packed GEMM, edge tiles, multi-block K, the one-channel direct path, groups)
to the in-C oracle on shapes chosen to cross every blocking boundary.
"""
import zlib

import numpy as np
import pytest

from fastconv._ext import _conv
from fastconv.ops.conv2d import _geometry
from opcheck import conv_kernels  # noqa: F401 (a fixture)

TOLERANCE = {np.float32: 2e-6, np.float64: 1e-13}

# (N, H, W, C, F, KH, KW, groups, strides, dilation, padding): K = KH*KW*C/G crosses the
# 256-deep panel in some cases, P = OH*OW crosses the 72-row block, F is not a multiple of 16.
CASES = [
    (2, 15, 13, 40, 70, 3, 3, 1, 1, 1, "same"),
    (3, 9, 9, 64, 34, 3, 3, 2, 2, 1, "valid"),
    (1, 30, 30, 3, 32, 5, 5, 1, 1, 1, "same"),
    (2, 7, 7, 300, 20, 1, 1, 1, 1, 1, "valid"),
    (2, 6, 6, 8, 8, 3, 3, 8, 1, 1, "same"),
    (2, 12, 11, 1, 37, 3, 2, 1, (2, 1), (1, 2), ((2, 0), (1, 3))),
    (1, 10, 10, 5, 17, 4, 4, 1, 2, 2, "same"),
    (4, 5, 5, 6, 6, 5, 5, 3, 1, 1, "valid"),
]
# One input channel: the direct-packing forward path (slivers span output rows, the last one
# of an image is partial), odd strides and dilations, and a 17x17 kernel (289 taps > 256)
# that takes the padded GEMM path instead.
SINGLE_CHANNEL = [
    (3, 28, 28, 1, 32, 3, 3, 1, 1, 1, "same"),
    (2, 13, 11, 1, 20, 3, 5, 1, (2, 3), 1, "valid"),
    (2, 9, 10, 1, 9, 2, 2, 1, 1, (3, 2), "same"),
    (1, 20, 19, 1, 5, 17, 17, 1, 1, 1, "same"),
    # 200 output rows: 13 row blocks in the weight gradient's 8 runs, a partial channel block
    (5, 40, 9, 1, 33, 3, 3, 1, 1, 1, "same"),
]
CASES += SINGLE_CHANNEL


def run_all(x, k, b, dy, geometry, threads, naive):
    out = np.empty(dy.shape, x.dtype)
    dx, dk, db = np.empty_like(x), np.empty_like(k), np.empty_like(b)
    _conv.forward(x, k, b, out, geometry, threads, naive)
    _conv.backward_input(dy, k, dx, geometry, threads, naive)
    _conv.backward_weight(dy, x, dk, db, geometry, threads, naive)
    return out, dx, dk, db


@pytest.mark.usefixtures("conv_kernels")
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("case", CASES)
def test_fast_kernels_match_naive_twins(case, dtype):
    N, H, W, C, F, KH, KW, G, strides, dilation, padding = case
    rng = np.random.default_rng(zlib.crc32(repr(case).encode()))
    x = rng.standard_normal((N, H, W, C)).astype(dtype)
    k = rng.standard_normal((KH, KW, C // G, F)).astype(dtype)
    b = rng.standard_normal(F).astype(dtype)
    geometry, out_shape = _geometry(x.shape, k.shape, strides, padding, dilation, G)
    dy = rng.standard_normal(out_shape).astype(dtype)
    # The twin run in float64: the fast kernels sum in another order (chunked, tiled) than the
    # float32 twin, so both are compared with the exact-enough float64 result.
    up = [a.astype(np.float64) for a in (x, k, b, dy)]
    naive = run_all(*up, geometry, 1, True)
    for threads in (1, 2, 3):
        fast = run_all(x, k, b, dy, geometry, threads, False)
        for name, got, want in zip(("y", "dx", "dkernel", "dbias"), fast, naive):
            err = np.abs(got - want).max() / np.abs(want).max()
            assert err <= TOLERANCE[dtype], f"{name} threads={threads}: relative error {err:.2e}"


@pytest.mark.usefixtures("conv_kernels")
@pytest.mark.parametrize("case", CASES)
def test_results_do_not_depend_on_thread_count(case):
    N, H, W, C, F, KH, KW, G, strides, dilation, padding = case
    rng = np.random.default_rng(7)
    x = rng.standard_normal((N, H, W, C)).astype(np.float32)
    k = rng.standard_normal((KH, KW, C // G, F)).astype(np.float32)
    b = rng.standard_normal(F).astype(np.float32)
    geometry, out_shape = _geometry(x.shape, k.shape, strides, padding, dilation, G)
    dy = rng.standard_normal(out_shape).astype(np.float32)
    one = run_all(x, k, b, dy, geometry, 1, False)
    for threads in (2, 4):
        for got, want in zip(run_all(x, k, b, dy, geometry, threads, False), one):
            np.testing.assert_array_equal(got, want)


@pytest.mark.usefixtures("conv_kernels")
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("case", CASES[:4] + SINGLE_CHANNEL)
def test_fused_relu_matches_naive_twin(case, dtype):
    N, H, W, C, F, KH, KW, G, strides, dilation, padding = case
    rng = np.random.default_rng(zlib.crc32(repr(case).encode()) + 1)
    x = rng.standard_normal((N, H, W, C)).astype(dtype)
    k = rng.standard_normal((KH, KW, C // G, F)).astype(dtype)
    b = rng.standard_normal(F).astype(dtype)
    geometry, out_shape = _geometry(x.shape, k.shape, strides, padding, dilation, G)
    fast, naive = np.empty(out_shape, dtype), np.empty(out_shape, dtype)
    _conv.forward(x, k, b, fast, geometry, 2, relu=True)
    _conv.forward(x, k, b, naive, geometry, 1, naive=True, relu=True)
    assert (fast >= 0).all() and (fast == 0).any()
    np.testing.assert_allclose(fast, naive, rtol=0, atol=TOLERANCE[dtype] * np.abs(naive).max())
