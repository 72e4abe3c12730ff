"""Automatic differentiation of NumPy code: an eager gradient tape.

Built-in layers have hand-written backward passes; this is for everything else that a
Keras program differentiates: custom layers' and subclassed models' `call`, `Lambda`,
plain-function losses and metrics, and `fastconv.ops` in hand-written loops.

- `GradientTape` records; `Variable`s are watched automatically, arrays with `watch`.
- `Traced` values (ndarray subclasses) carry the recording through NumPy's ufuncs,
  reductions and common functions; what has no gradient raises a TypeError that says so.
- `primitive(vjp_maker)` makes a NumPy function a differentiable op.
"""

from fastconv.autodiff import ufunc_grads  # noqa: F401 - registers the ufunc gradients
from fastconv.autodiff.basic_ops import concatenate, reshape, transpose, where  # noqa: F401
from fastconv.autodiff.primitive import plain, primitive, record
from fastconv.autodiff.tape import GradientTape, active_tape, stop_recording, unbroadcast
from fastconv.autodiff.traced import Traced, register_function, register_ufunc
from fastconv.autodiff.variable import Variable

__all__ = ["GradientTape", "Traced", "Variable", "primitive", "record", "plain", "active_tape",
           "stop_recording", "unbroadcast", "register_function", "register_ufunc", "stop_gradient"]


def stop_gradient(x):
    """`x` as a constant: the tape passes no gradient through it."""
    return plain(x)
