"""The gradient tape: every recorded ufunc, reduction and view against float64 central
finite differences, Variables as leaves, and the errors that replace silent gradient loss."""

import numpy as np
import pytest

from fastconv import autodiff
from fastconv.autodiff import GradientTape, Variable


def numerical_gradient(f, arrays, index, eps=1e-6):
    """d f(arrays) / d arrays[index] by central differences, in float64."""
    base = arrays[index]
    grad = np.zeros_like(base)
    for position in np.ndindex(base.shape):
        values = []
        for sign in (1, -1):
            shifted = base.copy()
            shifted[position] += sign * eps
            args = list(arrays)
            args[index] = shifted
            values.append(float(np.sum(f(*args))))
        grad[position] = (values[0] - values[1]) / (2 * eps)
    return grad


def check_gradients(f, *arrays, rtol=1e-6, atol=1e-7):
    """Compares the tape's gradient of sum(f(*arrays) * w) (w random) with finite differences."""
    rng = np.random.default_rng(7)
    weights = rng.standard_normal(np.shape(f(*arrays)))

    def weighted(*args):
        return np.sum(f(*args) * weights)

    with GradientTape() as tape:
        traced = [tape.watch(a) for a in arrays]
        target = weighted(*traced)
    grads = tape.gradient(target, traced)
    for index, grad in enumerate(grads):
        expected = numerical_gradient(weighted, list(arrays), index)
        np.testing.assert_allclose(grad, expected, rtol=rtol, atol=atol,
                                   err_msg=f"gradient of argument {index}")


rng = np.random.default_rng(0)
POSITIVE = rng.uniform(0.5, 2.0, (3, 4))
SIGNED = rng.standard_normal((3, 4))
ROW = rng.standard_normal((4,))
UNIT = rng.uniform(-0.8, 0.8, (3, 4))

UNARY = [np.negative, np.exp, np.expm1, np.log, np.log1p, np.log2, np.log10, np.sqrt, np.cbrt,
         np.square, np.reciprocal, np.absolute, np.tanh, np.sinh, np.cosh, np.sin, np.cos,
         np.tan, np.arctan, np.arcsinh, np.exp2]


@pytest.mark.parametrize("ufunc", UNARY, ids=lambda u: u.__name__)
def test_unary_ufuncs(ufunc):
    check_gradients(ufunc, POSITIVE)


@pytest.mark.parametrize("ufunc", [np.arcsin, np.arccos, np.arctanh], ids=lambda u: u.__name__)
def test_unary_ufuncs_on_the_unit_interval(ufunc):
    check_gradients(ufunc, UNIT)


@pytest.mark.parametrize("ufunc", [np.add, np.subtract, np.multiply, np.true_divide, np.power,
                                   np.maximum, np.minimum, np.arctan2],
                         ids=lambda u: u.__name__)
def test_binary_ufuncs_with_broadcasting(ufunc):
    check_gradients(ufunc, POSITIVE, ROW + 2.5)
    check_gradients(ufunc, ROW + 2.5, POSITIVE)


def test_operators_and_matmul():
    check_gradients(lambda a, b: (a @ b.T) * 2 - a.sum() / 3 + (-a) ** 2 @ b.T, SIGNED, POSITIVE)
    check_gradients(lambda a, v: a @ v, SIGNED, ROW)
    check_gradients(lambda v, a: v @ a.T, ROW, SIGNED)
    check_gradients(lambda v, w: v @ w, ROW, ROW * 2)


@pytest.mark.parametrize("reduce", [
    lambda a: a.sum(axis=0), lambda a: a.sum(axis=(0, 1), keepdims=True),
    lambda a: np.max(a, axis=1), lambda a: a.min(), lambda a: a.prod(axis=1),
    lambda a: np.mean(a, axis=0), lambda a: a.mean(), lambda a: a.var(axis=1),
    lambda a: np.std(a, axis=0, keepdims=True), lambda a: np.cumsum(a, axis=1),
    lambda a: np.clip(a, -0.5, 0.5), lambda a: np.var(a, ddof=1),
], ids=["sum0", "sum01", "max1", "min", "prod1", "mean0", "mean", "var1", "std0", "cumsum",
        "clip", "var_ddof"])
def test_reductions(reduce):
    check_gradients(reduce, SIGNED)


def test_max_won_by_initial_passes_no_gradient():
    x = np.array([[1.0, 2.0], [5.0, 0.5]])
    with GradientTape() as tape:
        t = tape.watch(x)
        y = np.max(t, axis=1, initial=3.0).sum()
    np.testing.assert_array_equal(tape.gradient(y, t), [[0.0, 0.0], [1.0, 0.0]])


def test_ties_in_max_share_the_gradient():
    x = np.array([1.0, 3.0, 3.0])
    with GradientTape() as tape:
        t = tape.watch(x)
        y = t.max()
    np.testing.assert_array_equal(tape.gradient(y, t), [0.0, 0.5, 0.5])


@pytest.mark.parametrize("view", [
    lambda a: a.reshape(4, 3), lambda a: a.reshape((2, 6)).T, lambda a: a.transpose(1, 0),
    lambda a: a[1:, ::2], lambda a: a[[0, 0, 2]], lambda a: a[a[:, 0] > 0],
    lambda a: a[None, :, 1], lambda a: a.flatten()[3:], lambda a: a.squeeze(),
    lambda a: np.expand_dims(a, 1), lambda a: np.swapaxes(a, 0, 1),
    lambda a: np.moveaxis(a[None], 0, 2), lambda a: np.concatenate([a, a * 2], axis=1),
    lambda a: np.stack([a, a[::-1]], axis=0), lambda a: np.where(a > 0, a, a * a),
    lambda a: a.astype(np.float64), lambda a: a.copy(), lambda a: a.ravel(),
    lambda a: np.concatenate([a, a], axis=None),
], ids=["reshape", "reshape_T", "transpose", "slice", "repeated_index", "mask", "newaxis",
        "flatten", "squeeze", "expand_dims", "swapaxes", "moveaxis", "concatenate", "stack",
        "where", "astype", "copy", "ravel", "concatenate_flat"])
def test_views_and_indexing(view):
    check_gradients(view, SIGNED)


def test_variables_are_watched_and_stay_arrays():
    kernel = Variable(rng.standard_normal((3, 2)), name="kernel", path="dense/kernel")
    bias = Variable(np.zeros(2), name="bias")
    x = rng.standard_normal((5, 3))
    with GradientTape() as tape:
        loss = np.sum(np.tanh(x @ kernel + bias) ** 2)
    grad_kernel, grad_bias = tape.gradient(loss, [kernel, bias])
    expected = numerical_gradient(lambda k: np.sum(np.tanh(x @ k + bias.numpy()) ** 2),
                                  [kernel.numpy()], 0)
    np.testing.assert_allclose(grad_kernel, expected, rtol=1e-6, atol=1e-8)
    assert type(grad_kernel) is np.ndarray and grad_bias.shape == (2,)
    assert (kernel.name, kernel.path, kernel.trainable) == ("kernel", "dense/kernel", True)
    assert type(kernel * 2) is np.ndarray and type(np.asarray(kernel)) is np.ndarray
    before = kernel.numpy()
    kernel -= 0.5  # optimizers update in place
    assert isinstance(kernel, Variable)
    np.testing.assert_array_equal(kernel.numpy(), before - 0.5)


def test_variable_assign_checks_the_shape():
    variable = Variable(np.zeros((2, 2)), name="v")
    variable.assign(np.ones((2, 2)))
    np.testing.assert_array_equal(variable.value, np.ones((2, 2)))
    with pytest.raises(ValueError, match="must match"):
        variable.assign(np.ones(3))


def test_unconnected_sources():
    a, b = Variable(np.ones(2)), Variable(np.ones(2))
    with GradientTape(persistent=True) as tape:
        y = np.sum(a * 3)
    assert tape.gradient(y, [a, b])[1] is None
    np.testing.assert_array_equal(tape.gradient(y, b, unconnected_gradients="zero"), [0, 0])


def test_output_gradients_and_persistence():
    x = SIGNED.copy()
    with GradientTape() as tape:
        t = tape.watch(x)
        y = t * 3
    np.testing.assert_allclose(tape.gradient(y, t, output_gradients=np.full_like(x, 2)),
                               np.full_like(x, 6))
    with pytest.raises(RuntimeError, match="persistent"):
        tape.gradient(y, t)


def test_stop_gradient():
    x = SIGNED.copy()
    with GradientTape() as tape:
        t = tape.watch(x)
        y = np.sum(t * autodiff.stop_gradient(t))
    np.testing.assert_allclose(tape.gradient(y, t), x)


def test_no_tape_means_plain_arrays():
    traced_before = None
    with GradientTape() as tape:
        traced_before = tape.watch(SIGNED)
    result = np.exp(traced_before) + 1  # after the tape: constants, plain results
    assert type(result) is np.ndarray


def test_what_has_no_gradient_raises():
    with GradientTape() as tape:
        t = tape.watch(SIGNED)
        with pytest.raises(TypeError, match="np.linalg.norm|norm"):
            np.linalg.norm(t)
        with pytest.raises(TypeError, match="In-place"):
            np.add(t, 1, out=t)
        with pytest.raises(TypeError, match="no gradient"):
            np.fft.fft(t)
        detached = np.ndarray.view(t, np.ndarray)  # an explicit escape is allowed
        assert type(detached) is np.ndarray


def test_augmented_assignment_rebinds_a_traced_value():
    # As TensorFlow/JAX tensors (Keras code writes `loss += sum(model.losses)`): a new value.
    with GradientTape() as tape:
        t = tape.watch(SIGNED)
        total = np.sum(t)
        total += np.sum(t * t)
        total *= 2.0
    np.testing.assert_allclose(tape.gradient(total, t), 2.0 * (1.0 + 2.0 * SIGNED))


def test_constant_functions_run():
    with GradientTape() as tape:
        t = tape.watch(SIGNED)
        assert np.argmax(t) == np.argmax(SIGNED)
        assert np.shape(t) == SIGNED.shape
        mask = t > 0
    assert mask.dtype == bool and type(mask) is np.ndarray
