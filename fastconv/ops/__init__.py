"""Functional NumPy API: Keras 3's `keras.ops`, and the compiled conv2d and pooling kernels.

`import fastconv as keras; keras.ops.relu(x)`: the Keras ops (`numpy`, `nn`, `math`,
`image`, `linalg` and `core` namespaces, and all of them flat here) take and return NumPy
arrays, with Keras's names, arguments, defaults and dtypes. Under a
`fastconv.autodiff.GradientTape` they are differentiable (see each module's docstring for
the few that pass no gradient).

The kernel functions (conv2d, max_pool2d, ... and their `_backward`s) take array-likes,
validate their arguments (ValueError or TypeError naming the argument and shapes), compute
in float32 or float64 in the compiled kernels with the GIL released, and return new
C-contiguous arrays.
"""

from fastconv.ops.conv2d import conv2d, conv2d_backward
from fastconv.ops.conv2d_transpose import conv2d_transpose, conv2d_transpose_backward
from fastconv.ops.activation import relu_backward
from fastconv.ops.optim import adam_update
from fastconv.ops.pool2d import (
    avg_pool2d,
    avg_pool2d_backward,
    max_pool2d,
    max_pool2d_backward,
)
from fastconv.ops import core, image, linalg, math, nn, numpy  # noqa: F401 - Keras namespaces
from fastconv.ops.core import *  # noqa: F401,F403
from fastconv.ops.math import *  # noqa: F401,F403
from fastconv.ops.nn import *  # noqa: F401,F403
from fastconv.ops.numpy import *  # noqa: F401,F403
# Last: binds `matmul` to the Keras function (the kernel module fastconv/ops/matmul.py
# shares its name).
from fastconv.ops.linalg import *  # noqa: F401,F403

_KERNELS = [
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

# The namespaces stay out of __all__: `from fastconv.ops import *` must not rebind a
# program's own `math` or `numpy`.
__all__ = list(dict.fromkeys(
    _KERNELS + core.__all__ + math.__all__ + nn.__all__ + numpy.__all__ + linalg.__all__))
