"""Merge layers and their lower-case functions: forward against plain NumPy float64, gradients
against float64 central finite differences of sum(out * dout), shapes and errors."""

import numpy as np
import pytest

import fastconv as keras
from fastconv import layers


def _numeric_grads(f, inputs, dout, eps=1e-6):
    """d sum(f(inputs) * dout) / d inputs, by central differences."""
    grads = []
    for k, x in enumerate(inputs):
        g = np.zeros_like(x)
        for i in np.ndindex(x.shape):
            plus = [a.copy() for a in inputs]
            minus = [a.copy() for a in inputs]
            plus[k][i] += eps
            minus[k][i] -= eps
            g[i] = (np.sum(f(plus) * dout) - np.sum(f(minus) * dout)) / (2 * eps)
        grads.append(g)
    return grads


def _distinct(rng, shape, count):
    """Inputs whose entries differ by much more than the finite-difference step (no ties)."""
    values = rng.permutation(np.prod(shape) * count).astype(np.float64) / 7.0 - 3.0
    return [values[i::count].reshape(shape) for i in range(count)]


ELEMENTWISE = [
    (layers.Add, lambda xs: sum(xs), 3),
    (layers.Subtract, lambda xs: xs[0] - xs[1], 2),
    (layers.Multiply, lambda xs: np.prod(xs, axis=0), 3),
    (layers.Average, lambda xs: np.mean(xs, axis=0), 3),
    (layers.Maximum, lambda xs: np.max(xs, axis=0), 3),
    (layers.Minimum, lambda xs: np.min(xs, axis=0), 2),
]


@pytest.mark.parametrize("cls, reference, count", ELEMENTWISE,
                         ids=[c.__name__ for c, _, _ in ELEMENTWISE])
def test_elementwise_merge_forward_and_gradient(cls, reference, count):
    rng = np.random.default_rng(0)
    inputs = _distinct(rng, (2, 3, 2), count)
    layer = cls(dtype="float64")
    out = layer(inputs)
    np.testing.assert_allclose(out, reference(inputs), rtol=1e-14)
    dout = rng.normal(size=out.shape)
    grads = layer.backward(dout)
    expected = _numeric_grads(lambda xs: layer(xs), inputs, dout)
    for got, want in zip(grads, expected):
        np.testing.assert_allclose(got, want, rtol=1e-7, atol=1e-8)


def test_maximum_splits_the_gradient_of_a_tie():
    layer = layers.Maximum(dtype="float64")
    a, b = np.array([[1.0, 2.0]]), np.array([[1.0, 0.0]])
    layer([a, b])
    da, db = layer.backward(np.array([[4.0, 4.0]]))
    np.testing.assert_array_equal(da, [[2.0, 4.0]])
    np.testing.assert_array_equal(db, [[2.0, 0.0]])


def _batch_dot_reference(x, y, a, b):
    """Keras's batch_dot, sample by sample with np.tensordot."""
    out = np.stack([np.tensordot(x[n], y[n], axes=(a - 1, b - 1)) for n in range(len(x))])
    return out.reshape(len(x), 1) if out.ndim == 1 else out


DOTS = [((2, 5), (2, 5), 1, False), ((2, 3, 4), (2, 4, 5), (2, 1), False),
        ((2, 5, 3), (2, 3, 5), (1, 2), True), ((2, 4), (2, 3, 4), -1, False),
        ((2, 3, 4), (2, 4), (2, 1), True)]


@pytest.mark.parametrize("x_shape, y_shape, axes, normalize", DOTS)
def test_dot_forward_and_gradient(x_shape, y_shape, axes, normalize):
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=x_shape), rng.normal(size=y_shape)
    layer = layers.Dot(axes=axes, normalize=normalize, dtype="float64")
    out = layer([x, y])
    ax = axes if isinstance(axes, tuple) else (axes, axes)
    ax = [a % len(s) for a, s in zip(ax, (x_shape, y_shape))]
    xr, yr = x, y
    if normalize:
        xr = x / np.linalg.norm(x, axis=ax[0], keepdims=True)
        yr = y / np.linalg.norm(y, axis=ax[1], keepdims=True)
    np.testing.assert_allclose(out, _batch_dot_reference(xr, yr, *ax), rtol=1e-12)
    assert out.shape == layer.compute_output_shape([x_shape, y_shape])
    dout = rng.normal(size=out.shape)
    grads = layer.backward(dout)
    for got, want in zip(grads, _numeric_grads(lambda xs: layer(xs), [x, y], dout)):
        np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-8)


def test_lower_case_functions_build_the_layers_in_a_graph():
    a, b = keras.Input((4,)), keras.Input((4,))
    for function, cls in [(layers.add, layers.Add), (layers.subtract, layers.Subtract),
                          (layers.multiply, layers.Multiply), (layers.average, layers.Average),
                          (layers.maximum, layers.Maximum), (layers.minimum, layers.Minimum),
                          (layers.concatenate, layers.Concatenate), (layers.dot, layers.Dot)]:
        tensor = function([a, b])
        assert type(tensor.layer) is cls and tensor.parents == [a, b]
    assert layers.concatenate([a, b], axis=1).shape == (None, 8)
    assert layers.dot([a, b], axes=1, normalize=True).shape == (None, 1)
    assert layers.add([a, b], name="sum").layer.name == "sum"
    x = np.ones((2, 4))
    np.testing.assert_array_equal(layers.subtract([3 * x, x]), 2 * x)


def test_merge_layers_train_inside_a_model():
    """A model joining two branches with each merge: one SGD step equals the step computed
    from the finite-difference gradient of the loss."""
    rng = np.random.default_rng(2)
    x = rng.normal(size=(6, 3))
    y = rng.normal(size=(6, 1))
    for merge in (layers.subtract, layers.maximum, layers.minimum, layers.multiply,
                  lambda t: layers.dot(t, axes=1)):
        inputs = keras.Input((3,), dtype="float64")
        left = layers.Dense(4, dtype="float64")(inputs)
        right = layers.Dense(4, dtype="float64")(inputs)
        merged = merge([left, right])
        outputs = layers.Dense(1, dtype="float64")(merged)
        model = keras.Model(inputs, outputs)
        model.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
        start = model.get_weights()

        def loss(weights):
            model.set_weights(weights)
            return np.mean((model.predict(x, verbose=0) - y) ** 2)

        numeric = []
        for k, w in enumerate(start):
            g = np.zeros_like(w)
            for i in np.ndindex(w.shape):
                plus, minus = [np.array(v) for v in start], [np.array(v) for v in start]
                plus[k][i] += 1e-6
                minus[k][i] -= 1e-6
                g[i] = (loss(plus) - loss(minus)) / 2e-6
            numeric.append(g)
        model.set_weights(start)
        model.fit(x, y, batch_size=6, epochs=1, shuffle=False, verbose=0)
        for after, before, g in zip(model.get_weights(), start, numeric):
            np.testing.assert_allclose(after, before - 0.1 * g, rtol=1e-6, atol=1e-9)


def test_merge_errors():
    a, b, c = keras.Input((3,)), keras.Input((3,)), keras.Input((3,))
    with pytest.raises(ValueError, match="exactly 2 inputs"):
        layers.subtract([a, b, c])
    with pytest.raises(ValueError, match="exactly 2 inputs"):
        layers.Dot(axes=1)([a, b, c])
    with pytest.raises(ValueError, match="Incompatible input shapes"):
        layers.dot([a, keras.Input((4,))], axes=1)
    with pytest.raises(ValueError, match="non-batch axis"):
        layers.dot([a, b], axes=0)
    with pytest.raises(TypeError, match="axes"):
        layers.Dot(axes="1")
    with pytest.raises(ValueError, match="two integers"):
        layers.Dot(axes=(1, 2, 3))
    with pytest.raises(ValueError, match="same shape"):
        layers.maximum([a, keras.Input((4,))])


def test_merge_configs_round_trip():
    for layer in (layers.Dot(axes=(1, 2), normalize=True), layers.Subtract(), layers.Maximum(),
                  layers.Minimum()):
        config = keras.saving.serialize_layer(layer)
        rebuilt = keras.saving.deserialize_layer(config)
        assert type(rebuilt) is type(layer) and rebuilt.get_config() == layer.get_config()
