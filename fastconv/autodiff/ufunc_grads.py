"""Vector-Jacobian products of the NumPy ufuncs and reductions the tape follows.

Each maker takes the plain output and inputs of one call and returns `vjp(g)`: one
gradient per input, possibly in the broadcast shape (the tape sums it back).
"""

import numpy as np

from fastconv.autodiff.traced import register_ufunc

__all__ = []


def _unary(derivative):
    """A maker for y = f(x) given dy/dx as a function of (x, y)."""
    return lambda out, x, **kw: (lambda g: (g * derivative(x, out),))


_UNARY = {
    np.negative: lambda x, y: -1.0,
    np.positive: lambda x, y: 1.0,
    np.exp: lambda x, y: y,
    np.expm1: lambda x, y: y + 1.0,
    np.log: lambda x, y: 1.0 / x,
    np.log1p: lambda x, y: 1.0 / (1.0 + x),
    np.log2: lambda x, y: 1.0 / (x * np.log(2.0)),
    np.log10: lambda x, y: 1.0 / (x * np.log(10.0)),
    np.sqrt: lambda x, y: 0.5 / y,
    np.cbrt: lambda x, y: 1.0 / (3.0 * y * y),
    np.square: lambda x, y: 2.0 * x,
    np.reciprocal: lambda x, y: -y * y,
    np.absolute: lambda x, y: np.sign(x),
    np.tanh: lambda x, y: 1.0 - y * y,
    np.sinh: lambda x, y: np.cosh(x),
    np.cosh: lambda x, y: np.sinh(x),
    np.sin: lambda x, y: np.cos(x),
    np.cos: lambda x, y: -np.sin(x),
    np.tan: lambda x, y: 1.0 + y * y,
    np.arctan: lambda x, y: 1.0 / (1.0 + x * x),
    np.arcsin: lambda x, y: 1.0 / np.sqrt(1.0 - x * x),
    np.arccos: lambda x, y: -1.0 / np.sqrt(1.0 - x * x),
    np.arcsinh: lambda x, y: 1.0 / np.sqrt(x * x + 1.0),
    np.arctanh: lambda x, y: 1.0 / (1.0 - x * x),
    np.exp2: lambda x, y: y * np.log(2.0),
}
for _ufunc, _derivative in _UNARY.items():
    register_ufunc(_ufunc, _unary(_derivative))

register_ufunc(np.add, lambda out, a, b, **kw: lambda g: (g, g))
register_ufunc(np.subtract, lambda out, a, b, **kw: lambda g: (g, -g))
register_ufunc(np.multiply, lambda out, a, b, **kw: lambda g: (g * b, g * a))
register_ufunc(np.true_divide, lambda out, a, b, **kw: lambda g: (g / b, -g * a / (b * b)))


def _power(out, a, b, **kw):
    def vjp(g):
        grad_a = g * b * np.power(a, b - 1)
        with np.errstate(divide="ignore", invalid="ignore"):
            grad_b = g * out * np.where(a > 0, np.log(np.where(a > 0, a, 1)), 0)
        return grad_a, grad_b
    return vjp


register_ufunc(np.power, _power)


def _pick(take_first):
    """max/min: the gradient goes to the chosen input (to the first on ties, as Keras's
    NumPy backend's where-based rule)."""
    def maker(out, a, b, **kw):
        first = take_first(np.asarray(a), np.asarray(b))
        return lambda g: (np.where(first, g, 0), np.where(first, 0, g))
    return maker


register_ufunc(np.maximum, _pick(lambda a, b: a >= b))
register_ufunc(np.minimum, _pick(lambda a, b: a <= b))
register_ufunc(np.fmax, _pick(lambda a, b: a >= b))
register_ufunc(np.fmin, _pick(lambda a, b: a <= b))


def _arctan2(out, y, x, **kw):
    def vjp(g):
        denominator = x * x + y * y
        return g * x / denominator, -g * y / denominator
    return vjp


register_ufunc(np.arctan2, _arctan2)


def _matmul(out, a, b, **kw):
    if a.ndim == 1 and b.ndim == 1:
        return lambda g: (g * b, g * a)

    def vjp(g):
        a2 = a[None, :] if a.ndim == 1 else a
        b2 = b[:, None] if b.ndim == 1 else b
        g2 = g
        if a.ndim == 1:
            g2 = np.expand_dims(g2, -2)
        if b.ndim == 1:
            g2 = np.expand_dims(g2, -1)
        grad_a = np.matmul(g2, np.swapaxes(b2, -1, -2))
        grad_b = np.matmul(np.swapaxes(a2, -1, -2), g2)
        if a.ndim == 1:
            grad_a = np.squeeze(grad_a, -2)
        if b.ndim == 1:
            grad_b = np.squeeze(grad_b, -1)
        return grad_a, grad_b
    return vjp


register_ufunc(np.matmul, _matmul)




def _reduced_axes(ndim, axis):
    if axis is None:
        return tuple(range(ndim))
    return tuple(a % ndim for a in (axis if isinstance(axis, tuple) else (axis,)))


def _expand(g, ndim, axis, keepdims):
    """A reduction's output gradient with the reduced axes put back (size 1)."""
    g = np.asarray(g)
    if keepdims:
        return g
    for a in sorted(_reduced_axes(ndim, axis)):
        g = np.expand_dims(g, a)
    return g


def _sum_reduce(out, x, axis=0, dtype=None, keepdims=False, **kw):
    return lambda g: (np.broadcast_to(_expand(g, x.ndim, axis, keepdims), x.shape),)


def _extreme_reduce(out, x, axis=0, keepdims=False, **kw):
    def vjp(g):
        chosen = x == _expand(out, x.ndim, axis, keepdims)
        # Ties share the gradient equally, so the total stays that of one element; where
        # `initial=` won, no element was chosen and none gets a gradient.
        count = np.sum(chosen, axis=_reduced_axes(x.ndim, axis), keepdims=True)
        share = np.divide(chosen, count, out=np.zeros(chosen.shape), where=count > 0)
        return (share * _expand(g, x.ndim, axis, keepdims),)
    return vjp


def _prod_reduce(out, x, axis=0, dtype=None, keepdims=False, **kw):
    def vjp(g):
        with np.errstate(divide="ignore", invalid="ignore"):
            others = _expand(out, x.ndim, axis, keepdims) / x
        if np.any(x == 0):
            raise ValueError("The gradient of prod at an input of 0 is not implemented; "
                             "use fastconv.ops.prod on inputs without zeros.")
        return (others * _expand(g, x.ndim, axis, keepdims),)
    return vjp


def _cumsum(out, x, axis=0, dtype=None, **kw):
    return lambda g: (np.flip(np.cumsum(np.flip(g, axis), axis=axis), axis),)


register_ufunc(np.add, _sum_reduce, method="reduce")
register_ufunc(np.maximum, _extreme_reduce, method="reduce")
register_ufunc(np.minimum, _extreme_reduce, method="reduce")
register_ufunc(np.multiply, _prod_reduce, method="reduce")
register_ufunc(np.add, _cumsum, method="accumulate")
