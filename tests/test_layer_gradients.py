"""Every layer's backward pass against central finite differences, in float64.

Each check goes through the layer API: a layer with dtype="float64" is built
and called, `backward(dy)` gives dL/dx and `layer.grads`, and both are compared
with finite differences of `sum(call(x) * dy)` for every input and weight entry.
"""

import numpy as np
import pytest

import fastconv
from executor_steps import forward, forward_backward, fused_output
from fastconv import activations, layers

EPS = 1e-6


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    # Tiny problems: one thread avoids waiting on a busy second core.
    before = fastconv.get_num_threads()
    fastconv.set_num_threads(1)
    yield
    fastconv.set_num_threads(before)


def _numerical(f, array):
    """d f / d array by central differences, perturbing `array` in place."""
    grad = np.zeros_like(array)
    flat, gflat = array.reshape(-1), grad.reshape(-1)
    for i in range(flat.size):
        saved = flat[i]
        flat[i] = saved + EPS
        plus = f()
        flat[i] = saved - EPS
        minus = f()
        flat[i] = saved
        gflat[i] = (plus - minus) / (2 * EPS)
    return grad


def check_gradients(layer, x, seed=0, logits=False, atol=1e-6, rtol=1e-5):
    """Compares `layer.backward` (or `backward_logits`) with finite differences."""
    rng = np.random.default_rng(seed)
    x = np.array(x, dtype=np.float64)
    y = layer(x)
    assert y.dtype == np.float64, "a float64 layer must compute in float64"
    dy = rng.standard_normal(y.shape)
    if logits:  # the gradient w.r.t. the output before the final activation
        layer.activation = activations.linear
    y = layer.call(x)
    dx = layer.backward_logits(dy) if logits else layer.backward(dy)

    def loss():
        return float(np.sum(layer.call(x) * dy))

    np.testing.assert_allclose(dx, _numerical(loss, x), rtol=rtol, atol=atol, err_msg="dx")
    assert len(layer.grads) == len(layer.trainable_weights)
    for weight, grad in zip(layer.trainable_weights, layer.grads):
        assert grad.shape == weight.shape
        np.testing.assert_allclose(grad, _numerical(loss, weight), rtol=rtol, atol=atol,
                                   err_msg="weight gradient")


def _x(*shape, seed=1):
    return np.random.default_rng(seed).standard_normal(shape)


F64 = {"dtype": "float64"}


@pytest.mark.parametrize("kwargs", [
    dict(filters=3, kernel_size=3),
    dict(filters=2, kernel_size=(2, 3), padding="same", activation="relu"),
    dict(filters=4, kernel_size=3, strides=2, padding="same", activation="tanh"),
    dict(filters=2, kernel_size=3, dilation_rate=2, activation="sigmoid"),
    dict(filters=4, kernel_size=1, groups=2, use_bias=False),
    dict(filters=3, kernel_size=3, padding="same", activation="softmax"),
    dict(filters=2, kernel_size=2, strides=(1, 2), data_format="channels_first", activation="relu"),
])
def test_conv2d(kwargs):
    layer = layers.Conv2D(**kwargs, bias_initializer="random_normal", **F64)
    shape = (2, 4, 6, 5) if kwargs.get("data_format") else (2, 6, 5, 4)
    check_gradients(layer, _x(*shape))


@pytest.mark.parametrize("activation", [None, "relu", "sigmoid", "tanh", "softmax"])
def test_dense(activation):
    layer = layers.Dense(4, activation=activation, bias_initializer="random_normal", **F64)
    check_gradients(layer, _x(3, 5))


def test_dense_on_rank3_input_applies_to_last_axis():
    check_gradients(layers.Dense(3, activation="relu", **F64), _x(2, 4, 5))


def test_dense_without_bias():
    layer = layers.Dense(3, use_bias=False, **F64)
    check_gradients(layer, _x(4, 2))
    assert len(layer.trainable_weights) == 1


@pytest.mark.parametrize("layer_cls", [layers.Dense, layers.Activation, layers.Softmax])
def test_backward_logits_skips_the_softmax(layer_cls):
    """backward_logits(dz) is the backward pass of the layer without its final softmax."""
    if layer_cls is layers.Dense:
        layer = layers.Dense(4, activation="softmax", **F64)
    elif layer_cls is layers.Activation:
        layer = layers.Activation("softmax", **F64)
    else:
        layer = layers.Softmax(**F64)
    x = _x(3, 4)
    layer(x)
    dz = _x(3, 4, seed=5)
    dx = layer.backward_logits(dz)
    if layer_cls is layers.Dense:
        np.testing.assert_allclose(dx, dz @ layer.kernel.T)
        np.testing.assert_allclose(layer.grads[0], x.T @ dz)
    else:
        np.testing.assert_array_equal(dx, dz)


def test_conv2d_backward_logits():
    check_gradients(layers.Conv2D(2, 3, activation="softmax", **F64), _x(2, 5, 5, 2), logits=True)


@pytest.mark.parametrize("layer_cls", [layers.MaxPooling2D, layers.AveragePooling2D])
@pytest.mark.parametrize("kwargs", [
    dict(),
    dict(pool_size=3, strides=2, padding="same"),
    dict(pool_size=(2, 3), strides=1),
    dict(pool_size=2, data_format="channels_first"),
])
def test_pooling(layer_cls, kwargs):
    check_gradients(layer_cls(**kwargs, **F64), _x(2, 5, 7, 3))


@pytest.mark.parametrize("layer_cls", [layers.GlobalAveragePooling2D, layers.GlobalMaxPooling2D])
@pytest.mark.parametrize("kwargs", [dict(), dict(keepdims=True),
                                    dict(data_format="channels_first")])
def test_global_pooling(layer_cls, kwargs):
    check_gradients(layer_cls(**kwargs, **F64), _x(2, 3, 4, 5))


@pytest.mark.parametrize("layer", [
    lambda: layers.Flatten(**F64),
    lambda: layers.Flatten(data_format="channels_first", **F64),
    lambda: layers.Reshape((6, -1), **F64),
    lambda: layers.Rescaling(0.5, offset=2.0, **F64),
    lambda: layers.Activation("tanh", **F64),
    lambda: layers.Activation("sigmoid", **F64),
    lambda: layers.Activation("relu", **F64),
    lambda: layers.Activation("linear", **F64),
    lambda: layers.Softmax(**F64),
    lambda: layers.Softmax(axis=1, **F64),
    lambda: layers.ReLU(**F64),
    lambda: layers.ReLU(max_value=0.8, negative_slope=0.1, threshold=-0.3, **F64),
    lambda: layers.Dropout(0.5, **F64),  # inference: the identity
], ids=["flatten", "flatten_cf", "reshape", "rescaling", "tanh", "sigmoid", "relu", "linear",
        "softmax", "softmax_axis1", "relu_layer", "relu_options", "dropout"])
def test_weightless_layers(layer):
    check_gradients(layer(), _x(2, 3, 4, 2))


def test_dropout_training_gradient_uses_the_same_mask():
    layer = layers.Dropout(0.4, **F64)
    x = np.abs(_x(64, 50)) + 0.1
    y = layer(x, training=True)
    mask = y / x
    kept = mask != 0
    np.testing.assert_allclose(mask[kept], 1 / 0.6)
    assert 0.5 < kept.mean() < 0.7
    dy = _x(64, 50, seed=3)
    np.testing.assert_allclose(layer.backward(dy), dy * mask)


def test_model_gradient_matches_finite_differences():
    """The whole training step's gradients (fused softmax + crossentropy) in float64."""
    from fastconv import losses
    from fastconv.models import Sequential

    model = Sequential([
        layers.Input(shape=(5, 5, 2), dtype="float64"),
        layers.Conv2D(3, 3, activation="relu", padding="same", **F64),
        layers.MaxPooling2D(2, **F64),
        layers.Flatten(**F64),
        layers.Dense(4, activation="softmax", bias_initializer="random_normal", **F64),
    ])
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    x = _x(3, 5, 5, 2)
    y = np.array([0, 3, 1])
    assert fused_output(model, x)
    loss = losses.SparseCategoricalCrossentropy()
    _, run = forward_backward(model, x, y)
    pairs = run.grads_and_vars()
    assert len(pairs) == 4
    for grad, var in pairs:
        numerical = _numerical(lambda: loss(y, forward(model, x)), var)
        np.testing.assert_allclose(grad, numerical, rtol=1e-5, atol=1e-7)
