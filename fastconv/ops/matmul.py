"""Matrix products on the library's own packed GEMM (for dense layers).

Using the same kernels and threads as the convolutions keeps a model's work on one thread pool:
NumPy's BLAS threads spin between calls and would compete with them for the cores.
"""

import numpy as np

from fastconv._config import get_num_threads
from fastconv._ext import _conv
from fastconv.ops import _args


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
    dtype = _args.result_dtype(a, b, bias)
    if out is None and accumulate:
        raise ValueError("`accumulate=True` needs an `out` array to add to.")
    out = _args.output_buffer(out, (a.shape[0], b.shape[1]), dtype,
                              inputs=(("a", a), ("b", b), ("bias", bias)))
    _conv.matmul(_strided(a, dtype), _strided(b, dtype), out, accumulate, get_num_threads(),
                 None if bias is None else _args.to_kernel_layout(bias, dtype), relu)
    return out


def _strided(array, dtype):
    """`array` in `dtype`, keeping a transposed or sliced view when its strides are whole elements."""
    if (array.dtype == dtype and array.dtype.isnative and array.flags.aligned
            and all(s % array.itemsize == 0 for s in array.strides)):
        return array
    return _args.to_kernel_layout(array, dtype)
