"""Activation gradients as one compiled pass."""

import numpy as np

from fastconv._config import get_num_threads
from fastconv._ext import _conv
from fastconv.ops import _args

_NATIVE_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))  # `in` finds them by identity first

def relu_backward(dy, y, *, out=None):
    """Gradient of `y = relu(x)`: `dy` where `y > 0`, else 0.

    Args:
        dy: gradient w.r.t. y.
        y: the forward output (same shape as dy).
        out: optional C-contiguous array of dy's shape and result dtype; may be `dy` itself
            to work in place.

    Returns:
        dx, float64 if dy or y is float64, else float32.

    Raises:
        ValueError: the shapes differ or `out` does not fit.

    Example:
        >>> import numpy as np
        >>> from fastconv import ops
        >>> ops.relu_backward(np.ones(4), np.array([-1.0, 0.0, 2.0, 3.0])).tolist()
        [0.0, 0.0, 1.0, 1.0]
    """
    if (type(out) is np.ndarray and type(dy) is np.ndarray and type(y) is np.ndarray
            and out.dtype in _NATIVE_FLOATS and dy.dtype is out.dtype and y.dtype is out.dtype
            and dy.shape == out.shape and y.shape == out.shape
            and out.flags.carray and dy.flags.carray and y.flags.carray):
        # a layer's buffers, every check below passing: straight to the compiled pass
        _conv.relu_backward(out.reshape(-1), dy.reshape(-1), y.reshape(-1), get_num_threads())
        return out
    dy = _args.as_float_array(dy, "dy")
    y = _args.as_float_array(y, "y")
    if dy.shape != y.shape:
        raise ValueError(f"`dy` and `y` must have one shape. Received: dy.shape={dy.shape}, "
                         f"y.shape={y.shape}")
    dtype = _args.result_dtype(dy, y)
    dy_c = _args.to_kernel_layout(dy, dtype)
    out = _args.output_buffer(out, dy.shape, dtype)
    _conv.relu_backward(out.reshape(-1), dy_c.reshape(-1),
                        _args.to_kernel_layout(y, dtype).reshape(-1), get_num_threads())
    return out
