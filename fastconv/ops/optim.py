"""Optimizer updates as one compiled pass over each parameter array."""

import numpy as np

from fastconv._config import get_num_threads
from fastconv._ext import _conv


def adam_update(var, m, v, grad, *, alpha, beta_1, beta_2, epsilon):
    """One Adam step, in place: Keras's epsilon-hat form.

    `m += (g - m) * (1 - beta_1)`, `v += (g*g - v) * (1 - beta_2)`,
    `var -= alpha * m / (sqrt(v) + epsilon)`, where the caller folds the bias corrections
    into `alpha = lr * sqrt(1 - beta_2**t) / (1 - beta_1**t)`.

    Args:
        var, m, v: C-contiguous float32 or float64 arrays of one shape and dtype, updated
            in place.
        grad: the gradient, same shape; converted to var's dtype if needed.
        alpha, beta_1, beta_2, epsilon: floats.

    Raises:
        ValueError: shapes or dtypes differ, or an array is not C-contiguous and writeable.
    """
    for name, array in (("var", var), ("m", m), ("v", v)):
        if (not isinstance(array, np.ndarray) or array.dtype not in (np.float32, np.float64)
                or array.shape != var.shape or array.dtype != var.dtype
                or not array.flags.c_contiguous or not array.flags.writeable):
            raise ValueError(
                f"`{name}` must be a writeable C-contiguous float32/float64 array like `var` "
                f"({var.dtype}, shape {var.shape}). Received: {name}.shape="
                f"{getattr(array, 'shape', None)}, dtype={getattr(array, 'dtype', None)}"
            )
    grad = np.asarray(grad)
    if grad.shape != var.shape:
        raise ValueError(f"`grad` must have shape {var.shape}. Received: grad.shape={grad.shape}")
    adam_update_checked([(var.reshape(-1), m.reshape(-1), v.reshape(-1), grad)], float(alpha),
                        float(beta_1), float(beta_2), float(epsilon))


def adam_update_checked(updates, alpha, beta_1, beta_2, epsilon):
    """`adam_update` of several variables, for an optimizer that has checked them as it does
    and made `m` and `v` itself: `updates` holds `(var, m, v, grad)` with var, m and v flat
    (1-D) views made once; each `grad`, new at every step, is converted (the compiled pass
    still refuses one of another size).
    """
    threads = get_num_threads()
    for var, m, v, grad in updates:
        _conv.adam_update(var, m, v, np.ascontiguousarray(grad, dtype=var.dtype).reshape(-1),
                          alpha, beta_1, beta_2, epsilon, threads)
