"""The executor's plans: built once per input signature, and fused only where it is exact."""

import numpy as np

import fastconv as keras
from fastconv import layers
from fastconv.executor import plan as plan_module
from executor_steps import forward, forward_backward


def test_one_plan_per_input_signature(monkeypatch):
    built = []
    original = plan_module.Plan.__init__

    def counting(self, *args, **kwargs):
        built.append(1)
        original(self, *args, **kwargs)

    monkeypatch.setattr(plan_module.Plan, "__init__", counting)
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input(shape=(6,)), layers.Dense(4, activation="relu"),
                              layers.Dense(3, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((40, 6)).astype(np.float32), rng.integers(0, 3, 40)
    model.fit(x, y, epochs=3, batch_size=8, validation_split=0.25, verbose=0)
    model.evaluate(x, y, verbose=0)
    model.predict(x)
    model(x[:3])
    model.train_on_batch(x[:8], y[:8])
    assert len(built) == 1
    model.predict(x.astype(np.float64))  # another signature (dtype): one more plan
    assert len(built) == 2
    model.layers[0].trainable = False  # the trainable flags are part of the key
    model.predict(x)
    assert len(built) == 3


def _shared_relu_model():
    """A ReLU output read by a max pool AND by another branch: the fused pool backward would
    drop the other branch's gradient, so the plan must not fuse it."""
    keras.utils.set_random_seed(2)
    f64 = {"dtype": "float64"}
    inputs = keras.Input(shape=(4, 4, 2), dtype="float64")
    hidden = layers.Conv2D(3, 3, padding="same", activation="relu", **f64)(inputs)
    pooled = layers.Flatten(**f64)(layers.MaxPooling2D(2, **f64)(hidden))
    other = layers.Flatten(**f64)(layers.AveragePooling2D(2, **f64)(hidden))
    outputs = layers.Dense(2, **f64)(layers.Concatenate(**f64)([pooled, other]))
    model = keras.Model(inputs, outputs)
    model.compile(optimizer="sgd", loss="mse")
    return model


def test_relu_read_twice_is_not_fused_and_gradients_match_finite_differences():
    model = _shared_relu_model()
    rng = np.random.default_rng(3)
    x, y = rng.standard_normal((3, 4, 4, 2)), rng.standard_normal((3, 2))
    _, run = forward_backward(model, x, y)
    assert not any(step.relu_below for step in run.plan.steps)
    conv_kernel_grad, conv_kernel = run.grads_and_vars()[0]
    eps = 1e-6
    flat = conv_kernel.reshape(-1)
    for i in rng.choice(flat.size, size=8, replace=False):
        saved = flat[i]
        flat[i] = saved + eps
        plus = model.loss(y, forward(model, x))
        flat[i] = saved - eps
        minus = model.loss(y, forward(model, x))
        flat[i] = saved
        numeric = (plus - minus) / (2 * eps)
        assert abs(numeric - conv_kernel_grad.reshape(-1)[i]) <= 1e-6 * max(1.0, abs(numeric))


def test_frozen_first_layers_get_no_input_gradient():
    keras.utils.set_random_seed(4)
    model = keras.Sequential([keras.Input(shape=(5,)), layers.Dense(4, activation="relu"),
                              layers.Dense(4, activation="relu"), layers.Dense(2)])
    model.layers[0].trainable = False
    model.compile(optimizer="sgd", loss="mse")
    rng = np.random.default_rng(5)
    _, run = forward_backward(model, rng.standard_normal((3, 5)), rng.standard_normal((3, 2)))
    first, second, third = run.plan.steps
    assert not first.active                       # nothing to train at or below it
    assert second.active and not second.needs_input_grad
    assert third.needs_input_grad
    assert [w.shape for _, w in run.grads_and_vars()] == [(4, 4), (4,), (4, 2), (2,)]
