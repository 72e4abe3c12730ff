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


@pytest.mark.parametrize("shape", [5000, (32, 28, 28, 32), (3, 0, 5000), (2, 3)])
def test_ops_creation_of_buffers_is_aligned(shape):
    """ops.empty / zeros and their _like forms make the `out=` buffers a user allocates."""
    extents = shape if isinstance(shape, tuple) else (shape,)
    like = np.ones(extents, np.float64)
    arrays = [ops.empty(shape), ops.zeros(shape), ops.empty_like(like), ops.zeros_like(like)]
    for array, dtype in zip(arrays, [np.float32, np.float32, np.float64, np.float64]):
        assert array.shape == extents and array.dtype == dtype and array.flags.c_contiguous
        if array.nbytes >= 1 << 14:
            assert array.ctypes.data % 64 == 0
    for array in arrays[1::2]:
        np.testing.assert_array_equal(array, np.zeros(extents))


def test_ops_creation_refuses_what_numpy_refuses():
    with pytest.raises(ValueError, match="negative"):
        ops.empty((-3, -9000))
    with pytest.raises(TypeError):
        ops.zeros((2.5, 4))


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
    plain, buffer = np.empty_like(y), ops.empty(y.shape)
    for out in (plain, buffer):
        assert ops.conv2d(x, kernel, padding="same", out=out) is out
        np.testing.assert_array_equal(y, out)
