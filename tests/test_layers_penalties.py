"""Regularizers and constraints wired into layers (Keras semantics): penalties in
`layer.losses` / `model.losses` and in the loss fit/evaluate report, their gradients in the
optimizer step (checked against float64 finite differences of the whole loss), constraints
applied after each step, and configs that keep them through save/load."""

import numpy as np
import pytest

import fastconv
from fastconv import constraints, layers, regularizers

F64 = {"dtype": "float64"}


def _x(*shape, seed=1):
    return np.random.default_rng(seed).standard_normal(shape)


@pytest.mark.parametrize("make, shape, names", [
    (lambda r: layers.Dense(3, kernel_regularizer=r, bias_regularizer=r), (2, 4),
     ["kernel", "bias"]),
    (lambda r: layers.Conv2D(2, 3, kernel_regularizer=r, bias_regularizer=r), (1, 5, 5, 2),
     ["kernel", "bias"]),
    (lambda r: layers.Conv1D(2, 3, kernel_regularizer=r), (1, 5, 2), ["kernel"]),
    (lambda r: layers.Conv2DTranspose(2, 3, kernel_regularizer=r, bias_regularizer=r),
     (1, 3, 3, 2), ["kernel", "bias"]),
    (lambda r: layers.DepthwiseConv2D(3, depthwise_regularizer=r), (1, 5, 5, 2), ["kernel"]),
    (lambda r: layers.SeparableConv2D(2, 3, depthwise_regularizer=r, pointwise_regularizer=r),
     (1, 5, 5, 2), ["depthwise_kernel", "pointwise_kernel"]),
    (lambda r: layers.BatchNormalization(gamma_regularizer=r, beta_regularizer=r), (4, 3),
     ["gamma", "beta"]),
    (lambda r: layers.LayerNormalization(gamma_regularizer=r, beta_regularizer=r), (4, 3),
     ["gamma", "beta"]),
    (lambda r: layers.Embedding(6, 3, embeddings_regularizer=r), (2, 4), ["embeddings"]),
    (lambda r: layers.PReLU(alpha_initializer="ones", alpha_regularizer=r), (2, 3), ["alpha"]),
])
def test_weight_penalties_in_layer_losses(make, shape, names):
    regularizer = regularizers.L1L2(l1=0.01, l2=0.1)
    layer = make(regularizer)
    inputs = np.abs(_x(*shape)).astype(int) if isinstance(layer, layers.Embedding) else _x(*shape)
    layer(inputs)
    expected = [regularizer(getattr(layer, name)) for name in names]
    assert layer.losses == pytest.approx(expected)
    assert len(layer.losses) == len(names) and sum(expected) > 0
    config = layer.get_config()
    clone = type(layer).from_config(config)
    assert clone.get_config() == config
    layer.trainable = False
    assert layer.losses == []  # Keras regularizes trainable weights only


def test_regularizer_strings_and_none():
    layer = layers.Dense(2, kernel_regularizer="l2", bias_regularizer=None,
                         kernel_constraint="non_neg")
    assert isinstance(layer.kernel_regularizer, regularizers.L2)
    assert layer.get_config()["bias_regularizer"] is None
    assert layer.get_config()["kernel_constraint"]["class_name"] == "NonNeg"
    assert layers.Dense(2).losses == []


def test_activity_regularizer_in_layer_losses_and_gradient():
    regularizer = regularizers.L2(0.3)
    layer = layers.Dense(3, activation="relu", activity_regularizer=regularizer, **F64)
    x = _x(4, 5)
    y = layer(x)
    # Keras divides the activity penalty by the batch size.
    assert layer.losses == pytest.approx([regularizer(y) / 4])
    assert layer.get_config()["activity_regularizer"]["class_name"] == "L2"
    dy = _x(4, 3, seed=2)
    layer.backward(dy)
    kernel_grad = layer.grads[0]

    def loss():
        out = layer.call(x)
        return float(np.sum(out * dy)) + regularizer(out) / 4

    numeric = np.zeros_like(kernel_grad)
    kernel = layer.kernel
    for index in np.ndindex(kernel.shape):
        saved = kernel[index]
        kernel[index] = saved + 1e-6
        plus = loss()
        kernel[index] = saved - 1e-6
        minus = loss()
        kernel[index] = saved
        numeric[index] = (plus - minus) / 2e-6
    layer.call(x)
    layer.backward(dy)
    np.testing.assert_allclose(layer.grads[0], numeric, rtol=1e-6, atol=1e-8)
    # backward_logits takes the gradient before the ReLU: the penalty's goes through it too.
    out = layer.call(x)
    layer.backward_logits(dy * (out > 0))
    np.testing.assert_allclose(layer.grads[0], numeric, rtol=1e-6, atol=1e-8)


def _float64_model(kind):
    """Small float64 models whose fused passes (softmax + crossentropy, ReLU + max pooling)
    an activity regularizer must switch off."""
    l2, l1 = regularizers.L2(0.05), regularizers.L1(0.02)
    if kind == "dense":
        model = fastconv.Sequential([
            fastconv.Input((4,), dtype="float64"),
            layers.Dense(5, activation="relu", kernel_regularizer=l2, bias_regularizer=l1,
                         activity_regularizer=l1, **F64),
            layers.Dense(3, activation="softmax", activity_regularizer=l2,
                         kernel_regularizer=regularizers.L1L2(0.01, 0.01), **F64),
        ])
        x, y = _x(6, 4), np.array([0, 1, 2, 0, 1, 2])
    else:
        model = fastconv.Sequential([
            fastconv.Input((6, 6, 2), dtype="float64"),
            layers.Conv2D(3, 3, activation="relu", kernel_regularizer=l2,
                          activity_regularizer=l2, **F64),
            layers.MaxPooling2D(2, **F64),
            layers.Flatten(**F64),
            layers.Dense(3, activation="softmax", activity_regularizer=l1, **F64),
        ])
        x, y = _x(4, 6, 6, 2), np.array([0, 1, 2, 1])
    model.compile(optimizer=fastconv.optimizers.SGD(1.0), loss="sparse_categorical_crossentropy")
    return model, x, y


@pytest.mark.parametrize("kind", ["dense", "conv"])
def test_training_loss_and_gradients_include_every_penalty(kind):
    model, x, y = _float64_model(kind)
    before = [np.array(w) for w in model.trainable_weights]
    data_loss = fastconv.losses.SparseCategoricalCrossentropy()(y, model.predict(x, verbose=0))
    penalty = model.test_on_batch(x, y) - data_loss
    assert penalty > 0
    # model.losses: the weight penalties, then the activity penalties of the last model(x).
    model(x)
    assert sum(model.losses) == pytest.approx(penalty, rel=1e-10)

    def total_loss():
        return model.test_on_batch(x, y)

    numeric = []
    for weight in model.trainable_weights:
        grad = np.zeros(weight.shape)
        for index in np.ndindex(weight.shape):
            saved = weight[index]
            weight[index] = saved + 1e-6
            plus = total_loss()
            weight[index] = saved - 1e-6
            minus = total_loss()
            weight[index] = saved
            grad[index] = (plus - minus) / 2e-6
        numeric.append(grad)
    reported = model.train_on_batch(x, y)  # SGD(1.0): before - after is the gradient
    assert reported == pytest.approx(data_loss + penalty, rel=1e-10)
    for old, new, expected in zip(before, model.trainable_weights, numeric):
        np.testing.assert_allclose(old - new, expected, rtol=1e-5, atol=1e-7)


def test_fit_history_reports_the_regularized_loss():
    model, x, y = _float64_model("dense")
    expected = model.evaluate(x, y, verbose=0)
    model.optimizer = fastconv.optimizers.SGD(0.0)
    history = model.fit(x, y, batch_size=len(x), epochs=1, verbose=0)
    assert history.history["loss"][0] == pytest.approx(expected, rel=1e-10)


def test_constraints_are_applied_after_each_step():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((64, 6)).astype(np.float32)
    y = x @ rng.standard_normal((6, 4)).astype(np.float32) * 3
    model = fastconv.Sequential([
        fastconv.Input((6,)),
        layers.Dense(4, kernel_constraint=constraints.MaxNorm(0.5),
                     bias_constraint=constraints.NonNeg()),
    ])
    model.compile(optimizer=fastconv.optimizers.SGD(0.1), loss="mse")
    model.fit(x, y, epochs=3, batch_size=16, verbose=0)
    dense = model.layers[0]
    assert np.sqrt((dense.kernel ** 2).sum(axis=0)).max() <= 0.5 + 1e-6
    assert (dense.bias >= 0).all()
    conv = layers.Conv2D(2, 3, kernel_constraint=constraints.UnitNorm(axis=[0, 1, 2]))
    model = fastconv.Sequential([fastconv.Input((5, 5, 1)), conv, layers.Flatten()])
    model.compile(optimizer=fastconv.optimizers.SGD(0.1), loss="mse")
    model.train_on_batch(np.ones((2, 5, 5, 1), np.float32), np.zeros((2, 18), np.float32))
    np.testing.assert_allclose(np.sqrt((conv.kernel ** 2).sum(axis=(0, 1, 2))), 1.0, rtol=1e-5)


def test_regularizers_survive_save_and_load(tmp_path):
    model = fastconv.Sequential([
        fastconv.Input((4,)),
        layers.Dense(3, kernel_regularizer=regularizers.L2(0.02),
                     activity_regularizer="l1", kernel_constraint=constraints.MaxNorm(2.0)),
    ])
    model.compile(optimizer="sgd", loss="mse")
    path = tmp_path / "reg.keras"
    model.save(path)
    loaded = fastconv.models.load_model(path)
    dense = loaded.layers[0]
    assert dense.kernel_regularizer.l2 == 0.02
    assert isinstance(dense.activity_regularizer, regularizers.L1)
    assert dense.kernel_constraint.max_value == 2.0
    assert loaded.losses == pytest.approx(model.losses)
