"""A subclassed model's own `compute_loss(x, y, y_pred, sample_weight)` (Keras 3's hook, as
in the keras.io knowledge-distillation example) drives `fit` and `evaluate`: one SGD step
against the gradient worked out by hand, the evaluated loss against NumPy, metrics still
updated, and the cases fastconv refuses."""

import numpy as np
import pytest

import fastconv as keras
from fastconv import layers, ops

rng = np.random.default_rng(5)
X = rng.standard_normal((8, 3))
Y = rng.standard_normal((8, 1))


class InputWeighted(keras.Model):
    """Squared error weighted per sample by |x[:, 0]|: a loss that needs `x`."""

    def __init__(self):
        super().__init__()
        self.dense = layers.Dense(1, kernel_initializer="ones", bias_initializer="zeros")

    def call(self, x):
        return self.dense(x)

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, allow_empty=False):
        weight = ops.abs(x[:, :1])
        return ops.mean(weight * ops.square(y_pred - y))


def reference_loss_and_grads(kernel, bias):
    pred = X @ kernel + bias
    weight = np.abs(X[:, :1])
    dpred = 2 * weight * (pred - Y) / len(X)
    return np.mean(weight * (pred - Y) ** 2), X.T @ dpred, dpred.sum(0)


def test_one_sgd_step_follows_the_gradient_of_compute_loss():
    model = InputWeighted()
    model.compile(optimizer=keras.optimizers.SGD(0.1), metrics=["mae"])
    model.build((None, 3))
    kernel, bias = np.array(model.dense.kernel, np.float64), np.array(model.dense.bias, np.float64)
    loss, dkernel, dbias = reference_loss_and_grads(kernel, bias)
    history = model.fit(X, Y, batch_size=8, epochs=1, shuffle=False, verbose=0)
    np.testing.assert_allclose(history.history["loss"][0], loss, rtol=1e-5)
    np.testing.assert_allclose(model.dense.kernel, kernel - 0.1 * dkernel, rtol=1e-5)
    np.testing.assert_allclose(model.dense.bias, bias - 0.1 * dbias, rtol=1e-5, atol=1e-7)


def test_evaluate_reports_compute_loss_and_the_compiled_metrics():
    model = InputWeighted()
    model.compile(optimizer="sgd", metrics=["mae"])
    result = model.evaluate(X, Y, batch_size=8, return_dict=True, verbose=0)
    pred = model.predict(X, verbose=0).astype(np.float64)
    np.testing.assert_allclose(result["loss"], np.mean(np.abs(X[:, :1]) * (pred - Y) ** 2), rtol=1e-5)
    np.testing.assert_allclose(result["mae"], np.mean(np.abs(pred - Y)), rtol=1e-5)


def test_a_teacher_called_inside_compute_loss_is_not_trained():
    teacher = keras.Sequential([keras.Input((3,)), layers.Dense(4)])
    student = keras.Sequential([keras.Input((3,)), layers.Dense(4)])

    class Distiller(keras.Model):
        def __init__(self):
            super().__init__()
            self.teacher, self.student = teacher, student

        def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, allow_empty=False):
            soft_teacher = ops.softmax(self.teacher(x, training=False) / 2.0, axis=1)
            return keras.losses.KLDivergence()(soft_teacher, ops.softmax(y_pred / 2.0, axis=1))

        def call(self, x):
            return self.student(x)

    distiller = Distiller()
    distiller.compile(optimizer=keras.optimizers.Adam(0.05))
    before = [np.array(w) for w in teacher.weights]
    history = distiller.fit(X, np.zeros((8, 4)), batch_size=4, epochs=5, verbose=0)
    assert history.history["loss"][-1] < 0.5 * history.history["loss"][0]
    for old, new in zip(before, teacher.weights):
        np.testing.assert_array_equal(old, new)


def test_added_losses_with_an_override_are_refused():
    class WithAddedLoss(InputWeighted):
        def call(self, x):
            out = self.dense(x)
            self.add_loss(ops.sum(out))
            return out

    model = WithAddedLoss()
    model.compile(optimizer="sgd")
    with pytest.raises(NotImplementedError, match="add_loss"):
        model.fit(X, Y, verbose=0)


def test_an_override_may_add_to_super_compute_loss():
    class PlusL1OfPredictions(InputWeighted):
        def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
            compiled = super(InputWeighted, self).compute_loss(x, y, y_pred, sample_weight)
            return compiled + 0.5 * ops.mean(ops.abs(y_pred))

    model = PlusL1OfPredictions()
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
    model.build((None, 3))
    kernel, bias = np.array(model.dense.kernel, np.float64), np.array(model.dense.bias, np.float64)
    pred = X @ kernel + bias
    loss = np.mean((pred - Y) ** 2) + 0.5 * np.mean(np.abs(pred))
    dpred = (2 * (pred - Y) + 0.5 * np.sign(pred)) / len(X)
    history = model.fit(X, Y, batch_size=8, epochs=1, shuffle=False, verbose=0)
    np.testing.assert_allclose(history.history["loss"][0], loss, rtol=1e-5)
    np.testing.assert_allclose(model.dense.kernel, kernel - 0.1 * X.T @ dpred, rtol=1e-5)
    np.testing.assert_allclose(model.dense.bias, bias - 0.1 * dpred.sum(0), rtol=1e-5)
