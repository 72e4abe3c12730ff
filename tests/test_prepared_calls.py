"""Prepared op calls (checked once, then run per batch) against the eager ops, which check every
call; their shape checks; and the layers that keep one per input signature.

The eager ops are themselves checked against the float64 reference in test_conv2d.py and
test_pool2d.py, so here results must equal theirs bit for bit.
"""

import numpy as np
import pytest

import fastconv as keras
from fastconv import ops
from fastconv.ops.conv2d import prepare_conv2d
from fastconv.ops.matmul import prepare_matmul
from fastconv.ops.pool2d import prepare_pool2d

CONV = dict(strides=(2, 1), padding="same", dilation_rate=1, groups=2)


def arrays(dtype, channels_first=False, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((3, 7, 6, 4)).astype(dtype)
    if channels_first:
        x = np.ascontiguousarray(x.transpose(0, 3, 1, 2))
    kernel = rng.standard_normal((3, 3, 2, 6)).astype(dtype)
    bias = rng.standard_normal(6).astype(dtype)
    return x, kernel, bias


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
@pytest.mark.parametrize("activation", [None, "relu"])
def test_conv2d_call_equals_the_op(dtype, data_format, activation):
    x, kernel, bias = arrays(dtype, data_format == "channels_first")
    args = dict(CONV, data_format=data_format)
    call = prepare_conv2d(x, kernel, bias, activation=activation, **args)
    y = call.forward(x, kernel, bias)
    np.testing.assert_array_equal(y, ops.conv2d(x, kernel, bias, activation=activation, **args))
    dy = np.random.default_rng(1).standard_normal(y.shape).astype(dtype)
    for compute_dx in (True, False):
        got = call.backward(dy, x, kernel, compute_dx=compute_dx)
        want = ops.conv2d_backward(dy, x, kernel, compute_dx=compute_dx, **args)
        for g, w in zip(got, want):
            assert (g is None) == (w is None)
            if w is not None:
                assert g.dtype == w.dtype
                np.testing.assert_array_equal(g, w)


def test_conv2d_call_writes_into_out_and_converts_other_dtypes():
    x, kernel, bias = arrays(np.float32)
    call = prepare_conv2d(x, kernel, bias, **CONV)
    out = np.full(call.out_shape, np.nan, np.float32)
    assert call.forward(x.astype(np.float64), kernel, bias, out=out) is out
    np.testing.assert_array_equal(out, ops.conv2d(x, kernel, bias, **CONV))
    assert call.dtype == np.float32


def test_conv2d_call_with_no_input_channels():
    x = np.zeros((2, 5, 5, 0), np.float32)
    kernel = np.zeros((3, 3, 0, 4), np.float32)
    bias = np.array([1.0, -2.0, 0.5, 3.0], np.float32)
    call = prepare_conv2d(x, kernel, bias, activation="relu")
    np.testing.assert_array_equal(call.forward(x, kernel, bias),
                                  ops.conv2d(x, kernel, bias, activation="relu"))


@pytest.mark.parametrize("name, index", [("x", 0), ("kernel", 1)])
def test_conv2d_call_refuses_other_shapes(name, index):
    x, kernel, bias = arrays(np.float32)
    call = prepare_conv2d(x, kernel, bias, **CONV)
    given = [x, kernel]
    given[index] = np.zeros(given[index].shape[:-1] + (given[index].shape[-1] * 2,), np.float32)
    with pytest.raises(ValueError, match=rf"`{name}` must have shape .*prepared.*{name}.shape="):
        call.forward(*given, bias)
    with pytest.raises(ValueError, match=rf"`{name}` must have shape"):
        call.backward(np.zeros(call.out_shape, np.float32), *given)


def test_conv2d_call_refuses_a_same_size_dy_of_another_shape():
    x, kernel, bias = arrays(np.float32)
    call = prepare_conv2d(x, kernel, bias, **CONV)
    n, h, w, f = call.out_shape
    with pytest.raises(ValueError, match=r"`dy` must have shape"):
        call.backward(np.zeros((n, w, h, f), np.float32), x, kernel)


def test_conv2d_call_refuses_a_missing_or_extra_bias():
    x, kernel, bias = arrays(np.float32)
    with pytest.raises(ValueError, match="`bias` must be given exactly"):
        prepare_conv2d(x, kernel, bias, **CONV).forward(x, kernel)
    with pytest.raises(ValueError, match="`bias` must be given exactly"):
        prepare_conv2d(x, kernel, None, **CONV).forward(x, kernel, bias)


def test_prepare_checks_as_the_op_does():
    x, kernel, bias = arrays(np.float32)
    with pytest.raises(ValueError, match="groups"):
        prepare_conv2d(x, kernel, bias, groups=3)
    with pytest.raises(ValueError, match="pool_size"):
        prepare_pool2d("max", x, pool_size=(9, 9))
    with pytest.raises(ValueError, match="`kind`"):
        prepare_pool2d("min", x)
    with pytest.raises(ValueError, match="columns"):
        prepare_matmul(np.ones((2, 3)), np.ones((4, 5)))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
@pytest.mark.parametrize("kind", ["max", "avg"])
def test_pool2d_call_equals_the_op(dtype, data_format, kind):
    x, _, _ = arrays(dtype, data_format == "channels_first")
    args = dict(pool_size=3, strides=2, padding="same", data_format=data_format)
    forward = ops.max_pool2d if kind == "max" else ops.avg_pool2d
    backward = ops.max_pool2d_backward if kind == "max" else ops.avg_pool2d_backward
    call = prepare_pool2d(kind, x, **args)
    y = call.forward(x)
    np.testing.assert_array_equal(y, forward(x, **args))
    dy = np.random.default_rng(2).standard_normal(y.shape).astype(dtype)
    np.testing.assert_array_equal(call.backward(dy, x), backward(dy, x, **args))
    if kind == "max":
        np.testing.assert_array_equal(call.backward(dy, x, relu=True),
                                      backward(dy, x, relu=True, **args))
    else:
        with pytest.raises(ValueError, match="max pooling only"):
            call.backward(dy, x, relu=True)


def test_pool2d_call_refuses_other_shapes():
    x, _, _ = arrays(np.float32)
    call = prepare_pool2d("max", x, pool_size=2)
    with pytest.raises(ValueError, match=r"`x` must have shape \(3, 7, 6, 4\).*prepared"):
        call.forward(x[:2])
    dy = np.zeros(call.out_shape, np.float32)
    with pytest.raises(ValueError, match="`dy` must have shape"):
        call.backward(dy[:, :, :2], x)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_matmul_call_equals_the_op(dtype):
    rng = np.random.default_rng(3)
    a, b, bias = (rng.standard_normal(s).astype(dtype) for s in ((5, 7), (7, 3), (3,)))
    call = prepare_matmul(a, b, bias, activation="relu")
    np.testing.assert_array_equal(call(a, b, bias), ops.matmul(a, b, bias, activation="relu"))
    transposed = prepare_matmul(b.T, a.T)  # strided views, as the layers' backward passes
    np.testing.assert_array_equal(transposed(b.T, a.T), ops.matmul(b.T, a.T))
    total = np.ones((5, 3), dtype)
    np.testing.assert_array_equal(prepare_matmul(a, b, accumulate=True)(a, b, out=total),
                                  1 + ops.matmul(a, b))


def test_matmul_call_refuses_other_shapes_and_a_missing_out():
    a, b = np.ones((5, 7)), np.ones((7, 3))
    with pytest.raises(ValueError, match=r"shapes \(5, 7\) and \(7, 3\).*a.shape=\(4, 7\)"):
        prepare_matmul(a, b)(a[:4], b)
    with pytest.raises(ValueError, match="needs an `out`"):
        prepare_matmul(a, b, accumulate=True)(a, b)
    with pytest.raises(ValueError, match="`bias` must be given exactly"):
        prepare_matmul(a, b)(a, b, np.ones(3))


def test_layers_prepare_once_per_signature_and_again_for_a_new_batch_shape():
    rng = np.random.default_rng(4)
    conv = keras.layers.Conv2D(6, 3, padding="same", activation="relu")
    pool = keras.layers.MaxPooling2D(2)
    dense = keras.layers.Dense(5, activation="relu")
    for batch in (4, 4, 3):
        x = rng.standard_normal((batch, 8, 8, 2)).astype(np.float32)
        y = conv(x)
        np.testing.assert_array_equal(
            y, ops.conv2d(x, conv.kernel, conv.bias, padding="same", activation="relu"))
        p = pool(y)
        np.testing.assert_array_equal(p, ops.max_pool2d(y, 2))
        flat = p.reshape(batch, -1)
        np.testing.assert_array_equal(
            dense(flat), ops.matmul(flat, dense.kernel, dense.bias, activation="relu"))
        dz = ops.relu_backward(np.ones_like(y), y)
        np.testing.assert_array_equal(conv.backward(np.ones_like(y)),
                                      ops.conv2d_backward(dz, x, conv.kernel, padding="same")[0])
    assert len(conv._calls) == len(pool._calls) == 2
    with pytest.raises(ValueError, match="incompatible"):
        conv(np.zeros((2, 8, 8, 3), np.float32))  # the kernel takes 2 channels


def test_model_trains_on_a_last_partial_batch():
    # 10 samples in batches of 4: the plan's layers see batch 4, then 2, and re-prepare.
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((6, 6, 1)),
                              keras.layers.Conv2D(3, 3, activation="relu"),
                              keras.layers.MaxPooling2D(2), keras.layers.Flatten(),
                              keras.layers.Dense(2, activation="softmax")])
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    rng = np.random.default_rng(5)
    x, y = rng.standard_normal((10, 6, 6, 1)).astype(np.float32), rng.integers(0, 2, 10)
    history = model.fit(x, y, batch_size=4, epochs=2, shuffle=False, verbose=0)
    assert np.isfinite(history.history["loss"]).all()
    np.testing.assert_allclose(model.predict(x, batch_size=3, verbose=0),
                               model.predict(x, batch_size=10, verbose=0), rtol=1e-5)
