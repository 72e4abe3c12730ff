"""Shared layers (one layer called at several places: one set of weights, the gradients of
its calls summed), layer.input / layer.output, model.inputs / outputs / get_layer, and
feature-extraction models built from another model's intermediate tensors."""

import numpy as np
import pytest

import fastconv as keras
from fastconv import layers

from executor_steps import forward_backward


def _siamese(dtype="float64"):
    """One Dense encoder applied to two inputs; the distance of the codes is the output."""
    a = keras.Input((3,), name="a", dtype=dtype)
    b = keras.Input((3,), name="b", dtype=dtype)
    encoder = layers.Dense(4, activation="tanh", name="encoder", dtype=dtype)
    code_a, code_b = encoder(a), encoder(b)
    diff = layers.subtract([code_a, code_b], dtype=dtype)
    out = layers.Dense(1, name="head", dtype=dtype)(layers.multiply([diff, diff], dtype=dtype))
    return keras.Model([a, b], out), encoder


def test_shared_layer_has_one_set_of_weights():
    model, encoder = _siamese()
    assert [l.name for l in model.layers].count("encoder") == 1
    assert len(model.weights) == 4 and model.count_params() == 3 * 4 + 4 + 4 + 1
    x1, x2 = np.ones((2, 3)), np.zeros((2, 3))
    code = np.tanh(x1 @ encoder.get_weights()[0] + encoder.get_weights()[1])
    code0 = np.tanh(x2 @ encoder.get_weights()[0] + encoder.get_weights()[1])
    head = model.get_layer("head").get_weights()
    np.testing.assert_allclose(model.predict([x1, x2]), (code - code0) ** 2 @ head[0] + head[1],
                               rtol=1e-12)


def test_shared_layer_gradient_is_the_sum_over_its_calls():
    """One SGD step of the shared encoder equals float64 finite differences of the loss."""
    model, encoder = _siamese()
    model.compile(optimizer=keras.optimizers.SGD(0.5), loss="mse")
    rng = np.random.default_rng(0)
    x1, x2, y = rng.normal(size=(5, 3)), rng.normal(size=(5, 3)), rng.normal(size=(5, 1))
    start = model.get_weights()

    def loss(weights):
        model.set_weights(weights)
        return np.mean((model.predict([x1, x2]) - y) ** 2)

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
    model.fit([x1, x2], y, batch_size=5, epochs=1, shuffle=False, verbose=0)
    for after, before, g in zip(model.get_weights(), start, numeric):
        np.testing.assert_allclose(after, before - 0.5 * g, rtol=1e-6, atol=1e-10)


def test_shared_layer_in_a_chain_hands_the_optimizer_one_summed_gradient():
    """x -> d(d(x)): the executor runs d twice, but the optimizer gets each weight once, with
    the finite-difference gradient of the loss (the sum over both calls)."""
    inputs = keras.Input((3,), dtype="float64")
    shared = layers.Dense(3, activation="tanh", dtype="float64")
    model = keras.Model(inputs, shared(shared(inputs)))
    model.compile(optimizer="adam", loss="mse")
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=(4, 3)), rng.normal(size=(4, 3))
    _, run = forward_backward(model, x, y)
    pairs = run.grads_and_vars()
    assert [id(w) for _, w in pairs] == [id(w) for w in shared.trainable_weights]
    start = model.get_weights()

    def loss(weights):
        model.set_weights(weights)
        return np.mean((model.predict(x) - y) ** 2)

    for k, (grad, _) in enumerate(pairs):
        numeric = np.zeros_like(grad)
        for i in np.ndindex(grad.shape):
            plus, minus = [np.array(v) for v in start], [np.array(v) for v in start]
            plus[k][i] += 1e-6
            minus[k][i] -= 1e-6
            numeric[i] = (loss(plus) - loss(minus)) / 2e-6
        np.testing.assert_allclose(grad, numeric, rtol=1e-6, atol=1e-10)


def test_shared_layers_summary_and_config_round_trip(tmp_path):
    model, _ = _siamese()
    lines = []
    model.summary(print_fn=lines.append, line_length=150)
    assert "a[0][0]" in lines[0] and "b[0][0]" in lines[0]
    assert "encoder[0][0], encoder[1][0]" in lines[0]
    rebuilt = keras.Model.from_config(model.get_config())
    assert [l.name for l in rebuilt.layers] == [l.name for l in model.layers]
    rebuilt.set_weights(model.get_weights())
    x = [np.ones((2, 3)), np.arange(6.0).reshape(2, 3)]
    np.testing.assert_array_equal(rebuilt.predict(x), model.predict(x))
    model.save(tmp_path / "siamese.keras")
    np.testing.assert_array_equal(keras.models.load_model(tmp_path / "siamese.keras").predict(x),
                                  model.predict(x))


def test_config_of_a_shared_layer_reading_a_later_layer():
    """d(x) feeds e, and d is called again on e's output: d is listed before e, yet its
    second call reads e; loading must wait for e."""
    inputs = keras.Input((2,))
    d, e = layers.Dense(2, name="d"), layers.Dense(2, name="e")
    model = keras.Model(inputs, d(e(d(inputs))))
    rebuilt = keras.Model.from_config(model.get_config())
    rebuilt.set_weights(model.get_weights())
    x = np.arange(6.0).reshape(3, 2)
    np.testing.assert_allclose(rebuilt.predict(x), model.predict(x), rtol=1e-6)


def test_layer_input_and_output_and_model_accessors():
    inputs = keras.Input((4,), name="pixels")
    hidden = layers.Dense(3, name="hidden")
    h = hidden(inputs)
    outputs = layers.Dense(2, name="out")(h)
    model = keras.Model(inputs, outputs)
    assert hidden.input is inputs and hidden.output is h
    assert hidden.input_shape == (None, 4) and hidden.output_shape == (None, 3)
    assert model.inputs == [inputs] and model.outputs == [outputs]
    assert model.input is inputs and model.output is outputs
    assert model.get_layer("hidden") is hidden and model.get_layer(index=1) is hidden
    assert model.get_layer("pixels").output is inputs
    with pytest.raises(ValueError, match="No such layer: nope"):
        model.get_layer("nope")
    with pytest.raises(AttributeError, match="never been called"):
        _ = layers.Dense(2).output
    merge = layers.Add()
    a, b = keras.Input((2,)), keras.Input((2,))
    merge([a, b])
    assert merge.input == [a, b]


def test_feature_extraction_from_a_sequential():
    initial = keras.Sequential([
        keras.Input((6, 6, 1)),
        layers.Conv2D(4, 3, activation="relu", name="conv_a"),
        layers.Conv2D(2, 3, activation="relu", name="conv_b"),
        layers.Flatten(name="flat"),
    ])
    extractor = keras.Model(inputs=initial.inputs,
                            outputs=[layer.output for layer in initial.layers])
    x = np.random.default_rng(0).normal(size=(3, 6, 6, 1)).astype("float32")
    features = extractor(x)
    assert [f.shape for f in features] == [(3, 4, 4, 4), (3, 2, 2, 2), (3, 8)]
    np.testing.assert_allclose(features[-1], initial.predict(x), rtol=1e-6)
    one = keras.Model(inputs=initial.inputs, outputs=initial.get_layer(name="conv_a").output)
    np.testing.assert_allclose(one.predict(x), features[0], rtol=1e-6)
    assert extractor.count_params() == initial.count_params()


def test_feature_extraction_from_a_functional_model_shares_weights():
    inputs = keras.Input((4,))
    x = layers.Dense(5, activation="relu", name="d1")(inputs)
    outputs = layers.Dense(2, name="d2")(x)
    base = keras.Model(inputs, outputs)
    features = keras.Model(base.input, base.get_layer("d1").output)
    data = np.random.default_rng(0).normal(size=(3, 4)).astype("float32")
    base.compile(optimizer="sgd", loss="mse")
    base.fit(data, np.ones((3, 2)), epochs=1, verbose=0)
    d1 = base.get_layer("d1").get_weights()
    expected = np.maximum(data @ d1[0] + d1[1], 0)
    np.testing.assert_allclose(features.predict(data), expected, rtol=1e-6)
    # The features model's outputs include an Input: returned as given (cast).
    both = keras.Model(base.input, [base.input, base.output])
    np.testing.assert_array_equal(both.predict(data)[0], data)


def test_a_shared_nested_model_sums_the_gradients_of_its_calls(tmp_path):
    """A siamese network whose tower is a Sequential called on both inputs: one SGD step
    equals float64 finite differences; the model saves and loads with both calls."""
    tower = keras.Sequential([keras.Input((3,), dtype="float64"),
                              layers.Dense(4, activation="tanh", dtype="float64")], name="tower")
    a, b = keras.Input((3,), dtype="float64"), keras.Input((3,), dtype="float64")
    diff = layers.subtract([tower(a), tower(b)], dtype="float64")
    model = keras.Model([a, b], layers.Dense(1, dtype="float64")(diff))
    model.compile(optimizer=keras.optimizers.SGD(0.2), loss="mse")
    rng = np.random.default_rng(4)
    x1, x2, y = rng.normal(size=(5, 3)), rng.normal(size=(5, 3)), rng.normal(size=(5, 1))
    start = model.get_weights()
    assert len(start) == 4

    def loss(weights):
        model.set_weights(weights)
        return np.mean((model.predict([x1, x2]) - y) ** 2)

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
    model.fit([x1, x2], y, batch_size=5, epochs=1, shuffle=False, verbose=0)
    for after, before, g in zip(model.get_weights(), start, numeric):
        np.testing.assert_allclose(after, before - 0.2 * g, rtol=1e-6, atol=1e-10)
    model.save(tmp_path / "siamese.keras")
    loaded = keras.models.load_model(tmp_path / "siamese.keras")
    np.testing.assert_array_equal(loaded.predict([x1, x2]), model.predict([x1, x2]))
