"""First layers whose output reaches FC_STREAM_BYTES (8 MiB, csrc/conv2d.c) are written with
streaming stores when the output starts on 64 bytes (every result of 16 KiB and more does).
The result must equal the reference and, bit for bit, the same call into an `out` 16 bytes past
a 64-byte boundary, which takes plain stores."""
import numpy as np
import pytest

import fastconv
import reference as ref
from fastconv import ops
from opcheck import assert_close

STREAM_BYTES = 8 << 20


def _unaligned_empty(shape, dtype):
    """An empty C-contiguous array that starts 16 bytes past a 64-byte boundary."""
    itemsize, size = np.dtype(dtype).itemsize, int(np.prod(shape))
    buffer = np.empty(size + 128 // itemsize, dtype)
    start = ((-buffer.ctypes.data) % 64 + 16) // itemsize
    out = buffer[start:start + size].reshape(shape)
    assert out.ctypes.data % 64 == 16
    return out


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("channels", [1, 3])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_streamed_first_layer_equals_plain_stores_and_reference(dtype, channels, threads):
    rng = np.random.default_rng(channels * 10 + threads)
    images = 2 if dtype == np.float32 else 1
    x = rng.standard_normal((images, 92, 92, channels)).astype(dtype)
    kernel = rng.standard_normal((3, 3, channels, 128)).astype(dtype)
    bias = rng.standard_normal(128).astype(dtype)
    before = fastconv.get_num_threads()
    fastconv.set_num_threads(threads)
    try:
        streamed = ops.conv2d(x, kernel, bias, padding="same", activation="relu")
        plain = ops.conv2d(x, kernel, bias, padding="same", activation="relu",
                           out=_unaligned_empty(streamed.shape, dtype))
    finally:
        fastconv.set_num_threads(before)
    assert streamed.nbytes >= STREAM_BYTES and streamed.ctypes.data % 64 == 0
    assert streamed.tobytes() == plain.tobytes()
    expected = np.maximum(ref.conv2d_ref(x, kernel, bias, padding="same"), 0)
    assert_close(streamed, expected, dtype, "streamed first layer")
