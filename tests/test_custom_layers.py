"""Custom layers (Keras 3's `Layer` subclassing): call arguments, building, the training
flag, sublayers, add_loss, Lambda, output shapes, and gradients on the tape checked
against float64 central finite differences, in models and under a user's GradientTape."""

import numpy as np
import pytest

import fastconv as keras
from fastconv import layers
from fastconv.autodiff import GradientTape
from fastconv.executor import Run, plan_for

rng = np.random.default_rng(0)


class Gated(layers.Layer):
    """A built-in sublayer, an own weight, NumPy ops and a reduction."""

    def __init__(self, units, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.dense = layers.Dense(units, dtype=self.dtype)

    def build(self, input_shape):
        self.gate = self.add_weight((self.units,), initializer="random_normal", name="gate")

    def call(self, inputs):
        h = self.dense(inputs)
        return np.tanh(h) * self.gate + np.sum(np.square(inputs), axis=-1, keepdims=True)


def float64_model(middle):
    inputs = keras.Input((5,), dtype="float64")
    x = layers.Dense(4, activation="relu", dtype="float64")(inputs)
    x = middle(x)
    return keras.Model(inputs, layers.Dense(2, dtype="float64")(x))


def executor_gradients(model, x, dy):
    """Output, dL/dx and {id(weight): dL/dweight} of L = sum(model(x) * dy), through the
    executor (as `fit` runs it)."""
    run = Run(plan_for(model, (x.shape[1:], x.dtype), None, input_grad=True))
    y = run.forward(x, training=True)
    dx = run.backward(dy)
    return y, dx, {id(w): g for g, w in run.grads_and_vars()}


def finite_difference(f, array, eps=1e-6):
    grad = np.zeros(array.shape)
    for index in np.ndindex(array.shape):
        old = array[index]
        array[index] = old + eps
        up = f()
        array[index] = old - eps
        down = f()
        array[index] = old
        grad[index] = (up - down) / (2 * eps)
    return grad


def check_model_gradients(model, x):
    dy = rng.standard_normal(model(x).shape)
    _, dx, grads = executor_gradients(model, x, dy)

    def loss():
        return float(np.sum(np.asarray(model(x)) * dy))

    np.testing.assert_allclose(dx, finite_difference(loss, x), rtol=1e-6, atol=1e-8)
    assert len(grads) == len(model.trainable_weights)
    for weight in model.trainable_weights:
        np.testing.assert_allclose(grads[id(weight)], finite_difference(loss, weight),
                                   rtol=1e-6, atol=1e-8, err_msg=weight.path)


def test_custom_layer_gradients_in_a_model_match_finite_differences():
    check_model_gradients(float64_model(Gated(3, dtype="float64")), rng.standard_normal((4, 5)))


def test_builtin_layers_inside_a_custom_call_use_their_own_backward(monkeypatch):
    calls = []
    original = layers.Dense.grad

    def counting(self, state, dy):
        calls.append(self.name)
        return original(self, state, dy)

    monkeypatch.setattr(layers.Dense, "grad", counting)
    gated = Gated(3, dtype="float64")
    model = float64_model(gated)
    x = rng.standard_normal((4, 5))
    executor_gradients(model, x, np.ones((4, 2)))
    assert calls.count(gated.dense.name) == 1  # one tape node, its hand-written grad


def test_user_tape_through_a_custom_layer_matches_finite_differences():
    layer = Gated(2, dtype="float64")
    x = rng.standard_normal((3, 4))
    layer(x)
    with GradientTape() as tape:
        xt = tape.watch(x)
        loss = np.sum(layer(xt) ** 2)
    grads = tape.gradient(loss, [xt] + layer.trainable_weights)

    def value():
        return float(np.sum(np.asarray(layer(x)) ** 2))

    np.testing.assert_allclose(grads[0], finite_difference(value, x), rtol=1e-6, atol=1e-8)
    for grad, weight in zip(grads[1:], layer.trainable_weights):
        np.testing.assert_allclose(grad, finite_difference(value, weight), rtol=1e-6,
                                   atol=1e-8)


class Recorder(layers.Layer):
    def __init__(self):
        super().__init__()
        self.seen = []

    def call(self, inputs, training=None, mask=None, scale=1.0):
        self.seen.append((training, mask))
        return inputs * scale


def test_call_receives_training_mask_and_extra_arguments():
    layer = Recorder()
    x = np.ones((2, 3), "float32")
    np.testing.assert_array_equal(layer(x, scale=3.0), 3 * x)
    layer(x, training=True, mask="m")
    assert layer.seen == [(None, None), (True, "m")]

    class NoTraining(layers.Layer):
        def call(self, inputs):  # Keras passes `training` only to a call that takes it
            return inputs + 1

    np.testing.assert_array_equal(NoTraining()(x, training=True), x + 1)
    with pytest.raises(TypeError):
        NoTraining()(x, scale=2.0)


def test_training_propagates_to_nested_calls():
    class Outer(layers.Layer):
        def __init__(self):
            super().__init__()
            self.inner = Recorder()
            self.dropout = layers.Dropout(0.5, seed=1)

        def call(self, inputs, training=False):  # the signature's default counts
            return self.dropout(self.inner(inputs))

    outer = Outer()
    x = np.ones((64, 8), "float32")
    np.testing.assert_array_equal(outer(x), x)  # training=False from the default
    assert outer.inner.seen[-1][0] is False
    assert np.any(outer(x, training=True) == 0)
    assert outer.inner.seen[-1][0] is True


def test_build_receives_the_first_input_shape():
    class Shapes(layers.Layer):
        def build(self, input_shape):
            self.shape_seen = input_shape

        def call(self, inputs):
            return inputs[0] + inputs[1]

    layer = Shapes()
    layer([np.ones((2, 3)), np.ones((2, 3))])
    assert layer.built and layer.shape_seen == [(2, 3), (2, 3)]


def test_functional_model_with_a_multi_input_custom_layer():
    class Mix(layers.Layer):
        def build(self, input_shape):
            self.w = self.add_weight((input_shape[0][-1],), initializer="ones")

        def call(self, inputs):
            a, b = inputs
            return a * self.w + b

    a, b = keras.Input((3,)), keras.Input((3,))
    mixed = Mix()([layers.Dense(3)(a), b])
    assert mixed.shape == (None, 3)


def test_add_loss_joins_the_training_loss_and_its_gradient():
    class Penalty(layers.Layer):
        def call(self, inputs):
            self.add_loss(0.5 * np.sum(inputs * inputs))
            return inputs

    def build(with_penalty):
        inputs = keras.Input((3,), dtype="float64")
        x = layers.Dense(2, dtype="float64", kernel_initializer="ones")(inputs)
        if with_penalty:
            x = Penalty(dtype="float64")(x)
        model = keras.Model(inputs, x)
        model.compile("sgd", "mse")
        return model

    x = rng.standard_normal((4, 3))
    y = rng.standard_normal((4, 2))
    plain, penalized = build(False), build(True)
    base = plain.train_on_batch(x, y)
    total = penalized.train_on_batch(x, y)
    hidden = x @ np.ones((3, 2))
    np.testing.assert_allclose(total - base, 0.5 * np.sum(hidden ** 2), rtol=1e-10)
    # SGD moved the kernel by lr * (d mse + d penalty); the penalty's part is lr * x.T @ hidden.
    moved = plain.layers[1].kernel.numpy() - penalized.layers[1].kernel.numpy()
    np.testing.assert_allclose(moved, 0.01 * x.T @ hidden, rtol=1e-8)
    assert len(penalized.losses) == 1
    assert penalized.evaluate(x, y, verbose=0) > plain.evaluate(x, y, verbose=0)


def test_lambda_layer_forward_gradient_and_config(tmp_path):
    lam = layers.Lambda(np.tanh)
    x = rng.standard_normal((3, 4)).astype("float32")
    np.testing.assert_allclose(lam(x), np.tanh(x), rtol=1e-6)
    check_model_gradients(float64_model(layers.Lambda(lambda t: t * np.exp(-t),
                                                      dtype="float64")),
                          rng.standard_normal((3, 5)))
    inputs = keras.Input((4,))
    model = keras.Model(inputs, layers.Lambda(np.tanh)(layers.Dense(3)(inputs)))
    path = tmp_path / "lambda.keras"
    model.save(path)
    with pytest.raises(ValueError, match="custom_objects"):
        keras.models.load_model(path)
    loaded = keras.models.load_model(path, custom_objects={"tanh": np.tanh})
    np.testing.assert_allclose(loaded.predict(x), model.predict(x), rtol=1e-6)
    with pytest.raises(ValueError, match="lambda"):
        layers.Lambda(lambda t: t).get_config()
    assert layers.Lambda(lambda t: t[:, :2], output_shape=(2,)).compute_output_shape(
        (None, 4)) == (None, 2)


def test_output_shape_by_running_call_and_its_errors():
    class Halve(layers.Layer):
        def call(self, inputs):
            return inputs[:, ::2]

    out = Halve()(keras.Input((6, 2)))
    assert out.shape == (None, 3, 2)
    with pytest.raises(ValueError, match="compute_output_shape"):
        Halve()(keras.Input((None, 2)))

    class Pair(layers.Layer):
        def call(self, inputs):
            return inputs, inputs

    with pytest.raises(ValueError, match="one array"):
        Pair()(keras.Input((3,)))


def test_custom_layer_without_backward_has_no_eager_backward():
    layer = Gated(2)
    layer(np.ones((1, 3)))
    with pytest.raises(NotImplementedError, match="GradientTape"):
        layer.backward(np.ones((1, 2)))


def test_custom_layer_trains_in_fit():
    model = keras.Sequential([keras.Input((5,)), Gated(8), layers.Dense(3, activation="softmax")])
    model.compile(keras.optimizers.Adam(0.03), "sparse_categorical_crossentropy")
    x = rng.standard_normal((64, 5)).astype("float32")
    y = (x[:, 0] > 0).astype(int) + (x[:, 1] > 0)
    history = model.fit(x, y, epochs=15, batch_size=16, verbose=0)
    assert history.history["loss"][-1] < 0.7 * history.history["loss"][0]


def test_a_layer_built_by_hand_is_not_built_again():
    layer = Gated(2)
    layer.build((None, 3))
    assert layer.built and layer.input_shape == (None, 3)
    gate = layer.gate
    layer(np.ones((1, 3)))
    assert layer.gate is gate


def test_multi_input_custom_layer_gradients_in_a_model():
    class Bilinear(layers.Layer):
        def build(self, input_shape):
            self.w = self.add_weight((input_shape[0][-1], input_shape[1][-1]),
                                     initializer="random_normal", name="w")

        def call(self, inputs):
            a, b = inputs
            return np.sum((a @ self.w) * b, axis=-1, keepdims=True) + a

    inputs = keras.Input((4,), dtype="float64")
    left = layers.Dense(3, activation="tanh", dtype="float64")(inputs)
    right = layers.Dense(2, dtype="float64")(inputs)
    outputs = Bilinear(dtype="float64")([left, right])
    check_model_gradients(keras.Model(inputs, outputs), rng.standard_normal((3, 4)))


def test_functional_api_guide_custom_layer_config_round_trip():
    class CustomDense(layers.Layer):
        def __init__(self, units=32):
            super().__init__()
            self.units = units

        def build(self, input_shape):
            self.w = self.add_weight((input_shape[-1], self.units), initializer="random_normal")
            self.b = self.add_weight((self.units,), initializer="random_normal")

        def call(self, inputs):
            return inputs @ self.w + self.b

        def get_config(self):  # no "name": the functional config's entry has it
            return {"units": self.units}

    inputs = keras.Input((4,))
    model = keras.Model(inputs, CustomDense(10)(inputs))
    rebuilt = keras.Model.from_config(model.get_config(),
                                      custom_objects={"CustomDense": CustomDense})
    assert rebuilt.predict(np.ones((2, 4))).shape == (2, 10)


def test_training_given_positionally():
    layer = Recorder()
    x = np.ones((1, 2), "float32")
    layer(x, True)
    layer(x, None, "mask", 2.0)
    assert layer.seen == [(True, None), (None, "mask")]
    dropout = layers.Dropout(0.99, seed=3)
    assert np.any(dropout(np.ones((8, 8)), True) == 0)


def test_functional_model_with_two_outputs_under_a_user_tape():
    inputs = keras.Input((3,), dtype="float64")
    hidden = layers.Dense(4, activation="tanh", dtype="float64")(inputs)
    model = keras.Model(inputs, [layers.Dense(2, dtype="float64")(hidden),
                                 layers.Dense(1, dtype="float64")(hidden)])
    x = rng.standard_normal((5, 3))

    def value(x):
        first, second = model(x)
        return np.sum(first * first) + np.sum(np.sin(second))

    with GradientTape() as tape:
        traced = tape.watch(x)
        loss = value(traced)  # one tape node for the model, its executor's backward
    grads = tape.gradient(loss, [traced] + model.trainable_weights)
    np.testing.assert_allclose(grads[0], finite_difference(lambda: float(value(x)), x),
                               rtol=1e-6, atol=1e-8)
    kernel = model.trainable_weights[0]
    np.testing.assert_allclose(grads[1], finite_difference(lambda: float(value(x)), kernel),
                               rtol=1e-6, atol=1e-8)


def test_regularizers_inside_a_custom_layer_reach_the_loss_and_the_gradients():
    class Wrapped(layers.Layer):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.dense = layers.Dense(2, kernel_regularizer=keras.regularizers.L2(0.5),
                                      activity_regularizer=keras.regularizers.L1(0.25),
                                      kernel_initializer="ones", dtype=self.dtype)

        def call(self, inputs):
            return self.dense(inputs)

    def model_with(middle):
        inputs = keras.Input((3,), dtype="float64")
        model = keras.Model(inputs, middle(inputs))
        model.compile(keras.optimizers.SGD(0.1), "mse")
        return model

    x = rng.standard_normal((4, 3))
    y = rng.standard_normal((4, 2))
    flat = model_with(layers.Dense(2, kernel_regularizer=keras.regularizers.L2(0.5),
                                   activity_regularizer=keras.regularizers.L1(0.25),
                                   kernel_initializer="ones", dtype="float64"))
    wrapped = model_with(Wrapped(dtype="float64"))
    np.testing.assert_allclose(wrapped.train_on_batch(x, y), flat.train_on_batch(x, y),
                               rtol=1e-12)
    for got, want in zip(wrapped.get_weights(), flat.get_weights()):
        np.testing.assert_allclose(got, want, rtol=1e-12)


def test_training_guide_logistic_endpoint_without_a_compiled_loss():
    # keras.io "Training & evaluation with the built-in methods": a layer called on two
    # tensors adds the loss; the model is compiled without one and fit on a dict, no `y`.
    class LogisticEndpoint(layers.Layer):
        def __init__(self, name=None):
            super().__init__(name=name)
            self.loss_fn = keras.losses.BinaryCrossentropy(from_logits=True)

        def call(self, targets, logits, sample_weights=None):
            loss = self.loss_fn(targets, logits, sample_weights)
            self.add_loss(loss)
            return keras.ops.softmax(logits)

    inputs = keras.Input(shape=(3,), name="inputs")
    targets = keras.Input(shape=(10,), name="targets")
    logits = layers.Dense(10)(inputs)
    predictions = LogisticEndpoint(name="predictions")(targets, logits)
    model = keras.Model(inputs=[inputs, targets], outputs=predictions)
    model.compile(optimizer=keras.optimizers.SGD(0.5))
    data = {"inputs": rng.random((8, 3)), "targets": (rng.random((8, 10)) > 0.5) * 1.0}
    history = model.fit(data, epochs=5, verbose=0)
    kernel, bias = model.get_layer(logits.layer.name).get_weights()
    expected = keras.losses.BinaryCrossentropy(from_logits=True)(
        data["targets"], data["inputs"] @ kernel + bias)
    assert history.history["loss"][-1] < history.history["loss"][0]
    assert model.evaluate(data, verbose=0) == pytest.approx(expected, rel=1e-5)


def test_fit_without_targets_or_loss_needs_an_added_loss():
    class Shrink(layers.Layer):
        def call(self, x):
            self.add_loss(np.mean(x * x))
            return x

    inputs = keras.Input((3,))
    model = keras.Model(inputs, Shrink()(layers.Dense(2)(inputs)))
    model.compile(keras.optimizers.SGD(0.5))
    history = model.fit(rng.random((16, 3)), epochs=3, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]
    plain = keras.Sequential([keras.Input((3,)), layers.Dense(2)])
    plain.compile("sgd")
    with pytest.raises(ValueError, match="no loss to compute"):
        plain.fit(rng.random((16, 3)), verbose=0)
