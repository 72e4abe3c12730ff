"""One check for a differentiable op: the gradient tape's gradient of sum(f(*arrays) * w),
w random, against float64 central finite differences, for every array argument.

`f` may return an array or a list/tuple of arrays (each gets its own weights). Used by the
tests/test_keras_ops_*.py files.
"""

import numpy as np

from fastconv.autodiff import GradientTape


def _weighted_sum(output, weights):
    if isinstance(output, (list, tuple)):
        return sum(_weighted_sum(o, w) for o, w in zip(output, weights))
    return np.sum(output * weights)


def _weights_like(output, rng):
    if isinstance(output, (list, tuple)):
        return [_weights_like(o, rng) for o in output]
    return rng.standard_normal(np.shape(output))


def numerical_gradient(f, arrays, index, eps=1e-6):
    """d f(*arrays) / d arrays[index] by central differences (f returns a scalar)."""
    base = np.asarray(arrays[index], np.float64)
    grad = np.zeros_like(base)
    for position in np.ndindex(base.shape):
        values = []
        for sign in (1, -1):
            shifted = base.copy()
            shifted[position] += sign * eps
            args = list(arrays)
            args[index] = shifted
            values.append(float(f(*args)))
        grad[position] = (values[0] - values[1]) / (2 * eps)
    return grad


def check_gradients(f, *arrays, rtol=1e-6, atol=1e-7, eps=1e-6):
    """Asserts the tape's gradients of f with respect to each float64 array in `arrays`
    equal finite differences; non-array arguments (ints, tuples) are passed through."""
    arrays = [np.asarray(a, np.float64) if isinstance(a, np.ndarray) else a for a in arrays]
    positions = [i for i, a in enumerate(arrays) if isinstance(a, np.ndarray)]
    weights = _weights_like(f(*arrays), np.random.default_rng(7))

    def weighted(*args):
        return _weighted_sum(f(*args), weights)

    with GradientTape() as tape:
        traced = list(arrays)
        for i in positions:
            traced[i] = tape.watch(arrays[i])
        target = weighted(*traced)
    grads = tape.gradient(target, [traced[i] for i in positions])
    for i, grad in zip(positions, grads):
        assert grad is not None, f"no gradient reached argument {i}"
        assert type(grad) is np.ndarray and grad.shape == arrays[i].shape
        expected = numerical_gradient(weighted, arrays, i, eps)
        np.testing.assert_allclose(grad, expected, rtol=rtol, atol=atol,
                                   err_msg=f"gradient of argument {i}")
