"""Subclassed `Model`s (`__init__` + `call`): they always run their `call`; fit / evaluate /
predict / *_on_batch / summary / save_weights work; gradients match float64 finite
differences; and the same network written functionally, subclassed and as a custom-layer
stack gives identical outputs and identical weights after a training step."""

import numpy as np
import pytest

import fastconv as keras
from fastconv import layers, losses, optimizers
from fastconv.autodiff import GradientTape
from fastconv.executor import Run, plan_for

rng = np.random.default_rng(1)


class MLP(keras.Model):
    def __init__(self, dtype="float32", **kwargs):
        super().__init__(dtype=dtype, **kwargs)
        self.hidden = layers.Dense(8, activation="relu", dtype=dtype)
        self.head = layers.Dense(3, activation="softmax", dtype=dtype)

    def call(self, inputs, training=False):
        return self.head(self.hidden(inputs))


class Body(layers.Layer):
    def __init__(self, dtype="float32", **kwargs):
        super().__init__(dtype=dtype, **kwargs)
        self.hidden = layers.Dense(8, activation="relu", dtype=dtype)
        self.head = layers.Dense(3, activation="softmax", dtype=dtype)

    def call(self, inputs):
        return self.head(self.hidden(inputs))


def three_ways(dtype):
    inputs = keras.Input((4,), dtype=dtype)
    hidden = layers.Dense(8, activation="relu", dtype=dtype)(inputs)
    functional = keras.Model(inputs, layers.Dense(3, activation="softmax", dtype=dtype)(hidden))
    subclassed = MLP(dtype=dtype)
    stack = keras.Sequential([keras.Input((4,), dtype=dtype), Body(dtype=dtype)])
    x = rng.standard_normal((16, 4)).astype(dtype)
    for model in (subclassed, stack):
        model(x)
        model.set_weights(functional.get_weights())
    return (functional, subclassed, stack), x


@pytest.mark.parametrize("dtype, rtol", [("float64", 1e-12), ("float32", 2e-6)])
def test_functional_subclassed_and_custom_layer_stack_agree(dtype, rtol):
    models, x = three_ways(dtype)
    y = rng.integers(0, 3, 16)
    outputs = [model.predict(x, verbose=0) for model in models]
    for output in outputs[1:]:
        np.testing.assert_array_equal(output, outputs[0])
    losses_seen = []
    for model in models:
        model.compile(optimizers.SGD(0.5), "sparse_categorical_crossentropy")
        losses_seen.append(model.train_on_batch(x, y))
    np.testing.assert_allclose(losses_seen[1:], [losses_seen[0]] * 2, rtol=rtol)
    reference = models[0].get_weights()
    for model in models[1:]:
        for got, want in zip(model.get_weights(), reference):
            np.testing.assert_allclose(got, want, rtol=rtol, atol=rtol)


def test_subclassed_model_always_runs_its_call():
    model = MLP()
    x = rng.standard_normal((5, 4)).astype("float32")
    out = model(x)
    assert out.shape == (5, 3)
    np.testing.assert_allclose(out.sum(axis=1), 1.0, rtol=1e-6)
    assert [layer.name for layer in model.layers] == [model.hidden.name, model.head.name]
    assert model.name.startswith("mlp") and len(model.weights) == 4


def test_fit_evaluate_predict_on_batch_summary_and_weights(tmp_path, capsys):
    model = MLP()
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    x = rng.standard_normal((64, 4)).astype("float32")
    y = (x[:, 0] > 0).astype(int) * 2
    history = model.fit(x, y, epochs=20, batch_size=16, verbose=0, validation_split=0.25)
    assert history.history["loss"][-1] < history.history["loss"][0]
    assert set(history.history) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    loss, accuracy = model.evaluate(x, y, verbose=0)
    assert 0.0 <= accuracy <= 1.0 and np.isfinite(loss)
    assert model.predict(x, batch_size=7).shape == (64, 3)
    assert np.isfinite(model.train_on_batch(x[:8], y[:8])[0])
    assert np.isfinite(model.test_on_batch(x[:8], y[:8])[0])
    np.testing.assert_allclose(model.predict_on_batch(x[:8]), model.predict(x[:8]), rtol=1e-6)
    model.summary()
    assert "mlp" in capsys.readouterr().out
    path = tmp_path / "mlp.weights.h5"
    model.save_weights(path)
    other = MLP()
    other(x[:1])
    other.load_weights(path)
    np.testing.assert_array_equal(other.predict(x), model.predict(x))


def test_subclassed_gradients_match_finite_differences():
    class Residual(keras.Model):
        def __init__(self):
            super().__init__(dtype="float64")
            self.inner = layers.Dense(4, activation="tanh", dtype="float64")
            self.out = layers.Dense(2, dtype="float64")

        def build(self, input_shape):
            self.scale = self.add_weight((4,), initializer="random_normal", name="scale")
            super().build(input_shape)

        def call(self, inputs):
            h = self.inner(inputs) * self.scale + inputs
            return self.out(h * h)

    model = Residual()
    x = rng.standard_normal((3, 4))
    model(x)
    dy = rng.standard_normal((3, 2))
    run = Run(plan_for(model, (x.shape[1:], x.dtype), None, input_grad=True))
    run.forward(x, training=True)
    dx = run.backward(dy)
    grads = {id(w): g for g, w in run.grads_and_vars()}

    def loss():
        return float(np.sum(np.asarray(model(x)) * dy))

    def numeric(array, eps=1e-6):
        grad = np.zeros(array.shape)
        for index in np.ndindex(array.shape):
            old = array[index]
            array[index] = old + eps
            up = loss()
            array[index] = old - eps
            grad[index] = (up - loss()) / (2 * eps)
            array[index] = old
        return grad

    np.testing.assert_allclose(dx, numeric(x), rtol=1e-6, atol=1e-9)
    assert [w.path for w in model.trainable_weights][0].endswith("scale")
    for weight in model.trainable_weights:
        np.testing.assert_allclose(grads[id(weight)], numeric(weight), rtol=1e-6, atol=1e-9)


def test_custom_training_loops_with_gradient_tape_agree_functional_and_subclassed():
    (functional, subclassed, _), x = three_ways("float64")
    y = rng.integers(0, 3, 16)
    loss_fn = losses.SparseCategoricalCrossentropy()
    for model in (functional, subclassed):
        optimizer = optimizers.SGD(0.5)
        with GradientTape() as tape:
            probs = model(x, training=True)
            loss = loss_fn(y, probs)
        grads = tape.gradient(loss, model.trainable_weights)
        optimizer.apply(grads, model.trainable_weights)
    for got, want in zip(subclassed.get_weights(), functional.get_weights()):
        np.testing.assert_allclose(got, want, rtol=1e-12)


def test_add_loss_in_a_subclassed_model():
    class Regularized(keras.Model):
        def __init__(self):
            super().__init__()
            self.dense = layers.Dense(2)

        def call(self, inputs):
            outputs = self.dense(inputs)
            self.add_loss(0.1 * np.mean(outputs ** 2))
            return outputs

    model = Regularized()
    model.compile("sgd", "mse")
    x = rng.standard_normal((8, 3)).astype("float32")
    y = np.zeros((8, 2), "float32")
    value = model.test_on_batch(x, y)
    predictions = model.predict(x)
    np.testing.assert_allclose(value, 1.1 * np.mean(predictions ** 2), rtol=1e-5)
    assert len(model.losses) == 1


def test_subclassed_model_nested_in_sequential():
    inner = MLP()
    outer = keras.Sequential([keras.Input((4,)), layers.Dense(4), inner])
    outer.compile("sgd", "sparse_categorical_crossentropy")
    x = rng.standard_normal((8, 4)).astype("float32")
    before = inner.hidden.kernel.numpy()
    outer.fit(x, rng.integers(0, 3, 8), verbose=0)
    assert outer.predict(x).shape == (8, 3)
    assert not np.allclose(inner.hidden.kernel.numpy(), before)


def test_what_is_not_supported_says_so():
    class CustomStep(keras.Model):
        def call(self, inputs):
            return inputs

        def train_step(self, data):
            return {}

    with pytest.raises(NotImplementedError, match="train_step"):
        CustomStep()

    class NoCall(keras.Model):
        pass

    with pytest.raises(NotImplementedError, match="must implement `call`"):
        NoCall()

    class TwoOutputs(keras.Model):
        def __init__(self):
            super().__init__()
            self.dense = layers.Dense(2)

        def call(self, inputs):
            return self.dense(inputs), inputs

    model = TwoOutputs()
    model.compile("sgd", "mse")
    with pytest.raises(ValueError, match="one array"):
        model.fit(np.ones((4, 2)), np.ones((4, 2)), verbose=0)


def test_whole_model_files_and_own_variables_are_refused(tmp_path):
    model = MLP()
    model(np.ones((1, 4), "float32"))
    with pytest.raises(NotImplementedError, match="save_weights"):
        model.save(tmp_path / "mlp.keras")

    class OwnScale(keras.Model):
        def build(self, input_shape):
            self.scale = self.add_weight((input_shape[-1],), initializer="ones")

        def call(self, inputs):
            return inputs * self.scale

    own = OwnScale()
    own(np.ones((1, 3)))
    with pytest.raises(NotImplementedError, match="custom layer"):
        own.save_weights(tmp_path / "own.weights.h5")


def test_functional_model_inside_a_subclassed_model_trains_with_exact_gradients():
    inputs = keras.Input((3,), dtype="float64")
    inner = keras.Model(inputs, layers.Dense(3, activation="tanh", dtype="float64")(inputs))

    class Wrapper(keras.Model):
        def __init__(self):
            super().__init__(dtype="float64")
            self.inner = inner
            self.head = layers.Dense(2, dtype="float64")

        def call(self, x):
            return self.head(self.inner(x) * x)

    model = Wrapper()
    x = rng.standard_normal((4, 3))
    model(x)
    assert len(model.trainable_weights) == 4
    dy = rng.standard_normal((4, 2))
    run = Run(plan_for(model, (x.shape[1:], x.dtype), None))
    run.forward(x, training=True)
    run.backward(dy)
    grads = {id(w): g for g, w in run.grads_and_vars()}
    kernel = inner.layers[1].kernel
    numeric = np.zeros(kernel.shape)
    for index in np.ndindex(kernel.shape):
        old = kernel[index]
        kernel[index] = old + 1e-6
        up = np.sum(np.asarray(model(x)) * dy)
        kernel[index] = old - 1e-6
        numeric[index] = (up - np.sum(np.asarray(model(x)) * dy)) / 2e-6
        kernel[index] = old
    np.testing.assert_allclose(grads[id(kernel)], numeric, rtol=1e-6, atol=1e-9)


def test_integer_inputs_reach_call_as_integers():
    class TokenModel(keras.Model):
        def __init__(self):
            super().__init__()
            self.embedding = layers.Embedding(50, 4)
            self.head = layers.Dense(2, activation="softmax")
            self.seen = set()

        def call(self, tokens):
            self.seen.add(np.asarray(tokens).dtype.kind)
            return self.head(np.mean(self.embedding(tokens), axis=1))

    model = TokenModel()
    model.compile("adam", "sparse_categorical_crossentropy")
    tokens = rng.integers(0, 50, (16, 5))
    model.fit(tokens, rng.integers(0, 2, 16), epochs=1, verbose=0)
    assert model.predict(tokens).shape == (16, 2)
    assert model.seen == {"i"}
