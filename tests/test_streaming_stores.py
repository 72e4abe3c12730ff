"""First layers, depthwise layers and layers on the GEMM path whose input and output reach
FC_STREAM_BYTES_PER_THREAD (10 MiB, csrc/stream_store.h) per thread write their output with
streaming stores when it starts on 64 bytes (every result of 16 KiB and more does; the GEMM path
when one k-chunk of at most 256 taps makes each tile). The result must equal the reference and, bit
for bit, the same call into an `out` 16 bytes past a 64-byte boundary, which takes plain
stores."""
import numpy as np
import pytest

import fastconv
import reference as ref
from fastconv import ops
from opcheck import assert_close

STREAM_BYTES_PER_THREAD = 10 << 20


def _unaligned_empty(shape, dtype):
    """An empty C-contiguous array that starts 16 bytes past a 64-byte boundary."""
    itemsize, size = np.dtype(dtype).itemsize, int(np.prod(shape))
    buffer = np.empty(size + 128 // itemsize, dtype)
    start = ((-buffer.ctypes.data) % 64 + 16) // itemsize
    out = buffer[start:start + size].reshape(shape)
    assert out.ctypes.data % 64 == 16
    return out


def _with_threads(threads, call):
    before = fastconv.get_num_threads()
    fastconv.set_num_threads(threads)
    try:
        return call()
    finally:
        fastconv.set_num_threads(before)


def _assert_streamed_like_plain(streamed, plain, input_nbytes, threads):
    """The call was large enough to stream on `threads` threads into an aligned result, and equals
    the same call with plain stores bit for bit."""
    assert input_nbytes + streamed.nbytes >= STREAM_BYTES_PER_THREAD * threads
    assert streamed.ctypes.data % 64 == 0
    assert streamed.tobytes() == plain.tobytes()


def _streamed_conv2d(x, kernel, bias, threads, **conv):
    """ops.conv2d's result (streamed), checked against the same call into an unaligned `out`."""
    streamed = _with_threads(threads, lambda: ops.conv2d(x, kernel, bias, **conv))
    plain = _with_threads(threads, lambda: ops.conv2d(
        x, kernel, bias, **conv, out=_unaligned_empty(streamed.shape, x.dtype)))
    _assert_streamed_like_plain(streamed, plain, x.nbytes, threads)
    return streamed


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("channels", [1, 3])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_streamed_first_layer_equals_plain_stores_and_reference(dtype, channels, threads):
    rng = np.random.default_rng(channels * 10 + threads)
    images = 5 if dtype == np.float32 else 3
    x = rng.standard_normal((images, 92, 92, channels)).astype(dtype)
    kernel = rng.standard_normal((3, 3, channels, 128)).astype(dtype)
    bias = rng.standard_normal(128).astype(dtype)
    streamed = _streamed_conv2d(x, kernel, bias, threads, padding="same", activation="relu")
    expected = np.maximum(ref.conv2d_ref(x, kernel, bias, padding="same"), 0)
    assert_close(streamed, expected, dtype, "streamed first layer")


# Depthwise and small-group layers (the ring's 3x3 kernel, the in-place general kernel, groups of
# two channels), a float64 row too wide for one ring, streamed channel span by channel span, and
# a stride-2 layer whose output alone (4.4 MiB) is below the threshold.
DEPTHWISE_CASES = {
    "3x3": (np.float32, (1, 150, 150, 128), (3, 3, 1, 128), 128, "same", 1),
    "5x5-in-place": (np.float32, (1, 152, 152, 128), (5, 5, 1, 128), 128, "same", 1),
    "groups-of-2": (np.float32, (1, 150, 150, 128), (3, 3, 2, 128), 64, "same", 1),
    "spans-f64": (np.float64, (1, 150, 178, 64), (3, 3, 1, 64), 64, "valid", 1),
    "stride-2": (np.float32, (1, 271, 271, 64), (3, 3, 1, 64), 64, "valid", 2),
}


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("case", sorted(DEPTHWISE_CASES))
def test_streamed_depthwise_equals_plain_stores_and_reference(case, threads):
    dtype, x_shape, kernel_shape, groups, padding, strides = DEPTHWISE_CASES[case]
    rng = np.random.default_rng(threads)
    x = rng.standard_normal(x_shape).astype(dtype)
    kernel = rng.standard_normal(kernel_shape).astype(dtype)
    bias = rng.standard_normal(kernel_shape[3]).astype(dtype)
    conv = dict(strides=strides, padding=padding, groups=groups, activation="relu")
    streamed = _streamed_conv2d(x, kernel, bias, threads, **conv)
    expected = np.maximum(ref.conv2d_ref(x, kernel, bias, strides, padding, groups=groups), 0)
    assert_close(streamed, expected, dtype, f"streamed depthwise {case}")


@pytest.mark.parametrize("threads", [1, 2])
def test_streamed_depthwise_input_gradient(threads):
    """A depthwise input gradient at unit strides runs the forward pass with the flipped kernel:
    a large one streams too."""
    rng = np.random.default_rng(threads)
    x = rng.standard_normal((1, 150, 150, 128)).astype(np.float32)
    kernel = rng.standard_normal((3, 3, 1, 128)).astype(np.float32)
    dy = rng.standard_normal(x.shape).astype(np.float32)
    conv = dict(padding="same", groups=128)
    streamed = _with_threads(threads, lambda: ops.conv2d_backward(dy, x, kernel, **conv)[0])
    plain = _with_threads(threads, lambda: ops.conv2d_backward(
        dy, x, kernel, **conv, out=(_unaligned_empty(x.shape, np.float32), None, None))[0])
    _assert_streamed_like_plain(streamed, plain, dy.nbytes, threads)
    expected = ref.conv2d_backward_ref(dy, x, kernel, padding="same", groups=128)[0]
    assert_close(streamed, expected, np.float32, "streamed depthwise input gradient")


# Layers on the GEMM path (csrc/conv2d_impl.h, gemm_forward): A read through row pointers (64
# channels), A packed (6 channels), two groups of 64 filters, float64, and a 3x3 kernel at stride
# 2 (144 taps: still one k-chunk).
GEMM_CASES = {
    "1x1-indirect": (np.float32, (1, 180, 180, 64), (1, 1, 64, 128), 1, 1),
    "1x1-packed": (np.float32, (1, 300, 300, 6), (1, 1, 6, 64), 1, 1),
    "1x1-groups-of-32": (np.float32, (1, 180, 180, 64), (1, 1, 32, 128), 2, 1),
    "1x1-f64": (np.float64, (1, 140, 140, 64), (1, 1, 64, 96), 1, 1),
    "3x3-stride-2": (np.float32, (1, 421, 421, 16), (3, 3, 16, 64), 1, 2),
}


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("case", sorted(GEMM_CASES))
def test_streamed_gemm_layers_equal_plain_stores_and_reference(case, threads):
    dtype, x_shape, kernel_shape, groups, strides = GEMM_CASES[case]
    rng = np.random.default_rng(threads)
    x = rng.standard_normal(x_shape).astype(dtype)
    kernel = rng.standard_normal(kernel_shape).astype(dtype)
    bias = rng.standard_normal(kernel_shape[3]).astype(dtype)
    conv = dict(strides=strides, groups=groups, activation="relu")
    streamed = _streamed_conv2d(x, kernel, bias, threads, **conv)
    expected = np.maximum(ref.conv2d_ref(x, kernel, bias, strides, groups=groups), 0)
    assert_close(streamed, expected, dtype, f"streamed GEMM layer {case}")


@pytest.mark.parametrize("threads", [1, 2])
def test_streamed_gemm_input_gradient(threads):
    """A 1x1 layer's input gradient runs the forward GEMM path with the transposed kernel: a large
    one streams too."""
    rng = np.random.default_rng(threads)
    x = rng.standard_normal((1, 180, 180, 64)).astype(np.float32)
    kernel = rng.standard_normal((1, 1, 64, 128)).astype(np.float32)
    dy = rng.standard_normal((1, 180, 180, 128)).astype(np.float32)
    streamed = _with_threads(threads, lambda: ops.conv2d_backward(dy, x, kernel)[0])
    plain = _with_threads(threads, lambda: ops.conv2d_backward(
        dy, x, kernel, out=(_unaligned_empty(x.shape, np.float32), None, None))[0])
    _assert_streamed_like_plain(streamed, plain, dy.nbytes, threads)
    expected = ref.conv2d_backward_ref(dy, x, kernel)[0]
    assert_close(streamed, expected, np.float32, "streamed GEMM input gradient")
