"""The fast pooling kernels against their plain-loop C twins (fastconv._pool, naive=True).

The geometry is drawn directly at the kernel level (explicit top/left padding, any stride), so
this covers shapes the public ops never produce as well as the ones they do. Max pooling must
match exactly, NaNs and ties included; average pooling to a tight tolerance (the fast kernels
may contract multiply-adds into FMAs).
"""

import os
import subprocess
import sys

import numpy as np
import pytest

from fastconv._ext import _pool

DTYPES = [np.float32, np.float64]
AVG_RTOL = {np.float32: 2e-6, np.float64: 1e-14}

FORWARD = {"max": _pool.max_pool2d_forward, "avg": _pool.avg_pool2d_forward}


def random_geometry(rng, max_hw=13, max_c=20, allow_empty_windows=False):
    """(x_shape, geometry) with geometry = (OH, OW, KH, KW, SH, SW, PT, PL)."""
    N = int(rng.integers(1, 4))
    C = int(rng.choice([1, 2, 3, 4, 7, 8, 9, 16, 17, int(rng.integers(1, max_c + 1))]))
    dims = []
    for _ in range(2):
        size = int(rng.integers(1, max_hw + 1))
        k = int(rng.integers(1, min(size + 2, 6) + 1))
        s = int(rng.integers(1, 5))
        limit = k + 1 if allow_empty_windows else k - 1
        before = int(rng.integers(0, limit + 1)) if rng.random() < 0.5 else 0
        after = int(rng.integers(0, limit + 1)) if rng.random() < 0.5 else 0
        if size + before + after < k:
            after = k - size - before
        out = (size + before + after - k) // s + 1
        dims.append((size, k, s, before, out))
    (H, KH, SH, PT, OH), (W, KW, SW, PL, OW) = dims
    return (N, H, W, C), (OH, OW, KH, KW, SH, SW, PT, PL)


def random_input(rng, shape, dtype, specials=True):
    x = rng.standard_normal(shape)
    roll = rng.random()
    if roll < 0.3:
        x = np.round(x)  # many ties: the first maximal cell must win
    elif roll < 0.4:
        x = np.zeros(shape)
        x[rng.random(shape) < 0.5] = -0.0  # +0 and -0 compare equal
    if specials:
        if rng.random() < 0.3:
            x[rng.random(shape) < 0.05] = np.nan
        if rng.random() < 0.2:
            x[rng.random(shape) < 0.1] = -np.inf
        if rng.random() < 0.2:
            x[rng.random(shape) < 0.05] = np.inf
    return x.astype(dtype)


def check_forward(kind, x, geometry, nthreads=2):
    fast = FORWARD[kind](x, geometry, nthreads)
    naive = FORWARD[kind](x, geometry, 1, naive=True)
    assert fast.shape == naive.shape and fast.dtype == x.dtype
    if kind == "max":
        np.testing.assert_array_equal(fast, naive)
    else:
        np.testing.assert_allclose(fast, naive, rtol=AVG_RTOL[x.dtype.type],
                                   atol=AVG_RTOL[x.dtype.type])


def check_backward(kind, x, dy, geometry, nthreads=2):
    if kind == "max":
        fast = _pool.max_pool2d_backward(dy, x, geometry, nthreads)
        naive = _pool.max_pool2d_backward(dy, x, geometry, 1, naive=True)
        np.testing.assert_array_equal(fast, naive)
    else:
        fast = _pool.avg_pool2d_backward(dy, x.shape, geometry, nthreads)
        naive = _pool.avg_pool2d_backward(dy, x.shape, geometry, 1, naive=True)
        np.testing.assert_allclose(fast, naive, rtol=AVG_RTOL[x.dtype.type],
                                   atol=AVG_RTOL[x.dtype.type])
    assert fast.shape == x.shape and fast.dtype == x.dtype


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kind", ["max", "avg"])
def test_random_shapes(kind, dtype):
    rng = np.random.default_rng(1234 + (kind == "avg") + 2 * (dtype == np.float64))
    for _ in range(300):
        x_shape, geometry = random_geometry(rng)
        x = random_input(rng, x_shape, dtype, specials=(kind == "max"))
        OH, OW = geometry[:2]
        dy = rng.standard_normal((x_shape[0], OH, OW, x_shape[3])).astype(dtype)
        check_forward(kind, x, geometry)
        check_backward(kind, x, dy, geometry)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kind", ["max", "avg"])
@pytest.mark.parametrize("C", [127, 128, 129, 257, 300])
def test_many_channels(kind, dtype, C):
    """The max backward kernel works in channel blocks; the block edges must not show."""
    rng = np.random.default_rng(C)
    for _ in range(4):
        (N, H, W, _), geometry = random_geometry(rng, max_hw=7)
        x = random_input(rng, (N, H, W, C), dtype, specials=(kind == "max"))
        dy = rng.standard_normal((N, geometry[0], geometry[1], C)).astype(dtype)
        check_forward(kind, x, geometry)
        check_backward(kind, x, dy, geometry)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kind", ["max", "avg"])
def test_windows_entirely_in_padding_give_zero(kind, dtype):
    """Outside the ops contract, but the twins agree: 0 out, no gradient."""
    rng = np.random.default_rng(7)
    for _ in range(100):
        x_shape, geometry = random_geometry(rng, allow_empty_windows=True)
        x = random_input(rng, x_shape, dtype, specials=False)
        dy = rng.standard_normal((x_shape[0], geometry[0], geometry[1], x_shape[3])).astype(dtype)
        check_forward(kind, x, geometry)
        check_backward(kind, x, dy, geometry)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("x_shape, pads", [((2, 8, 6, 37), (0, 0)), ((2, 9, 7, 16), (0, 0)),
                                           ((1, 9, 7, 33), (1, 1)), ((3, 2, 2, 1), (0, 0))])
def test_disjoint_2x2_windows_bit_for_bit(dtype, x_shape, pads):
    """2 x 2 windows at stride 2 (the fast path that writes each window's cells outright): the
    twin's bytes, with ties, NaNs, infinities and -0 in x and dy (a -0 gradient lands as +0), on
    even and odd sizes (uncovered last rows and columns) and with padding (partial windows)."""
    rng = np.random.default_rng(sum(x_shape))
    N, H, W, C = x_shape
    PT, PL = pads
    geometry = ((H + PT) // 2, (W + PL) // 2, 2, 2, 2, 2, PT, PL)
    for _ in range(20):
        x = random_input(rng, x_shape, dtype)
        dy = rng.standard_normal((N, geometry[0], geometry[1], C)).astype(dtype)
        dy[rng.random(dy.shape) < 0.2] = -0.0
        fast = _pool.max_pool2d_forward(x, geometry, 2)
        assert fast.tobytes() == _pool.max_pool2d_forward(x, geometry, 1, naive=True).tobytes()
        fast = _pool.max_pool2d_backward(dy, x, geometry, 2)
        naive = _pool.max_pool2d_backward(dy, x, geometry, 1, naive=True)
        assert fast.tobytes() == naive.tobytes()
        # The fused ReLU: the gradient of ReLU(x) pooled, where x holds the ReLU's outputs.
        relu_x = np.where(x > 0, x, 0).astype(dtype)
        fused = _pool.max_pool2d_backward(dy, relu_x, geometry, 2, relu=True)
        plain = _pool.max_pool2d_backward(dy, relu_x, geometry, 1, naive=True)
        np.testing.assert_array_equal(fused, np.where(relu_x > 0, plain, 0))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("x_shape, k, s, pads", [((2, 8, 6, 37), 2, 2, (0, 0)),
                                                 ((2, 9, 7, 16), 2, 2, (1, 1)),
                                                 ((1, 11, 13, 8), 3, 4, (2, 1)),
                                                 ((3, 7, 10, 5), 1, 3, (0, 0)),
                                                 ((1, 5, 5, 3), 4, 4, (4, 4))])
def test_avg_backward_of_windows_side_by_side_bit_for_bit(dtype, x_shape, k, s, pads):
    """Windows that do not overlap (stride >= pool: the fast path that writes each window's
    term to its cells in one go) give each cell one term, so the twin's bytes: -0 gradients land
    as +0, cells between and after the windows and rows no window covers are 0, partial windows
    at the padding divide by their real cells, and a window wholly in the padding gives none."""
    rng = np.random.default_rng(sum(x_shape) + k)
    N, H, W, C = x_shape
    PT, PL = pads
    geometry = ((H + PT - k) // s + 1, (W + PL - k) // s + 1, k, k, s, s, PT, PL)
    for _ in range(10):
        dy = rng.standard_normal((N, geometry[0], geometry[1], C)).astype(dtype)
        dy[rng.random(dy.shape) < 0.2] = -0.0
        naive = _pool.avg_pool2d_backward(dy, x_shape, geometry, 1, naive=True)
        for nthreads in (1, 2):
            fast = _pool.avg_pool2d_backward(dy, x_shape, geometry, nthreads)
            assert fast.tobytes() == naive.tobytes()


@pytest.mark.parametrize("dtype", DTYPES)
def test_nan_and_first_max_semantics(dtype):
    x = np.array([[1.0, 3.0], [3.0, np.nan]], dtype=dtype).reshape(1, 2, 2, 1)
    x = np.concatenate([x, np.array([[2.0, 5.0], [5.0, 1.0]], dtype=dtype).reshape(1, 2, 2, 1)],
                       axis=3)
    geometry = (1, 1, 2, 2, 2, 2, 0, 0)
    y = _pool.max_pool2d_forward(x, geometry, 1)
    assert np.isnan(y[0, 0, 0, 0]) and y[0, 0, 0, 1] == 5.0
    dy = np.array([10.0, 20.0], dtype=dtype).reshape(1, 1, 1, 2)
    dx = _pool.max_pool2d_backward(dy, x, geometry, 1)
    assert dx[0, :, :, 0].tolist() == [[0.0, 0.0], [0.0, 10.0]]  # the NaN takes it
    assert dx[0, :, :, 1].tolist() == [[0.0, 20.0], [0.0, 0.0]]  # the first of the tied 5s


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kind", ["max", "avg"])
def test_results_do_not_depend_on_thread_count(kind, dtype):
    rng = np.random.default_rng(99)
    # Overlapping (3, stride 1 and 2) and non-overlapping windows; large enough to go parallel.
    for geometry_args in [(3, 1, 1), (3, 2, 1), (2, 2, 0), (2, 3, 0)]:
        k, s, p = geometry_args
        N, H, W, C = 3, 21, 19, 33
        OH, OW = (H + 2 * p - k) // s + 1, (W + 2 * p - k) // s + 1
        geometry = (OH, OW, k, k, s, s, p, p)
        x = random_input(rng, (N, H, W, C), dtype, specials=(kind == "max"))
        dy = rng.standard_normal((N, OH, OW, C)).astype(dtype)
        results = []
        for nthreads in (1, 2, 3, 5):
            y = FORWARD[kind](x, geometry, nthreads)
            if kind == "max":
                dx = _pool.max_pool2d_backward(dy, x, geometry, nthreads)
            else:
                dx = _pool.avg_pool2d_backward(dy, x.shape, geometry, nthreads)
            results.append((y.tobytes(), dx.tobytes()))
        assert all(r == results[0] for r in results)
        check_forward(kind, x, geometry)
        check_backward(kind, x, dy, geometry)


def test_read_only_inputs():
    x = np.random.default_rng(0).standard_normal((2, 6, 6, 3))
    x.flags.writeable = False
    dy = np.ones((2, 3, 3, 3))
    dy.flags.writeable = False
    geometry = (3, 3, 2, 2, 2, 2, 0, 0)
    check_forward("max", x, geometry)
    check_forward("avg", x, geometry)
    check_backward("max", x, dy, geometry)
    check_backward("avg", x, dy, geometry)


def test_wrapper_rejects_inconsistent_buffers():
    x = np.zeros((1, 4, 4, 2))
    with pytest.raises(ValueError, match="dy.shape"):
        _pool.max_pool2d_backward(np.zeros((1, 3, 2, 2)), x, (2, 2, 2, 2, 2, 2, 0, 0), 1)
    with pytest.raises(ValueError, match="geometry"):
        _pool.max_pool2d_forward(x, (2, 2, 0, 2, 2, 2, 0, 0), 1)


_GENERIC_SCRIPT = """
import numpy as np, sys
sys.path.insert(0, {tests!r})
import test_pool2d_twins as t
from fastconv._ext import _pool
assert _pool.simd_level() == "generic", _pool.simd_level()
rng = np.random.default_rng(5)
for dtype in t.DTYPES:
    for kind in ("max", "avg"):
        for _ in range(60):
            shape, geometry = t.random_geometry(rng, max_c=40)
            x = t.random_input(rng, shape, dtype, specials=(kind == "max"))
            dy = rng.standard_normal((shape[0], geometry[0], geometry[1], shape[3])).astype(dtype)
            t.check_forward(kind, x, geometry)
            t.check_backward(kind, x, dy, geometry)
print("ok")
"""


def test_generic_simd_path():
    """FASTCONV_ISA=generic selects the portable build of the fast kernels (chosen once per
    process, hence the subprocess)."""
    env = dict(os.environ, FASTCONV_ISA="generic")
    script = _GENERIC_SCRIPT.format(tests=os.path.dirname(os.path.abspath(__file__)))
    # Run from tests/, not the repository root, so the installed package is the one imported.
    result = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True,
                            text=True, timeout=300, cwd=os.path.dirname(os.path.abspath(__file__)))
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip().endswith("ok")
