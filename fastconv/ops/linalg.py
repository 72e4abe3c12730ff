"""Products and linear algebra of `keras.ops` (`keras.ops.linalg`): matmul, dot, tensordot,
einsum, outer, inner, norm, inv, det, solve, and the decompositions (forward only).

`einsum` is the one product primitive here (its vector-Jacobian product is another einsum);
`tensordot`, `dot` and `inner` are einsums, `matmul` is NumPy's (the tape knows its
gradient) or, for plain 2-D float arrays and with the fused extras, the library's own GEMM.
"""

import string

import numpy as np

from fastconv.autodiff import active_tape, plain, primitive, register_function
from fastconv.ops.matmul import matmul as _gemm_matmul
from fastconv.ops import _args
from fastconv.ops._tensor import as_float, axis_tuple, promote, tensor
from fastconv.ops.creation import tril, triu

__all__ = ["matmul", "dot", "tensordot", "einsum", "outer", "inner", "vdot", "norm", "inv", "det",
           "solve", "solve_triangular", "cholesky", "qr", "svd", "eigh", "lstsq"]


def matmul(x1, x2, bias=None, *, activation=None, out=None, accumulate=False):
    """The matrix product of `x1` and `x2`, as `np.matmul` and Keras's `ops.matmul`.

    Plain 2-D float arrays of one dtype go to the library's packed GEMM (the threads the
    convolutions use); batched, 1-D, int or traced operands to NumPy's matmul.

    Args:
        x1, x2: arrays; 1-D operands are promoted as by `np.matmul`, leading axes broadcast.
        bias, activation, out, accumulate: the fused 2-D GEMM's extras (see
            `fastconv.ops.matmul.matmul`: `a @ b + bias`, "relu", an output buffer, adding
            into it), for 2-D operands; differentiable in x1, x2 and bias.

    Raises:
        ValueError: the inner dimensions differ or an operand is a scalar.

    Example:
        >>> import numpy as np
        >>> from fastconv import ops
        >>> ops.matmul(np.ones((2, 2, 3)), np.ones(3)).tolist()
        [[3.0, 3.0], [3.0, 3.0]]
    """
    if bias is not None or activation is not None or out is not None or accumulate:
        return _fused_matmul(x1, x2, bias, activation=activation, out=out,
                             accumulate=accumulate)
    tape = active_tape()
    x1, x2 = promote(x1, x2)
    if tape is None:
        x1, x2 = plain(x1), plain(x2)
    if (type(x1) is np.ndarray and type(x2) is np.ndarray and x1.ndim == 2 == x2.ndim
            and x1.dtype == x2.dtype and x1.dtype in (np.float32, np.float64)
            and x1.shape[1] == x2.shape[0]):
        return _gemm_matmul(x1, x2)
    x1, x2 = tensor(x1), tensor(x2)
    if x1.ndim == 0 or x2.ndim == 0:
        raise ValueError("matmul does not take scalars; use multiply. "
                         f"Received: x1.shape={x1.shape}, x2.shape={x2.shape}")
    if x1.shape[-1] != x2.shape[0 if x2.ndim == 1 else -2]:
        raise ValueError("The last axis of `x1` must match the second-to-last of `x2` (the "
                         f"only one if 1-D). Received: x1.shape={x1.shape}, x2.shape={x2.shape}")
    return np.matmul(x1, x2)


def _fused_matmul_vjp(result, x1, x2, bias=None, activation=None, out=None, accumulate=False):
    # The ReLU mask is taken now: `out` buffers are overwritten by later calls.
    active = result > 0 if _args.normalize_activation(activation) else None

    def vjp(g):
        if active is not None:
            g = g * active
        return g @ x2.T, x1.T @ g, (None if bias is None else g.sum(axis=0))
    return vjp


@primitive(_fused_matmul_vjp)
def _fused_matmul(x1, x2, bias=None, activation=None, out=None, accumulate=False):
    return _gemm_matmul(x1, x2, bias, activation=activation, out=out, accumulate=accumulate)


def _explicit(subscripts, shapes):
    """Input terms and output term with ellipses replaced by letters."""
    subscripts = subscripts.replace(" ", "")
    inputs, arrow, output = subscripts.partition("->")
    terms = inputs.split(",")
    if len(terms) != len(shapes):
        raise ValueError(f"einsum subscripts name {len(terms)} operands but {len(shapes)} were "
                         f"given. Received: subscripts={subscripts!r}")
    free = [c for c in string.ascii_letters if c not in subscripts]
    widths = [len(shape) - (len(term) - 3) for term, shape in zip(terms, shapes)
              if "..." in term]
    ellipsis = "".join(free[:max(widths, default=0)])
    terms = [term.replace("...", ellipsis[len(ellipsis) - (len(shape) - len(term) + 3):])
             if "..." in term else term for term, shape in zip(terms, shapes)]
    if arrow:
        output = output.replace("...", ellipsis)
    else:
        letters = "".join(terms)
        output = ellipsis + "".join(sorted(c for c in set(letters)
                                           if letters.count(c) == 1 and c not in ellipsis))
    return terms, output


def _einsum_vjp(out, subscripts, *operands, **kwargs):
    terms, output = _explicit(subscripts, [np.shape(o) for o in operands])

    def gradient(index, g):
        term = terms[index]
        if len(set(term)) != len(term):
            raise TypeError(f"einsum's gradient for a repeated index within one operand "
                            f"({term!r}) is not implemented.")
        others = [t for i, t in enumerate(terms) if i != index]
        reachable = set(output).union(*others)
        kept = "".join(c for c in term if c in reachable)
        grad = np.einsum(",".join([output] + others) + "->" + kept, g,
                         *[o for i, o in enumerate(operands) if i != index])
        # Letters summed within this operand alone: its gradient is constant along them.
        # (A letter of a size-1 axis broadcast against other operands keeps the broadcast
        # size here: the tape sums it back.)
        for axis, letter in enumerate(term):
            if letter not in reachable:
                grad = np.expand_dims(grad, axis)
        shape = np.shape(operands[index])
        return np.broadcast_to(grad, tuple(size if letter not in reachable else grad.shape[axis]
                                           for axis, (letter, size) in enumerate(zip(term, shape))))

    return lambda g: (None,) + tuple(gradient(i, g) for i in range(len(operands)))


@primitive(_einsum_vjp)
def _einsum(subscripts, *operands, **kwargs):
    return np.einsum(subscripts, *operands, **kwargs)


def einsum(subscripts, *operands, **kwargs):
    """Einstein summation over `operands` as `subscripts` says ("ij,jk->ik", "...ij->...ji").

    Example:
        >>> from fastconv import ops
        >>> ops.einsum("ij,j->i", [[1.0, 2.0], [0.0, 1.0]], [3.0, 4.0])
        array([11.,  4.], dtype=float32)
    """
    return _einsum(subscripts, *[tensor(o) for o in operands], **kwargs)


def tensordot(x1, x2, axes=2):
    """The sum of products over `axes` (an int: the last of x1 with the first of x2; or
    two sequences of axes)."""
    x1, x2 = tensor(x1), tensor(x2)
    if isinstance(axes, (int, np.integer)):
        axes1, axes2 = list(range(x1.ndim - axes, x1.ndim)), list(range(axes))
    else:
        axes1, axes2 = ([a] if isinstance(a, (int, np.integer)) else list(a) for a in axes)
    axes1 = axis_tuple(axes1, x1.ndim, "axes")
    axes2 = axis_tuple(axes2, x2.ndim, "axes")
    if len(axes1) != len(axes2) or any(x1.shape[a] != x2.shape[b] for a, b in zip(axes1, axes2)):
        raise ValueError("tensordot contracts axes of equal sizes. Received: "
                         f"x1.shape={x1.shape}, x2.shape={x2.shape}, axes={axes}")
    letters = iter(string.ascii_letters)
    term1 = [next(letters) for _ in range(x1.ndim)]
    term2 = [next(letters) for _ in range(x2.ndim)]
    for a, b in zip(axes1, axes2):
        term2[b] = term1[a]
    output = [c for i, c in enumerate(term1) if i not in axes1] + [
        c for i, c in enumerate(term2) if i not in axes2]
    return einsum("".join(term1) + "," + "".join(term2) + "->" + "".join(output), x1, x2)


def dot(x1, x2):
    """`np.dot`: products of scalars, inner products of vectors, matmul of matrices, and a
    sum over x1's last and x2's second-to-last axis beyond."""
    x1, x2 = promote(x1, x2)
    x1, x2 = tensor(x1), tensor(x2)
    if x1.ndim == 0 or x2.ndim == 0:
        return np.multiply(x1, x2)
    if x2.ndim <= 2 and x1.ndim <= 2:
        return matmul(x1, x2)
    return tensordot(x1, x2, axes=([x1.ndim - 1], [max(x2.ndim - 2, 0)]))


def outer(x1, x2):
    """The outer product of the flattened `x1` and `x2`."""
    x1, x2 = promote(x1, x2)
    return np.reshape(tensor(x1), (-1, 1)) * np.reshape(tensor(x2), (1, -1))


def inner(x1, x2):
    """The sum of products over the last axes of `x1` and `x2`."""
    x1, x2 = promote(x1, x2)
    x1, x2 = tensor(x1), tensor(x2)
    if x1.ndim == 0 or x2.ndim == 0:
        return np.multiply(x1, x2)
    return tensordot(x1, x2, axes=([x1.ndim - 1], [x2.ndim - 1]))


def vdot(x1, x2):
    """The dot product of the flattened `x1` and `x2`."""
    x1, x2 = promote(x1, x2)
    return np.sum(np.reshape(tensor(x1), -1) * np.reshape(tensor(x2), -1))


def norm(x, ord=None, axis=None, keepdims=False):  # noqa: A002 - Keras's argument name
    """Vector or matrix norm (as `np.linalg.norm`); int inputs give float32.

    Vector norms (an int `axis`, or 1-D `x`): ord None/2 (Euclidean), 1, inf, -inf, 0
    (count of non-zeros), or any p. Matrix norms (two axes, or 2-D `x` with `axis` None):
    None/"fro", 1, -1, inf, -inf; "nuc", 2 and -2 (singular values) are forward only.
    Differentiable where the norm is (the Euclidean norm of zeros has no gradient).

    Example:
        >>> from fastconv import ops
        >>> float(ops.norm([3.0, 4.0]))
        5.0
    """
    x = as_float(x)
    if axis is None and (ord is None or x.ndim == 1):
        axes = tuple(range(x.ndim)) if ord is None else (0,)
    elif axis is None and x.ndim == 2:
        axes = (0, 1)
    elif axis is None:
        raise ValueError(f"Improper number of dimensions to norm. Received: x.shape={x.shape}, "
                         f"ord={ord}")
    else:
        axes = axis_tuple(axis, x.ndim)
    magnitude = np.abs(x)
    if ord is None or (ord == "fro" and len(axes) == 2) or (ord == 2 and len(axes) == 1):
        return np.sqrt(np.sum(x * x, axis=axes, keepdims=keepdims))
    if len(axes) == 1:
        if ord == np.inf:
            return np.max(magnitude, axis=axes, keepdims=keepdims)
        if ord == -np.inf:
            return np.min(magnitude, axis=axes, keepdims=keepdims)
        if ord == 0:
            return np.sum(x != 0, axis=axes, keepdims=keepdims).astype(x.dtype)
        if isinstance(ord, str):
            raise ValueError(f"Invalid norm order for vectors. Received: ord={ord!r}")
        return np.sum(magnitude ** ord, axis=axes, keepdims=keepdims) ** (1.0 / ord)
    if len(axes) != 2:
        raise ValueError(f"`axis` must name one or two axes. Received: axis={axis}")
    row, col = axes
    if ord in (1, -1, np.inf, -np.inf):
        summed_axis, then = (row, col) if ord in (1, -1) else (col, row)
        sums = np.sum(magnitude, axis=summed_axis, keepdims=True)
        pick = np.max if ord > 0 else np.min
        result = pick(sums, axis=then, keepdims=True)
        return result if keepdims else np.squeeze(result, axis=axes)
    if ord in ("nuc", 2, -2):
        return np.linalg.norm(x, ord=ord, axis=axes, keepdims=keepdims)
    raise ValueError(f"Invalid norm order for matrices. Received: ord={ord!r}")


def _matrix_transpose(a):
    return np.swapaxes(a, -1, -2)


def _inv_vjp(out, x):
    return lambda g: (-_matrix_transpose(out) @ g @ _matrix_transpose(out),)


@primitive(_inv_vjp)
def _inv(x):
    return np.linalg.inv(x)


def inv(x):
    """The inverse of each square matrix in the last two axes (differentiable)."""
    return _inv(as_float(x))


def _det_vjp(out, x):
    return lambda g: ((g * out)[..., None, None] * _matrix_transpose(np.linalg.inv(x)),)


@primitive(_det_vjp)
def _det(x):
    return np.linalg.det(x)


def det(x):
    """The determinant of each square matrix in the last two axes (differentiable where the
    matrix is invertible)."""
    return _det(as_float(x))


def _solve_vjp(out, a, b):
    vector = b.ndim == 1

    def vjp(g):
        grad_b = np.linalg.solve(_matrix_transpose(a), g)
        column, solution = (grad_b[:, None], out[:, None]) if vector else (grad_b, out)
        return -column @ _matrix_transpose(solution), grad_b
    return vjp


@primitive(_solve_vjp)
def _solve(a, b):
    return np.linalg.solve(a, b)


def solve(a, b):
    """x with a @ x = b, for a (..., n, n) and b (..., n, k) or (n,) (differentiable)."""
    a, b = promote(as_float(a), b)
    return _solve(a, tensor(b))


def solve_triangular(a, b, lower=False):
    """`solve` reading only the lower (or upper) triangle of `a` (differentiable)."""
    return solve(tril(a) if lower else triu(a), b)


def cholesky(x, upper=False):
    """The Cholesky factor L (x = L L^T), or U = L^T with `upper`. Forward only."""
    factor = np.linalg.cholesky(as_float(x))
    return _matrix_transpose(factor) if upper else factor


def qr(x, mode="reduced"):
    """(q, r) of each matrix ("reduced" or "complete"). Forward only."""
    if mode not in ("reduced", "complete"):
        raise ValueError(f"`mode` must be 'reduced' or 'complete'. Received: mode={mode}")
    return tuple(np.linalg.qr(as_float(x), mode=mode))


def svd(x, full_matrices=True, compute_uv=True):
    """(u, s, vh) of each matrix, or s alone without `compute_uv`. Forward only."""
    result = np.linalg.svd(as_float(x), full_matrices=full_matrices, compute_uv=compute_uv)
    return tuple(result) if compute_uv else result


def eigh(x):
    """(eigenvalues, eigenvectors) of each symmetric matrix. Forward only."""
    return tuple(np.linalg.eigh(as_float(x)))


def lstsq(a, b, rcond=None):
    """The least-squares solution x of a @ x = b. Forward only."""
    return np.linalg.lstsq(as_float(a), as_float(b), rcond=rcond)[0]


def _numpy_einsum(*operands, out=None, **kwargs):
    if out is not None:
        raise TypeError("np.einsum on traced values takes no `out`.")
    kwargs.pop("optimize", None)
    return einsum(*operands, **kwargs)


register_function(np.einsum, _numpy_einsum)
register_function(np.tensordot, lambda a, b, axes=2: tensordot(a, b, axes))
def _without_out(op):
    def numpy_signature(a, b, out=None):
        if out is not None:
            raise TypeError(f"np.{op.__name__} on traced values takes no `out`.")
        return op(a, b)
    return numpy_signature


register_function(np.dot, _without_out(dot))
register_function(np.outer, _without_out(outer))
register_function(np.inner, inner)
register_function(np.linalg.inv, inv)
register_function(np.linalg.det, det)
register_function(np.linalg.solve, solve)
