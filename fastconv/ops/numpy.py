"""`keras.ops.numpy`: the NumPy-like ops (creation, element-wise math, reductions, shape
ops and products), gathered from the modules that define them."""

from fastconv.ops.creation import *  # noqa: F401,F403
from fastconv.ops.creation import __all__ as _creation
from fastconv.ops.elementwise import *  # noqa: F401,F403
from fastconv.ops.elementwise import __all__ as _elementwise
from fastconv.ops.linalg import dot, einsum, inner, matmul, outer, tensordot, vdot  # noqa: F401
from fastconv.ops.reductions import *  # noqa: F401,F403
from fastconv.ops.reductions import __all__ as _reductions
from fastconv.ops.shape_ops import *  # noqa: F401,F403
from fastconv.ops.shape_ops import __all__ as _shape_ops

__all__ = [*_creation, *_elementwise, *_reductions, *_shape_ops,
           "matmul", "dot", "tensordot", "einsum", "outer", "inner", "vdot"]
