"""The first-layer forward kernel's two row kernels round alike (csrc/conv2d_first_layer_impl.h).

On 16 vector registers (AVX2), a row of a one-channel layer with windows 3 columns wide and
column stride and dilation 1 takes the sliding kernel, which broadcasts each input cell once for
the three pixels that read it, but only for whole blocks of two vectors of filters; the block of
filters past the last whole one, like every other shape, takes the general row kernel. Each
filter's output is its own vector lane, so a layer of F - 1 filters computes the first F - 1
outputs of the layer of F with the same additions in the same order: filters [B, F - 1) of a
layer of F = 2 * B filters (B = two vectors: 16 float32, 8 float64) come from the sliding kernel
in one call and from the general one in the other, and must agree bit for bit. The float64
reference checks both.
"""
import numpy as np
import pytest

import fastconv
import reference as ref
from fastconv import ops
from opcheck import assert_close

BLOCK = {np.float32: 16, np.float64: 8}  # two AVX2 vectors of filters

# (x shape NHWC, kernel rows, strides, padding, dilation): the tutorial's layer ("same" and
# "valid"), rows of 4 to 9 pixels (whole steps of 4 and a last step overlapping the one before),
# rows narrower than a step (3 pixels: the general kernel alone), 1 and 5 kernel rows, a row
# stride and dilation (the sliding kernel's rows only need column stride and dilation 1).
CASES = [
    ((3, 28, 28, 1), 3, 1, "same", 1),
    ((2, 28, 28, 1), 3, 1, "valid", 1),
    ((2, 7, 6, 1), 3, 1, "valid", 1),
    ((2, 6, 7, 1), 1, 1, ((0, 0), (1, 1)), 1),
    ((1, 9, 11, 1), 5, (2, 1), "same", (2, 1)),
    ((2, 8, 9, 1), 3, 1, ((1, 2), (2, 0)), 1),
    ((2, 5, 5, 1), 3, 1, "valid", 1),
]


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("activation", [None, "relu"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("case", CASES)
def test_sliding_rows_round_like_the_general_kernel(case, dtype, activation, threads):
    x_shape, kernel_rows, strides, padding, dilation = case
    rng = np.random.default_rng(sum(x_shape) + kernel_rows)
    filters = 2 * BLOCK[dtype]
    x = rng.standard_normal(x_shape).astype(dtype)
    kernel = rng.standard_normal((kernel_rows, 3, 1, filters)).astype(dtype)
    bias = rng.standard_normal(filters).astype(dtype)
    conv = dict(strides=strides, padding=padding, dilation_rate=dilation, activation=activation)
    fastconv.set_num_threads(threads)
    try:
        whole = ops.conv2d(x, kernel, bias, **conv)
        short = ops.conv2d(x, kernel[..., :-1], bias[:-1], **conv)
        unbiased = ops.conv2d(x, kernel[..., :-1], None, **conv)
    finally:
        fastconv.set_num_threads(None)
    assert whole[..., :-1].tobytes() == short.tobytes()

    def reference(k, b):
        y = ref.conv2d_ref(x, k, b, strides=strides, padding=padding, dilation=dilation)
        return np.maximum(y, 0) if activation == "relu" else y

    assert_close(whole, reference(kernel, bias), dtype, "first layer, whole blocks of filters")
    assert_close(unbiased, reference(kernel[..., :-1], None), dtype, "first layer without a bias")
