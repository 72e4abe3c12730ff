"""Depthwise convolutions (groups == C: one input channel per group, multiplier M = filters / C)
and small groups (2 to 4 input channels per group), which run on the direct kernels of
csrc/conv2d_depthwise.c.

Checked against the float64 NumPy reference (reference.py), the plain C twins, float64 finite
differences, across thread counts (bitwise) and across SIMD levels (one subprocess per
FASTCONV_ISA value, since the level is chosen once per process).
"""
import os
import subprocess
import sys
import zlib

import numpy as np
import pytest

import reference as ref
from fastconv import ops
from fastconv._ext import _conv
from fastconv.ops.conv2d import _geometry
from opcheck import assert_close, check_conv, numerical_gradient

# (N, H, W, C, M, KH, KW, strides, dilation, padding). Channel blocks are 4 vectors (64 float32
# or 32 float64 on avx512): C*M below crosses them with tails of every size, and M = 70 makes one
# input channel span several blocks.
CASES = [
    (1, 7, 7, 5, 1, 3, 3, 1, 1, "same"),                    # N = 1
    (2, 5, 6, 3, 2, 5, 6, 1, 1, "valid"),                   # kernel as large as the input
    (2, 9, 8, 4, 1, 3, 3, 2, 1, "same"),                    # stride does not divide the size
    (2, 11, 10, 6, 3, 3, 3, 2, 2, "same"),                  # dilation with stride, M = 3
    (3, 8, 9, 7, 1, 2, 4, 1, 1, "same"),                    # even kernel, same padding
    (2, 6, 7, 1, 4, 3, 3, 1, 1, "same"),                    # C = 1 (G = 1: the GEMM path)
    (2, 6, 6, 17, 2, 3, 3, 1, 1, "same"),                   # C not a multiple of a vector
    (2, 7, 6, 96, 1, 3, 3, 1, 1, "same"),                   # large C
    (1, 10, 9, 24, 3, 5, 3, (3, 2), (1, 2), ((2, 1), (0, 3))),  # explicit, uneven padding
    (1, 4, 5, 2, 70, 3, 3, 1, 1, "same"),                   # M larger than a channel block
    (1, 3, 37, 16, 1, 3, 3, 1, 1, "same"),                  # wide rows: pixel-group tails
    (2, 12, 12, 32, 1, 7, 7, 1, 3, "same"),                 # large dilated kernel
    (2, 9, 41, 40, 1, 3, 3, 2, 1, "same"),                  # 3x3 at stride 2: 8, 8, 4, 1 pixels
    (1, 7, 23, 5, 2, 3, 3, 2, 1, "valid"),                  # ... with a multiplier
    (1, 3, 420, 80, 1, 3, 3, 1, 1, "same"),                 # rows too wide for one ring span
    (2, 6, 14, 48, 1, 3, 3, 1, 1, "same"),                  # 3x3: 8 then 6 pixels; block tails
    (1, 5, 15, 160, 1, 3, 3, 1, 1, "same"),                 # 8, 6, 1 pixels; five blocks or a tail
    (1, 7, 29, 64, 1, 3, 3, 2, 1, "valid"),                 # stride 2: 8 then 6 pixels
    # The 3x3 kernel reading rows in place (dw_reads_in_place): pixels of 1, 2 and 4 blocks at
    # stride 2 (edge pixels of 'same' through the ring's sums), one block at stride 1.
    (2, 9, 21, 128, 1, 3, 3, 2, 1, "same"),
    (1, 6, 19, 32, 1, 3, 3, 2, 1, "same"),
    (2, 8, 30, 32, 1, 3, 3, 1, 1, "same"),
    (1, 5, 12, 8, 1, 3, 3, 1, 1, "valid"),
]
# Small groups, (N, H, W, C, F, groups, KH, KW, strides, dilation, padding): 2, 3 and 4 input
# channels per group, one or several outputs per group, block tails.
SMALL_GROUPS = [
    (2, 7, 6, 8, 8, 4, 3, 3, 1, 1, "same"),
    (1, 9, 8, 6, 4, 2, 3, 3, 2, 1, "same"),
    (2, 6, 7, 12, 36, 3, 3, 2, 1, (1, 2), "same"),
    (1, 8, 9, 16, 24, 4, 5, 3, (2, 1), 1, ((1, 2), (2, 0))),
    (1, 5, 5, 96, 72, 24, 3, 3, 1, 1, "valid"),
    (1, 4, 4, 6, 140, 2, 3, 3, 1, 1, "same"),               # 70 outputs per group
]


def _general(case):
    """A CASES entry as (N, H, W, C, F, groups, KH, KW, strides, dilation, padding)."""
    if len(case) == 11:
        return case
    N, H, W, C, M, KH, KW, strides, dilation, padding = case
    return (N, H, W, C, C * M, C, KH, KW, strides, dilation, padding)


def _data(case, dtype, seed=0):
    N, H, W, C, F, G, KH, KW, strides, dilation, padding = _general(case)
    rng = np.random.default_rng(zlib.crc32(repr(case).encode()) + seed)
    x = rng.standard_normal((N, H, W, C))
    k = rng.standard_normal((KH, KW, C // G, F))
    b = rng.standard_normal(F)
    geometry, out_shape = _geometry(x.shape, k.shape, strides, padding, dilation, G)
    dy = rng.standard_normal(out_shape)
    return [a.astype(dtype) for a in (x, k, b, dy)] + [geometry]


def _run(x, k, b, dy, geometry, threads, naive=False, relu=False):
    out = np.empty(dy.shape, x.dtype)
    dx, dk, db = np.empty_like(x), np.empty_like(k), np.empty_like(b)
    _conv.forward(x, k, b, out, geometry, threads, naive, relu)
    _conv.backward_input(dy, k, dx, geometry, threads, naive)
    _conv.backward_weight(dy, x, dk, db, geometry, threads, naive)
    return out, dx, dk, db


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("case", CASES + SMALL_GROUPS)
def test_matches_float64_reference(case, dtype):
    N, H, W, C, F, G, KH, KW, strides, dilation, padding = _general(case)
    x, k, b, dy, _ = _data(case, np.float64)
    check_conv(x, k, b, dy, dtype=dtype, strides=strides, padding=padding,
               dilation_rate=dilation, groups=G)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_channels_first_matches_reference(dtype):
    x, k, b, dy, _ = _data(CASES[3], np.float64)
    check_conv(x, k, b, dy, dtype=dtype, data_format="channels_first", strides=2,
               padding="same", dilation_rate=2, groups=x.shape[3])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("case", CASES + SMALL_GROUPS)
def test_matches_naive_twins_at_every_thread_count(case, dtype):
    x, k, b, dy, geometry = _data(case, dtype)
    naive = _run(x, k, b, dy, geometry, 1, naive=True)
    tol = {np.float32: 2e-6, np.float64: 1e-13}[dtype]
    for threads in (1, 2, 3):
        for name, got, want in zip(("y", "dx", "dkernel", "dbias"),
                                   _run(x, k, b, dy, geometry, threads), naive):
            err = np.abs(got - want).max() / np.abs(want).max()
            assert err <= tol, f"{name} threads={threads}: relative error {err:.2e}"


@pytest.mark.parametrize("case", CASES + SMALL_GROUPS)
def test_results_do_not_depend_on_thread_count(case):
    x, k, b, dy, geometry = _data(case, np.float32, seed=1)
    one = _run(x, k, b, dy, geometry, 1)
    for threads in (2, 3):
        for got, want in zip(_run(x, k, b, dy, geometry, threads), one):
            np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("case", [CASES[0], CASES[3], CASES[9], CASES[18], CASES[20],
                                  SMALL_GROUPS[2]])
def test_fused_relu_matches_naive_twin(case, dtype):
    x, k, b, dy, geometry = _data(case, dtype, seed=2)
    fast, naive = np.empty(dy.shape, dtype), np.empty(dy.shape, dtype)
    _conv.forward(x, k, b, fast, geometry, 2, relu=True)
    _conv.forward(x, k, b, naive, geometry, 1, naive=True, relu=True)
    assert (fast >= 0).all() and (fast == 0).any()
    tol = {np.float32: 2e-6, np.float64: 1e-13}[dtype]
    np.testing.assert_allclose(fast, naive, rtol=0, atol=tol * np.abs(naive).max())


@pytest.mark.parametrize("case", [
    (2, 5, 4, 3, 2, 3, 3, 1, 1, "same"),
    (1, 7, 6, 2, 1, 2, 3, 2, (2, 1), "same"),
    (1, 5, 6, 6, 4, 2, 3, 2, 2, 1, "same"),
])
def test_gradients_match_finite_differences(case):
    N, H, W, C, F, G, KH, KW, strides, dilation, padding = _general(case)
    x, k, b, dy, _ = _data(case, np.float64, seed=3)
    kwargs = dict(strides=strides, padding=padding, dilation_rate=dilation, groups=G)

    def loss():
        return float(np.sum(ops.conv2d(x, k, b, **kwargs) * dy))

    dx, dk, db = ops.conv2d_backward(dy, x, k, **kwargs)
    for name, got, wrt in (("dx", dx, x), ("dkernel", dk, k), ("dbias", db, b)):
        want = numerical_gradient(loss, wrt)
        np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-7, err_msg=name)


def test_weight_gradient_sums_in_chunks():
    """dkernel and dbias sum N*OH*OW = 65,536 terms of one sign: one float32 chain would be off
    by ~6e-6 relative here; row, image and segment sums keep it near 1e-7."""
    rng = np.random.default_rng(4)
    x = rng.uniform(0.5, 1.5, (64, 32, 32, 8)).astype(np.float32)
    dy = rng.uniform(0.5, 1.5, (64, 32, 32, 8)).astype(np.float32)
    k = np.ones((3, 3, 1, 8), np.float32)
    _, dk, db = ops.conv2d_backward(dy, x, k, padding="same", groups=8)
    _, dk_ref, db_ref = ref.conv2d_backward_ref(dy, x, k, padding="same", groups=8)
    assert np.abs(db - db_ref).max() / np.abs(db_ref).max() < 1e-6
    assert np.abs(dk - dk_ref).max() / np.abs(dk_ref).max() < 1e-6


PREFETCH_BYTES = 20 << 20  # FC_DW_PREFETCH_BYTES, csrc/conv2d_depthwise.c


@pytest.mark.parametrize("strides, padding, size", [(1, "same", 230), (2, "valid", 331)])
def test_large_calls_prefetching_input_rows_match_reference(strides, padding, size):
    """Calls moving FC_DW_PREFETCH_BYTES or more prefetch, while the ring takes an input row, the
    row SH below it, except near the image's last row: forward pass and weight gradient, the
    last rows included, against the reference."""
    rng = np.random.default_rng(strides)
    x = rng.standard_normal((1, size, size, 64)).astype(np.float32)
    k = rng.standard_normal((3, 3, 1, 64)).astype(np.float32)
    b = rng.standard_normal(64).astype(np.float32)
    conv = dict(strides=strides, padding=padding, groups=64)
    y = ops.conv2d(x, k, b, **conv)
    assert x.nbytes + y.nbytes >= PREFETCH_BYTES
    assert_close(y, ref.conv2d_ref(x, k, b, **conv), np.float32, "prefetching forward")
    dy = rng.standard_normal(y.shape).astype(np.float32)
    _, dk, db = ops.conv2d_backward(dy, x, k, **conv)
    _, dk_ref, db_ref = ref.conv2d_backward_ref(dy, x, k, **conv)
    assert_close(dk, dk_ref, np.float32, "prefetching weight gradient")
    assert_close(db, db_ref, np.float32, "prefetching bias gradient")


_ISA_SCRIPT = """
import sys
import numpy as np
sys.path.insert(0, {tests!r})
import test_depthwise as t
from fastconv._ext import _conv
results = {{}}
for i, case in enumerate(t.CASES + t.SMALL_GROUPS):
    for dtype in (np.float32, np.float64):
        x, k, b, dy, geometry = t._data(case, dtype, seed=5)
        for name, a in zip(("y", "dx", "dk", "db"), t._run(x, k, b, dy, geometry, 2)):
            results[f"{{i}}-{{np.dtype(dtype).name}}-{{name}}"] = a
np.savez({path!r}, **results)
print(_conv.simd_level())
"""


def test_simd_levels_agree(tmp_path):
    """Every SIMD level this CPU has, each in its own process: avx2 and avx512 run the same FMAs
    in the same order (bit-identical); generic has no FMA on x86-64 (within rounding)."""
    tests = os.path.dirname(os.path.abspath(__file__))
    results = {}
    for isa in _conv.simd_available():
        path = str(tmp_path / f"{isa}.npz")
        env = dict(os.environ, FASTCONV_ISA=isa)
        run = subprocess.run([sys.executable, "-c", _ISA_SCRIPT.format(tests=tests, path=path)],
                             env=env, capture_output=True, text=True, timeout=300, cwd=tests)
        assert run.returncode == 0, run.stderr[-3000:]
        assert run.stdout.split()[-1] == isa
        results[isa] = np.load(path)
    base = results["generic"]
    for isa, got in results.items():
        for key in base.files:
            assert_close(got[key], base[key], np.dtype(key.split("-")[1]), f"{isa} {key}")
    if "avx2" in results and "avx512" in results:
        for key in base.files:
            np.testing.assert_array_equal(results["avx512"][key], results["avx2"][key], err_msg=key)
