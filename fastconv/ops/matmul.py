"""Matrix products on the library's own packed GEMM (for dense layers).

`matmul` checks every argument at every call; a caller making the same call batch after batch (a
layer) checks it once with `prepare_matmul` and runs the returned `MatmulCall`.

Using the same kernels and threads as the convolutions keeps a model's work on one thread pool:
NumPy's BLAS threads spin between calls and would compete with them for the cores.
"""

import numpy as np

from fastconv._config import get_num_threads
from fastconv._ext import _conv
from fastconv.ops import _aligned, _args


def matmul(a, b, bias=None, *, activation=None, out=None, accumulate=False):
    """Computes `a @ b (+ bias)` for 2-D arrays (transposed views are not copied).

    Args:
        a: (m, k) array-like.
        b: (k, n) array-like.
        bias: None or (n,), added to every row (not with `accumulate`).
        activation: None (or "linear") or "relu", applied as the result is written.
        out: optional C-contiguous (m, n) array of the result dtype to write into, not
            overlapping `a`, `b` or `bias`.
        accumulate: when True, adds the product to `out` instead of overwriting it.

    Returns:
        The (m, n) product: float64 if either input is float64, else float32.

    Raises:
        ValueError: the inner dimensions differ, the inputs are not 2-D, or `out` does not fit.
        TypeError: non-numeric dtypes.

    Example:
        >>> import numpy as np
        >>> from fastconv import ops
        >>> ops.matmul(np.ones((2, 3)), np.ones((3, 4))).tolist()
        [[3.0, 3.0, 3.0, 3.0], [3.0, 3.0, 3.0, 3.0]]
    """
    call, a, b, bias = _checked_call(a, b, bias, activation, accumulate)
    if out is None and accumulate:
        raise ValueError("`accumulate=True` needs an `out` array to add to.")
    out = _args.output_buffer(out, call.out_shape, call.dtype,
                              inputs=(("a", a), ("b", b), ("bias", bias)))
    return call(a, b, bias, out)


class MatmulCall:
    """One matmul call (shapes, dtype, bias, activation), checked once by `prepare_matmul`.

    Calling it compares the operands' shapes with the prepared ones (a mismatch is a
    ValueError naming them), converts operands of another dtype to `dtype`, and goes straight
    to the GEMM. `out` is the caller's to get right (C-contiguous, `dtype`, `out_shape`, not
    overlapping the operands); the compiled wrapper refuses one whose shape or dtype does not
    fit. Immutable.

    Attributes:
        dtype: the dtype of the result.
        out_shape: (m, n).
    """

    __slots__ = ("a_shape", "b_shape", "out_shape", "dtype", "relu", "accumulate", "has_bias")

    def __init__(self, a_shape, b_shape, dtype, has_bias, relu, accumulate):
        self.a_shape, self.b_shape, self.dtype = a_shape, b_shape, dtype
        self.out_shape = (a_shape[0], b_shape[1])
        self.has_bias, self.relu, self.accumulate = has_bias, relu, accumulate

    def __call__(self, a, b, bias=None, out=None):
        """`a @ b (+ bias)` into `out` (None allocates, unless accumulating); returns it."""
        if a.shape != self.a_shape or b.shape != self.b_shape:
            raise ValueError(
                f"`a` and `b` must have shapes {self.a_shape} and {self.b_shape}, the shapes this "
                f"matmul call was prepared for. Received: a.shape={a.shape}, b.shape={b.shape}")
        if (bias is None) == self.has_bias:
            raise ValueError("`bias` must be given exactly when the call was prepared with one.")
        dtype = self.dtype
        if out is None:
            if self.accumulate:
                raise ValueError("`accumulate=True` needs an `out` array to add to.")
            out = _aligned.empty(self.out_shape, dtype)
        _conv.matmul(_strided(a, dtype), _strided(b, dtype), out, self.accumulate,
                     get_num_threads(), None if bias is None else _args.to_kernel_layout(bias, dtype),
                     self.relu)
        return out


def _checked_call(a, b, bias, activation, accumulate):
    """Every check of a matmul call: (MatmulCall, a, b, bias) with array arguments."""
    a = _args.as_float_array(a, "a")
    b = _args.as_float_array(b, "b")
    _args.check_ndim(a, 2, "a", "(m, k)")
    _args.check_ndim(b, 2, "b", "(k, n)")
    if a.shape[1] != b.shape[0]:
        raise ValueError(
            f"`a` has {a.shape[1]} columns but `b` has {b.shape[0]} rows. "
            f"Received: a.shape={a.shape}, b.shape={b.shape}"
        )
    relu = _args.normalize_activation(activation)
    if bias is not None:
        bias = _args.as_float_array(bias, "bias")
        if bias.shape != (b.shape[1],):
            raise ValueError(
                f"`bias` must have shape ({b.shape[1]},). Received: bias.shape={bias.shape}"
            )
        if accumulate:
            raise ValueError("`bias` cannot be combined with `accumulate=True`.")
    call = MatmulCall(a.shape, b.shape, _args.result_dtype(a, b, bias), bias is not None, relu,
                      bool(accumulate))
    return call, a, b, bias


def prepare_matmul(a, b, bias=None, *, activation=None, accumulate=False):
    """Checks a matmul call once, as `matmul` does, and returns it as a `MatmulCall`.

    Args: as `matmul`'s (`a`, `b` and `bias` may be any arrays of the shapes and dtypes the
    calls will have).

    Raises:
        ValueError, TypeError: as `matmul`.
    """
    return _checked_call(a, b, bias, activation, accumulate)[0]


def _strided(array, dtype):
    """`array` in `dtype`, keeping a transposed or sliced view when its strides are whole elements."""
    if array.dtype is dtype and array.flags.aligned:  # `is`: the native dtype itself
        rows, columns = array.strides
        if rows % array.itemsize == 0 and columns % array.itemsize == 0:
            return array
    return _args.to_kernel_layout(array, dtype)
