"""The training step's cheap paths (taken when a check would pass) against the checked ones.

Each fast path must give the bits of the path it short-cuts, and bad input must still meet the
full checks and their messages.
"""

import numpy as np
import pytest

import fastconv as keras
from fastconv import callbacks, metrics, ops, optimizers
from fastconv.ops import _args


def test_to_kernel_layout_returns_a_ready_array_itself_and_converts_the_others():
    ready = np.ones((2, 3), np.float32)
    f32 = np.dtype(np.float32)
    assert _args.to_kernel_layout(ready, f32) is ready
    scalar = np.asarray(np.float32(2.0))
    for other in (ready.T, ready.astype(">f4"), ready.astype(np.float64), scalar):
        converted = _args.to_kernel_layout(other, f32)
        assert converted.dtype == f32 and converted.dtype.isnative
        assert converted.flags.c_contiguous and converted.ndim >= 1
        np.testing.assert_array_equal(converted, other.astype(np.float32).reshape(converted.shape))
    weight = keras.Variable(ready)  # an ndarray subclass: handed on as a plain array, as before
    assert type(_args.to_kernel_layout(weight, f32)) is np.ndarray


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_relu_backward_into_a_ready_buffer_equals_the_reference(dtype):
    rng = np.random.default_rng(0)
    dy = rng.standard_normal((3, 7)).astype(dtype)
    y = np.maximum(rng.standard_normal((3, 7)), 0).astype(dtype)
    out = np.empty_like(dy)
    result = ops.relu_backward(dy, y, out=out)
    assert result is out
    np.testing.assert_array_equal(out, np.where(y > 0, dy, 0))
    assert out.tobytes() == ops.relu_backward(dy.T.copy().T, y).tobytes()  # the checked path


def test_relu_backward_still_refuses_an_out_that_does_not_fit():
    dy = y = np.ones((2, 3), np.float32)
    for out, match in ((np.empty((2, 3), np.float64), "float32 array of shape"),
                       (np.empty((2, 3), ">f4"), "float32 array of shape"),
                       (np.empty((3, 2), np.float32), "float32 array of shape")):
        with pytest.raises(ValueError, match=match):
            ops.relu_backward(dy, y, out=out)
    with pytest.raises(ValueError, match="must have one shape"):
        ops.relu_backward(dy, np.ones((3, 2), np.float32), out=np.empty((2, 3), np.float32))


def _keras_adam(var, grads, lr, beta_1, beta_2, epsilon, weight_decay=0.0):
    """Keras 3's Adam (and AdamW's decay first) in float64, step by step."""
    var, m, v = var.astype(np.float64), np.zeros(var.shape), np.zeros(var.shape)
    for t, grad in enumerate(grads, 1):
        var -= var * weight_decay * lr
        m += (grad - m) * (1 - beta_1)
        v += (grad * grad - v) * (1 - beta_2)
        var -= lr * np.sqrt(1 - beta_2 ** t) / (1 - beta_1 ** t) * m / (np.sqrt(v) + epsilon)
    return var


@pytest.mark.parametrize("cls, decay", [(optimizers.Adam, 0.0), (optimizers.AdamW, 0.1)])
def test_adam_updates_every_kind_of_variable_in_one_step(cls, decay):
    # float32 and float64 variables take the compiled pass, float16 the NumPy one, a None
    # gradient leaves its variable alone
    rng = np.random.default_rng(1)
    start = [rng.standard_normal(shape).astype(dtype) for shape, dtype in
             (((3, 4), np.float32), ((5,), np.float64), ((2, 2), np.float16), ((3,), np.float32))]
    grads = [[rng.standard_normal(w.shape).astype(w.dtype) for w in start] for _ in range(3)]
    variables = [w.copy() for w in start]
    kwargs = {"weight_decay": decay} if decay else {}
    optimizer = cls(learning_rate=0.01, **kwargs)
    for step in grads:
        optimizer.apply_gradients(zip(step[:3] + [None], variables))
    for i, tolerance in ((0, 1e-6), (1, 1e-12), (2, 2e-3)):
        expected = _keras_adam(start[i], [step[i].astype(np.float64) for step in grads], 0.01,
                               0.9, 0.999, 1e-7, decay)
        np.testing.assert_allclose(variables[i], expected, rtol=tolerance, atol=tolerance)
    np.testing.assert_array_equal(variables[3], start[3])


def test_adam_subclass_with_its_own_rule_is_used_for_every_variable():
    class Halving(optimizers.Adam):
        def _update(self, var, grad, slots, lr, step, scratch):
            var *= 0.5

    w = np.ones(3, np.float32)
    Halving().apply_gradients([(np.ones(3, np.float32), w)])
    np.testing.assert_array_equal(w, 0.5)


def test_optimizer_still_refuses_a_gradient_of_another_shape():
    w = np.ones(3, np.float32)
    with pytest.raises(ValueError, match=r"Gradient 0 has shape \(2,\) but its variable"):
        optimizers.Adam().apply_gradients([(np.ones(2, np.float32), w)])


def test_mean_of_python_numbers_equals_the_array_path():
    rng = np.random.default_rng(2)
    values, weights = rng.standard_normal(20).tolist(), rng.integers(1, 40, 20).tolist()
    fast, arrays = metrics.Mean(), metrics.Mean()
    for value, weight in zip(values, weights):
        fast.update_state(value, sample_weight=weight)
        arrays.update_state(np.array(value), sample_weight=np.array(weight))
    assert (fast.total, fast.count) == (arrays.total, arrays.count)


@pytest.mark.parametrize("label_shape", ["flat", "column"])
def test_sparse_categorical_accuracy_counts_as_the_mean_of_its_function(label_shape):
    rng = np.random.default_rng(3)
    counted, generic = metrics.SparseCategoricalAccuracy(), metrics.MeanMetricWrapper(
        metrics.sparse_categorical_accuracy)
    for _ in range(4):
        y_pred = rng.random((9, 4))
        y_true = rng.integers(0, 4, 9).astype(np.uint8)
        if label_shape == "column":
            y_true = y_true[:, None]
        counted.update_state(y_true, y_pred)
        generic.update_state(y_true, y_pred)
    assert (counted.total, counted.count) == (generic.total, generic.count)
    weighted = metrics.SparseCategoricalAccuracy()
    weighted.update_state([1, 0], [[0.2, 0.8], [0.3, 0.7]], sample_weight=[3.0, 1.0])
    assert weighted.result() == 0.75


def _tiny_model():
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    return model


def test_fit_calls_the_batch_hooks_of_the_callbacks_that_have_them():
    x = np.random.default_rng(4).random((12, 4), dtype=np.float32)
    y = np.arange(12) % 3
    seen = []

    class Batches(callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            seen.append(("class", batch, sorted(logs)))

    lambdas = callbacks.LambdaCallback(on_batch_begin=lambda batch, logs: seen.append(
        ("lambda", batch)))
    _tiny_model().fit(x, y, batch_size=4, verbose=0, callbacks=[Batches(), lambdas])
    assert seen == [item for batch in range(3) for item in
                    (("lambda", batch), ("class", batch, ["accuracy", "loss"]))]
    epochs_only = callbacks.LambdaCallback(on_epoch_end=lambda epoch, logs: None)
    assert not callbacks.CallbackList([epochs_only, callbacks.History()]).uses_train_batch_hooks()
    assert callbacks.CallbackList([Batches()]).uses_train_batch_hooks()


def test_fit_without_batch_callbacks_trains_as_with_them():
    x = np.random.default_rng(5).random((12, 4), dtype=np.float32)
    y = np.arange(12) % 3
    quiet = _tiny_model()
    quiet_history = quiet.fit(x, y, batch_size=4, epochs=2, verbose=0).history
    watched = _tiny_model()  # (the same seed again: the same weights and shuffles)
    watched_history = watched.fit(x, y, batch_size=4, epochs=2, verbose=0, callbacks=[
        callbacks.LambdaCallback(on_train_batch_end=lambda batch, logs: None)]).history
    assert quiet_history == watched_history
    for a, b in zip(quiet.get_weights(), watched.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_an_activity_regularizer_given_after_a_fit_counts_from_the_next_one():
    x = np.random.default_rng(6).random((8, 4), dtype=np.float32)
    y = np.arange(8) % 3
    model = _tiny_model()
    plain_loss = model.evaluate(x, y, verbose=0)[0]
    model.fit(x, y, epochs=1, verbose=0)
    model.layers[0].activity_regularizer = keras.regularizers.L2(10.0)
    penalized = model.train_on_batch(x, y)[0]
    assert penalized > plain_loss + 1.0  # the penalty of the outputs joins the loss


def test_fit_still_refuses_a_bad_label_anywhere_before_any_step():
    x = np.zeros((8, 4), np.float32)
    y = np.array([0, 1, 2, 0, 1, 2, 0, 7])
    model = _tiny_model()
    before = [w.copy() for w in model.get_weights()]
    with pytest.raises(ValueError, match=r"Labels must be in \[0, 2\] .* from 0 to 7"):
        model.fit(x, y, batch_size=2, verbose=0)
    for a, b in zip(before, model.get_weights()):
        np.testing.assert_array_equal(a, b)
