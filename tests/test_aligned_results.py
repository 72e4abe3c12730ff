"""Result arrays start on a 64-byte boundary (fastconv/ops/_aligned.py), so the kernels' vector
stores never straddle cache lines; small ones come from np.empty as before."""
import numpy as np
import pytest

from fastconv import ops
from fastconv.ops import _aligned


@pytest.mark.parametrize("shape", [(32, 28, 28, 32), (4097,), (3, 0, 5000), (1, 1, 1, 4096)])
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int64])
def test_empty_is_aligned_and_shaped_like_np_empty(shape, dtype):
    array = _aligned.empty(shape, dtype)
    assert array.shape == shape and array.dtype == dtype
    assert array.flags.c_contiguous and array.flags.writeable
    if array.nbytes >= 1 << 14:
        assert array.ctypes.data % 64 == 0
    array[...] = 7  # writable over its whole extent, which nothing else shares
    assert np.all(array == 7)


def test_small_arrays_are_plain():
    array = _aligned.empty((3, 5), np.float32)
    assert array.flags.owndata and array.shape == (3, 5)


def test_op_results_are_aligned_and_unchanged():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((8, 20, 20, 3)).astype(np.float32)
    kernel = rng.standard_normal((3, 3, 3, 32)).astype(np.float32)
    y = ops.conv2d(x, kernel, padding="same")
    dy = rng.standard_normal(y.shape).astype(np.float32)
    dx, dk, _ = ops.conv2d_backward(dy, x, kernel, padding="same")
    pooled = ops.max_pool2d(y, 2)
    for result in (y, dx, pooled, ops.max_pool2d_backward(ops.max_pool2d(y, 2), y, 2)):
        assert result.ctypes.data % 64 == 0
    plain = np.empty_like(y)
    ops.conv2d(x, kernel, padding="same", out=plain)
    np.testing.assert_array_equal(y, plain)
