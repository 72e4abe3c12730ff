"""BatchNormalization: training / inference statistics, moving averages, gradients, counts."""

import numpy as np
import pytest

import fastconv
from fastconv import backend, layers
from fastconv.models import Model, Sequential


@pytest.fixture(autouse=True)
def _fresh_names():
    backend.clear_session()


def _layer(shape, axis=-1, **kwargs):
    layer = layers.BatchNormalization(axis=axis, dtype="float64", **kwargs)
    layer.build_for(shape)
    rng = np.random.default_rng(0)
    layer.set_weights([rng.normal(size=w.shape) if i < 2 else w
                       for i, w in enumerate(layer.get_weights())])
    return layer


@pytest.mark.parametrize("shape, axis", [((4, 3, 3, 5), -1), ((3, 4, 2, 2), 1), ((6, 3), -1)])
def test_training_forward_uses_biased_batch_statistics(shape, axis):
    layer = _layer(shape, axis=axis)
    x = np.random.default_rng(1).normal(2.0, 3.0, size=shape)
    gamma, beta = layer.gamma, layer.beta
    reduce = tuple(i for i in range(len(shape)) if i != axis % len(shape))
    mean = x.mean(axis=reduce, keepdims=True)
    var = x.var(axis=reduce, keepdims=True)  # ddof=0
    bshape = [1] * len(shape)
    bshape[axis] = -1
    expected = (x - mean) / np.sqrt(var + 1e-3) * gamma.reshape(bshape) + beta.reshape(bshape)
    np.testing.assert_allclose(layer(x, training=True), expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("shape, axis", [((4, 3, 3, 2), -1), ((3, 2, 2, 3), 1)])
def test_training_backward_matches_float64_finite_differences(shape, axis):
    layer = _layer(shape, axis=axis)
    rng = np.random.default_rng(2)
    x = rng.normal(size=shape)
    dout = rng.normal(size=shape)

    def objective():
        return float(np.sum(layer.call(x, training=True) * dout))

    layer.call(x, training=True)
    dx = layer.backward(dout)
    dgamma, dbeta = layer.grads
    eps = 1e-6
    for array, analytic in ((x, dx), (layer.gamma, dgamma), (layer.beta, dbeta)):
        flat, grad = array.reshape(-1), analytic.reshape(-1)
        for i in rng.choice(flat.size, size=min(flat.size, 12), replace=False):
            old = flat[i]
            flat[i] = old + eps
            plus = objective()
            flat[i] = old - eps
            minus = objective()
            flat[i] = old
            assert abs((plus - minus) / (2 * eps) - grad[i]) < 1e-7, (array.shape, i)


def test_inference_uses_moving_statistics_and_its_gradient():
    layer = _layer((5, 3))
    layer.moving_mean[...] = [1.0, -2.0, 0.5]
    layer.moving_variance[...] = [4.0, 0.25, 1.0]
    x = np.random.default_rng(3).normal(size=(5, 3))
    inv_std = 1 / np.sqrt(layer.moving_variance + 1e-3)
    expected = (x - layer.moving_mean) * inv_std * layer.gamma + layer.beta
    np.testing.assert_allclose(layer(x), expected, rtol=1e-12)
    np.testing.assert_allclose(layer.backward(np.ones((5, 3))),
                               np.broadcast_to(layer.gamma * inv_std, (5, 3)), rtol=1e-12)
    # Frozen: training=True still uses the moving statistics and leaves them alone (Keras 3).
    layer.trainable = False
    np.testing.assert_allclose(layer(x, training=True), expected, rtol=1e-12)
    np.testing.assert_array_equal(layer.moving_mean, [1.0, -2.0, 0.5])


def test_moving_statistics_update_formula():
    layer = layers.BatchNormalization(momentum=0.9, dtype="float64")
    x = np.random.default_rng(4).normal(3.0, 2.0, size=(8, 2, 2, 3))
    layer(x, training=True)
    mean, var = x.mean(axis=(0, 1, 2)), x.var(axis=(0, 1, 2))
    np.testing.assert_allclose(layer.moving_mean, 0.0 * 0.9 + mean * 0.1, rtol=1e-12)
    np.testing.assert_allclose(layer.moving_variance, 1.0 * 0.9 + var * 0.1, rtol=1e-12)
    layer(x, training=True)
    np.testing.assert_allclose(layer.moving_mean, (mean * 0.1) * 0.9 + mean * 0.1, rtol=1e-12)
    layer(x)  # inference: no update
    np.testing.assert_allclose(layer.moving_mean, (mean * 0.1) * 0.9 + mean * 0.1, rtol=1e-12)


def test_parameter_counts_as_keras_reports_them():
    model = Sequential([layers.Input(shape=(6, 6, 32)), layers.BatchNormalization()])
    bn = model.layers[0]
    assert bn.count_params() == 128
    assert [w.shape for w in bn.trainable_weights] == [(32,), (32,)]
    assert sum(w.size for w in model.non_trainable_weights) == 64
    texts = []
    model.summary(print_fn=texts.append)
    assert " Total params: 128 (512.00 B)" in texts[0]
    assert " Trainable params: 64 (256.00 B)" in texts[0]
    assert " Non-trainable params: 64 (256.00 B)" in texts[0]
    assert layers.BatchNormalization(center=False, scale=False)(np.ones((2, 4))).shape == (2, 4)


def test_batchnorm_trains_inside_a_model():
    inputs = layers.Input(shape=(4, 4, 1))
    x = layers.Conv2D(4, 3, padding="same")(inputs)
    x = layers.BatchNormalization()(x)
    x = layers.ReLU()(x)
    x = layers.GlobalAveragePooling2D()(x)
    model = Model(inputs, layers.Dense(2, activation="softmax")(x))
    model.compile(optimizer=fastconv.optimizers.Adam(0.05),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    rng = np.random.default_rng(5)
    xs = rng.normal(size=(64, 4, 4, 1)).astype("float32")
    ys = (xs.mean(axis=(1, 2, 3)) > 0).astype("int64")
    history = model.fit(xs, ys, epochs=10, batch_size=16, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]
    bn = model.layers[2]
    assert not np.allclose(bn.moving_mean, 0) and not np.allclose(bn.moving_variance, 1)
