"""Functional NumPy API: conv2d and 2-D pooling, forward and backward.

Every function takes array-likes, validates its arguments (ValueError or
TypeError naming the argument and shapes), computes in float32 or float64 in
the compiled kernels with the GIL released, and returns new C-contiguous arrays.
"""

from fastconv.ops.conv2d import conv2d, conv2d_backward
from fastconv.ops.conv2d_transpose import conv2d_transpose, conv2d_transpose_backward
from fastconv.ops.activation import relu_backward
from fastconv.ops.matmul import matmul
from fastconv.ops.optim import adam_update
from fastconv.ops.pool2d import (
    avg_pool2d,
    avg_pool2d_backward,
    max_pool2d,
    max_pool2d_backward,
)

__all__ = [
    "conv2d",
    "conv2d_backward",
    "conv2d_transpose",
    "conv2d_transpose_backward",
    "max_pool2d",
    "max_pool2d_backward",
    "avg_pool2d",
    "avg_pool2d_backward",
    "matmul",
    "adam_update",
    "relu_backward",
]
