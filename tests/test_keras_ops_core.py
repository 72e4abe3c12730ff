"""keras.ops core, math and image in fastconv, and the namespaces: conversion rules, eager
control flow (differentiated through its iterations), slicing and scattering, math and
resize against values computed independently, gradients by float64 finite differences."""

import inspect
import math

import numpy as np
import pytest
from gradcheck import check_gradients

import fastconv as keras
from fastconv import ops
from fastconv.autodiff import GradientTape, Traced, Variable

rng = np.random.default_rng(2)
A = rng.standard_normal((3, 4))


def test_keras_namespaces_and_the_flat_one():
    assert keras.ops.relu is ops.nn.relu is ops.relu
    assert ops.numpy.sum is ops.sum and ops.numpy.matmul is ops.matmul
    assert ops.math.erf is ops.erf and ops.core.cast is ops.cast
    assert ops.linalg.norm is ops.norm and callable(ops.image.resize)
    assert set(ops.nn.__all__) | set(ops.numpy.__all__) | set(ops.math.__all__) <= set(ops.__all__)
    assert all(callable(getattr(ops, name)) for name in ops.__all__)
    namespace = {"math": math}
    exec("from fastconv.ops import *", namespace)
    assert namespace["math"] is math and namespace["relu"] is ops.relu  # no stdlib shadowing


def test_the_kernel_functions_keep_their_signatures():
    import importlib
    conv2d, pool2d, optim, activation = (importlib.import_module(f"fastconv.ops.{name}") for name
                                         in ("conv2d", "pool2d", "optim", "activation"))
    assert ops.conv2d is conv2d.conv2d and ops.conv2d_backward is conv2d.conv2d_backward
    assert ops.max_pool2d is pool2d.max_pool2d and ops.avg_pool2d_backward is pool2d.avg_pool2d_backward
    assert ops.adam_update is optim.adam_update and ops.relu_backward is activation.relu_backward
    params = list(inspect.signature(ops.matmul).parameters)
    assert params[2:] == ["bias", "activation", "out", "accumulate"]


def test_convert_to_tensor_follows_keras_defaults():
    assert ops.convert_to_tensor(1.5).dtype == np.float32
    assert ops.convert_to_tensor([[1, 2], [3, 4]]).dtype == np.int32
    assert ops.convert_to_tensor([1, 2.5]).dtype == np.float32
    assert ops.convert_to_tensor(np.ones(2)).dtype == np.float64       # arrays keep theirs
    assert ops.convert_to_tensor([np.float64(1.0)]).dtype == np.float64
    assert ops.convert_to_tensor([2**40]).dtype == np.int64             # does not fit int32
    assert ops.convert_to_tensor([1, 2], dtype="float16").dtype == np.float16
    assert ops.dtype(np.ones(2, np.float32)) == "float32" and ops.shape(A) == (3, 4)
    assert ops.is_tensor(A) and not ops.is_tensor([1.0])
    with pytest.raises(ValueError, match="sparse"):
        ops.convert_to_tensor(A, sparse=True)
    with pytest.raises(ValueError, match="Invalid dtype"):
        ops.cast(A, "float99")
    symbolic = keras.Input(shape=(3,))
    with pytest.raises(TypeError, match="symbolic"):
        ops.relu(symbolic)
    with pytest.raises(TypeError, match="custom Layer"):
        ops.add(symbolic, 1.0)


def test_conversions_keep_the_gradient_and_convert_to_numpy_drops_it():
    weight = Variable(A, name="w")
    with GradientTape() as tape:
        y = ops.sum(ops.cast(ops.convert_to_tensor(weight), "float32") * 2.0)
        assert isinstance(y, Traced)
        plain = ops.convert_to_numpy(weight)
        assert type(plain) is np.ndarray and not np.shares_memory(plain, weight)
    grad = tape.gradient(y, weight)
    assert grad.dtype == np.float64
    np.testing.assert_array_equal(grad, np.full_like(A, 2.0))
    with GradientTape() as tape:
        t = tape.watch(A)
        y = ops.sum(t * ops.stop_gradient(t))
    np.testing.assert_allclose(tape.gradient(y, t), A)
    check_gradients(lambda a, b: ops.convert_to_tensor([a, b * 2]), A[0], A[1])  # a list of them


def test_eager_control_flow():
    assert ops.cond(True, lambda: 1, lambda: 2) == 1 and ops.cond(np.bool_(False), lambda: 1,
                                                                   lambda: 2) == 2
    assert ops.switch(5, [lambda x: x, lambda x: -x], 3) == -3  # index clamped, as Keras
    assert ops.fori_loop(0, 4, lambda i, v: v + i, 10) == 16
    assert ops.while_loop(lambda i, s: i < 3, lambda i, s: (i + 1, s * 2), (0, 1)) == (3, 8)
    assert ops.while_loop(lambda i: i < 100, lambda i: i + 1, 0, maximum_iterations=5) == 5
    carry, ys = ops.scan(lambda c, x: (c + x, c * x), 0.0, np.arange(1.0, 5.0))
    assert carry == 10.0 and ys.tolist() == [0.0, 2.0, 9.0, 24.0]
    carry, ys = ops.scan(lambda c, x: (c + x, c), 0.0, np.arange(1.0, 4.0), reverse=True)
    assert carry == 6.0 and ys.tolist() == [5.0, 3.0, 0.0]
    carry, ys = ops.scan(lambda c, _: (c * 2, None), 1, length=3)
    assert carry == 8 and ys is None
    np.testing.assert_array_equal(ops.map(lambda r: r.sum(), A), A.sum(axis=1))
    np.testing.assert_array_equal(ops.vectorized_map(lambda r: r * 2, A), A * 2)
    with pytest.raises(ValueError, match="length"):
        ops.scan(lambda c, x: (c, x), 0.0)


def test_control_flow_is_differentiated_through_its_iterations():
    check_gradients(lambda x: ops.fori_loop(0, 3, lambda i, v: v * x + i, np.ones(4)), A[0])
    check_gradients(lambda x: ops.scan(lambda c, r: (c * r, c), np.ones(4), x)[1], A)
    check_gradients(lambda x: ops.map(lambda row: ops.sum(row * row), x), A)
    check_gradients(lambda x: ops.vectorized_map(lambda row: ops.flip(row), x), A)
    check_gradients(lambda x: ops.while_loop(lambda i, v: i < 2, lambda i, v: (i + 1, ops.sin(v)),
                                             (0, x))[1], A)


def test_unstack_slice_and_scatter():
    parts = ops.unstack(A, axis=1)
    assert len(parts) == 4 and all(np.array_equal(p, A[:, i]) for i, p in enumerate(parts))
    check_gradients(lambda x: ops.unstack(x, axis=1), A)
    np.testing.assert_array_equal(ops.slice(A, (1, 1), (2, 2)), A[1:3, 1:3])
    check_gradients(lambda x: ops.slice(x, np.array([0, 2]), (3, 2)), A)
    updated = ops.slice_update(A, (1, 0), np.zeros((1, 4)))
    assert updated[1].tolist() == [0.0] * 4 and np.array_equal(updated[0], A[0])
    check_gradients(lambda x, u: ops.slice_update(x, (0, 1), u), A, A[:2, :2])
    scattered = ops.scatter([[0, 1], [2, 3], [0, 1]], [1.0, 2.0, 3.0], (3, 4))
    assert scattered[0, 1] == 4.0 and scattered[2, 3] == 2.0 and scattered.sum() == 6.0
    check_gradients(lambda v: ops.scatter(np.array([[0, 1], [2, 3], [0, 1]]), v, (3, 4)),
                    A[0, :3])
    rows = ops.scatter_update(A, [[1], [2]], np.zeros((2, 4)))
    assert rows[1:].sum() == 0 and np.array_equal(rows[0], A[0])
    check_gradients(lambda x, u: ops.scatter_update(x, np.array([[0, 1], [2, 2]]), u), A, A[0, :2])
    with pytest.raises(ValueError, match="inside `inputs`"):
        ops.slice(A, (2, 0), (2, 4))
    with pytest.raises(ValueError, match="integers of shape"):
        ops.scatter([0.5], [1.0], (2,))
    with pytest.raises(ValueError, match="reduction"):
        ops.scatter_update(A, [[0, 0]], [1.0], reduction="add")
    with pytest.raises(ValueError, match="num"):
        ops.unstack(A, num=2)


def test_math_ops():
    x = np.linspace(-3, 3, 13)
    np.testing.assert_allclose(ops.erf(x), [math.erf(v) for v in x], rtol=1e-15)
    check_gradients(ops.erf, A)
    np.testing.assert_allclose(ops.rsqrt(np.abs(A) + 1), 1 / np.sqrt(np.abs(A) + 1))
    check_gradients(ops.rsqrt, np.abs(A) + 1)
    big = np.array([[1000.0, 1000.0], [-np.inf, -np.inf]])
    np.testing.assert_allclose(ops.logsumexp(big, axis=1), [1000 + math.log(2), -np.inf])
    np.testing.assert_allclose(ops.logsumexp(A, axis=0, keepdims=True),
                               np.log(np.exp(A).sum(0, keepdims=True)), rtol=1e-14)
    for kwargs in ({}, {"axis": 1}, {"axis": (0, 1), "keepdims": True}):
        check_gradients(lambda t, kw=kwargs: ops.logsumexp(t, **kw), A)
    values, indices = ops.top_k(np.array([[1.0, 5.0, 3.0, 5.0]]), 3)
    assert values.tolist() == [[5.0, 5.0, 3.0]] and indices.tolist() == [[1, 3, 2]]
    check_gradients(lambda t: ops.top_k(t, 2)[0], A)
    np.testing.assert_array_equal(ops.in_top_k([1, 0], np.array([[0.1, 0.9, 0.5],
                                                                 [0.1, 0.9, 0.5]]), 2),
                                  [True, False])
    data, ids = rng.standard_normal((4, 3)), np.array([0, 2, 0, 1])
    np.testing.assert_allclose(ops.segment_sum(data, ids), [data[0] + data[2], data[3], data[1]])
    np.testing.assert_allclose(ops.segment_max(data, ids, num_segments=4)[:3],
                               [np.maximum(data[0], data[2]), data[3], data[1]])
    assert np.all(ops.segment_max(data, ids, num_segments=4)[3] == -np.inf)
    np.testing.assert_allclose(ops.segment_sum(data, ids, num_segments=2), [data[0] + data[2],
                                                                           data[3]])
    check_gradients(lambda t: ops.segment_sum(t, ids), data)
    check_gradients(lambda t: ops.segment_sum(t, ids, num_segments=2), data)
    check_gradients(lambda t: ops.segment_max(t, ids, num_segments=3), data)
    with pytest.raises(ValueError, match="segment_ids"):
        ops.segment_sum(data, [0.5, 1.0, 0.0, 0.0])
    with pytest.raises(ValueError, match="one id per row"):
        ops.segment_sum(data, [0, 1])


def test_resize():
    row = np.array([[[0.0], [1.0]]])                     # (H=1, W=2, C=1)
    np.testing.assert_allclose(ops.image.resize(row, (1, 4))[0, :, 0], [0, 0.25, 0.75, 1])
    np.testing.assert_allclose(ops.image.resize(row, (1, 4), "nearest")[0, :, 0], [0, 0, 1, 1])
    image = rng.standard_normal((2, 4, 6, 3))
    half = ops.image.resize(image, (2, 3))               # exact 2x downscale: 2x2 means
    np.testing.assert_allclose(half, image.reshape(2, 2, 2, 3, 2, 3).mean(axis=(2, 4)),
                               rtol=1e-12)
    np.testing.assert_allclose(ops.image.resize(image, (4, 6)), image, rtol=1e-14)
    first = ops.image.resize(image.transpose(0, 3, 1, 2), (3, 5), data_format="channels_first")
    np.testing.assert_allclose(first.transpose(0, 2, 3, 1), ops.image.resize(image, (3, 5)),
                               rtol=1e-14)
    check_gradients(lambda t: ops.image.resize(t, (3, 7)), image[:1, :, :, :1])
    check_gradients(lambda t: ops.image.resize(t, (5, 2), "nearest"), image[:1, :, :, :1])
    with pytest.raises(ValueError, match="interpolation"):
        ops.image.resize(image, (2, 2), interpolation="bicubic")
    with pytest.raises(ValueError, match="rank 3"):
        ops.image.resize(image[0, 0], (2, 2))


PLAIN_CALLS = {
    "relu": ops.relu, "add": lambda v: ops.add(v, 1.0), "sum": ops.sum, "mean": ops.mean,
    "reshape": lambda v: ops.reshape(v, (-1,)), "transpose": ops.transpose,
    "expand_dims": lambda v: ops.expand_dims(v, 0), "get_item": lambda v: ops.get_item(v, 0),
    "tile": lambda v: ops.tile(v, 2), "take": lambda v: ops.take(v, [0]),
    "matmul": lambda v: ops.matmul(v, v.T), "einsum": lambda v: ops.einsum("ij->j", v),
    "softmax": ops.softmax, "where": lambda v: ops.where(v > 0, v, 0.0), "copy": ops.copy,
    "conv": lambda v: ops.conv(v.reshape(1, 3, 4, 1), np.ones((2, 2, 1, 1))),
    "concatenate": lambda v: ops.concatenate([v, v]), "split": lambda v: ops.split(v, 2, 1)[0],
    "stop_gradient": ops.stop_gradient, "convert_to_numpy": ops.convert_to_numpy,
}


@pytest.mark.parametrize("name", PLAIN_CALLS)
def test_ops_on_variables_outside_a_tape_return_plain_arrays(name):
    variable = Variable(A, name="v")
    result = PLAIN_CALLS[name](variable)
    assert type(result) in (np.ndarray, np.float64), type(result)
    with GradientTape():
        traced = PLAIN_CALLS[name](variable)
    assert isinstance(traced, Traced) or name in ("stop_gradient", "convert_to_numpy")


def test_rgb_to_grayscale():
    images = rng.uniform(0, 1, (2, 4, 5, 3))
    luma = images @ np.array([0.2989, 0.5870, 0.1140])
    np.testing.assert_allclose(ops.image.rgb_to_grayscale(images), luma[..., None], rtol=1e-14)
    first = ops.image.rgb_to_grayscale(images[0].transpose(2, 0, 1), "channels_first")
    np.testing.assert_allclose(first, luma[0][None], rtol=1e-14)
    assert ops.image.rgb_to_grayscale(np.ones((4, 5, 1))).shape == (4, 5, 1)
    check_gradients(ops.image.rgb_to_grayscale, images[:1])
    with pytest.raises(ValueError, match="channel size"):
        ops.image.rgb_to_grayscale(np.ones((4, 5, 2)))


def test_custom_gradient():
    @ops.custom_gradient
    def scaled_square(x, y):
        def grad(upstream):
            return upstream * 2 * x * y, upstream * x * x
        return x * x * y, grad

    b = rng.standard_normal((3, 4))
    check_gradients(scaled_square, A, b)
    np.testing.assert_allclose(scaled_square(A, b), A * A * b)
    assert type(scaled_square(Variable(A), b)) is np.ndarray

    @ops.custom_gradient
    def clip_gradient(x):
        return x, lambda upstream: np.clip(upstream, -0.5, 0.5)

    with GradientTape() as tape:
        t = tape.watch(A)
        y = ops.sum(clip_gradient(t) * 3.0)
    np.testing.assert_array_equal(tape.gradient(y, t), np.full_like(A, 0.5))


def test_a_training_loop_written_with_ops_lowers_the_loss():
    """A small CNN in Keras ops, trained by hand with the tape's gradients and plain SGD."""
    data = np.random.default_rng(3)
    images = data.standard_normal((32, 8, 8, 1))
    labels = (images[:, :4].mean(axis=(1, 2, 3)) > images[:, 4:].mean(axis=(1, 2, 3))).astype(int)
    kernel = Variable(data.standard_normal((3, 3, 1, 4)) * 0.3, name="kernel")
    dense = Variable(data.standard_normal((4 * 4 * 4, 2)) * 0.1, name="dense")
    bias = Variable(np.zeros(2), name="bias")

    def loss_value():
        features = ops.max_pool(ops.relu(ops.conv(images, kernel, padding="same")), 2)
        logits = ops.matmul(ops.reshape(features, (32, -1)), dense) + bias
        return ops.mean(ops.sparse_categorical_crossentropy(labels, logits, from_logits=True))

    first = float(loss_value())
    for _ in range(30):
        with GradientTape() as tape:
            loss = loss_value()
        for variable, grad in zip((kernel, dense, bias), tape.gradient(loss, [kernel, dense, bias])):
            variable.assign_sub(0.2 * grad)
    assert float(loss_value()) < 0.5 * first
