"""The keras.io guide "Training & evaluation with the built-in methods" (Keras 3), its
sections written as tests in our own words, on small random data, each result compared with
a NumPy computation. Sections other test files already cover are not repeated here: data
adapters (PyDataset, DataLoader, class and sample weights: test_data_adapters.py), the
LogisticEndpoint layer (test_custom_layers.py), schedules (test_schedules.py), checkpoints
(test_model_checkpoint.py). Left out of the guide: tf.data, TensorBoard (TensorFlow-only)
and `plot_model` (tested with its implementation)."""

import numpy as np
import pytest

import fastconv as keras
from fastconv import layers, ops

rng = np.random.default_rng(0)
X = rng.random((96, 20)).astype("float32")
Y = rng.integers(0, 10, 96).astype("float32")  # the guide keeps MNIST labels as float32


def uncompiled_model():
    inputs = keras.Input(shape=(20,), name="digits")
    x = layers.Dense(16, activation="relu", name="dense_1")(inputs)
    outputs = layers.Dense(10, activation="softmax", name="predictions")(x)
    return keras.Model(inputs=inputs, outputs=outputs)


def test_one_hot_takes_whole_number_float_labels_and_refuses_fractions():
    np.testing.assert_array_equal(ops.one_hot(np.array([2.0, 0.0], "float32"), num_classes=3),
                                  np.eye(3, dtype="float32")[[2, 0]])
    with pytest.raises(TypeError, match="whole numbers"):
        ops.one_hot(np.array([0.5]), num_classes=3)


def test_custom_loss_function_written_with_ops():
    def custom_mean_squared_error(y_true, y_pred):
        return ops.mean(ops.square(y_true - y_pred), axis=-1)

    model = uncompiled_model()
    model.compile(optimizer=keras.optimizers.Adam(), loss=custom_mean_squared_error)
    targets = ops.one_hot(Y, num_classes=10)
    history = model.fit(X, targets, batch_size=32, epochs=3, verbose=0)
    expected = np.mean(np.square(targets - model.predict(X, verbose=0)))
    np.testing.assert_allclose(model.evaluate(X, targets, batch_size=96, verbose=0), expected, rtol=1e-5)
    assert history.history["loss"][-1] < history.history["loss"][0]


def test_custom_loss_subclass_with_a_parameter():
    class CustomMSE(keras.losses.Loss):
        def __init__(self, regularization_factor=0.1, name="custom_mse"):
            super().__init__(name=name)
            self.regularization_factor = regularization_factor

        def call(self, y_true, y_pred):
            mse = ops.mean(ops.square(y_true - y_pred), axis=-1)
            reg = ops.mean(ops.square(0.5 - y_pred), axis=-1)
            return mse + reg * self.regularization_factor

    model = uncompiled_model()
    model.compile(optimizer=keras.optimizers.Adam(), loss=CustomMSE())
    targets = ops.one_hot(Y, num_classes=10)
    model.fit(X, targets, batch_size=32, epochs=1, verbose=0)
    pred = model.predict(X, verbose=0).astype(np.float64)
    expected = np.mean(np.square(targets - pred)) + 0.1 * np.mean(np.square(0.5 - pred))
    np.testing.assert_allclose(model.evaluate(X, targets, batch_size=96, verbose=0), expected, rtol=1e-5)


def test_custom_metric_counts_true_positives():
    class CategoricalTruePositives(keras.metrics.Metric):
        def __init__(self, name="categorical_true_positives", **kwargs):
            super().__init__(name=name, **kwargs)
            self.true_positives = self.add_variable(shape=(), name="ctp", initializer="zeros")

        def update_state(self, y_true, y_pred, sample_weight=None):
            y_pred = ops.reshape(ops.argmax(y_pred, axis=1), (-1, 1))
            values = ops.cast(ops.reshape(y_true, (-1, 1)), "int32") == ops.cast(y_pred, "int32")
            self.true_positives.assign_add(ops.sum(ops.cast(values, "float32")))

        def result(self):
            return self.true_positives

        def reset_state(self):
            self.true_positives.assign(0.0)

    model = uncompiled_model()
    model.compile(optimizer=keras.optimizers.RMSprop(learning_rate=1e-3),
                  loss=keras.losses.SparseCategoricalCrossentropy(),
                  metrics=[CategoricalTruePositives()])
    model.fit(X, Y, batch_size=32, epochs=2, verbose=0)
    result = model.evaluate(X, Y, batch_size=32, return_dict=True, verbose=0)
    hits = np.sum(np.argmax(model.predict(X, verbose=0), axis=1) == Y)
    assert result["categorical_true_positives"] == hits  # summed over batches, not averaged


def test_add_loss_in_a_pass_through_layer_joins_the_compiled_loss():
    class ActivityRegularizationLayer(layers.Layer):
        def call(self, inputs):
            self.add_loss(ops.sum(inputs) * 0.1)
            return inputs

    inputs = keras.Input(shape=(20,), name="digits")
    hidden = layers.Dense(8, activation="relu", name="dense_1")(inputs)
    outputs = layers.Dense(10, name="predictions")(ActivityRegularizationLayer()(hidden))
    model = keras.Model(inputs=inputs, outputs=outputs)
    model.compile(optimizer=keras.optimizers.RMSprop(learning_rate=1e-3),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    model.fit(X, Y, batch_size=32, epochs=1, verbose=0)
    activation = keras.Model(inputs, hidden).predict(X, verbose=0).astype(np.float64)
    logits = model.predict(X, verbose=0).astype(np.float64)
    log_probs = logits - np.log(np.sum(np.exp(logits - logits.max(1, keepdims=True)), 1,
                                       keepdims=True)) - logits.max(1, keepdims=True)
    crossentropy = -np.mean(log_probs[np.arange(len(Y)), Y.astype(int)])
    expected = crossentropy + 0.1 * activation.sum()
    np.testing.assert_allclose(model.evaluate(X, Y, batch_size=96, verbose=0), expected, rtol=1e-4)


def test_mean_absolute_percentage_error_against_numpy():
    y_true = np.array([[1.0, -2.0, 0.0], [4.0, 0.5, 3.0]])
    y_pred = np.array([[1.5, -2.0, 1e-6], [2.0, 0.0, 3.3]])
    per_sample = 100 * np.mean(np.abs(y_true - y_pred) / np.maximum(np.abs(y_true), 1e-7), axis=-1)
    metric = keras.metrics.MeanAbsolutePercentageError()
    metric.update_state(y_true, y_pred, sample_weight=np.array([1.0, 3.0]))
    np.testing.assert_allclose(metric.result(), np.average(per_sample, weights=[1, 3]), rtol=1e-12)
    assert keras.metrics.get("mape").name == "mape"
    assert metric.name == "mean_absolute_percentage_error"


def multi_io_model():
    image_input = keras.Input(shape=(8, 8, 3), name="img_input")
    timeseries_input = keras.Input(shape=(None, 4), name="ts_input")
    x1 = layers.GlobalMaxPooling2D()(layers.Conv2D(3, 3)(image_input))
    x2 = layers.GlobalMaxPooling1D()(layers.Conv1D(3, 3)(timeseries_input))
    x = layers.concatenate([x1, x2])
    score_output = layers.Dense(1, name="score_output")(x)
    class_output = layers.Dense(5, activation="softmax", name="class_output")(x)
    return keras.Model(inputs=[image_input, timeseries_input], outputs=[score_output, class_output])


def test_multi_output_losses_metrics_and_loss_weights_by_name():
    model = multi_io_model()
    model.compile(
        optimizer=keras.optimizers.RMSprop(1e-3),
        loss={"score_output": keras.losses.MeanSquaredError(),
              "class_output": keras.losses.CategoricalCrossentropy()},
        metrics={"score_output": [keras.metrics.MeanAbsolutePercentageError(),
                                  keras.metrics.MeanAbsoluteError()],
                 "class_output": [keras.metrics.CategoricalAccuracy()]},
        loss_weights={"score_output": 2.0, "class_output": 1.0})
    images, series = rng.random((40, 8, 8, 3)), rng.random((40, 6, 4))
    scores, classes = rng.random((40, 1)), np.eye(5)[rng.integers(0, 5, 40)]
    model.fit({"img_input": images, "ts_input": series},
              {"score_output": scores, "class_output": classes}, batch_size=16, epochs=1, verbose=0)
    result = model.evaluate([images, series], [scores, classes], batch_size=40, return_dict=True,
                            verbose=0)
    score_pred, class_pred = (p.astype(np.float64) for p in model.predict([images, series], verbose=0))
    mse = np.mean(np.square(scores - score_pred))
    probs = np.clip(class_pred / class_pred.sum(1, keepdims=True), 1e-7, 1 - 1e-7)
    crossentropy = -np.mean(np.sum(classes * np.log(probs), axis=1))
    expected = {
        "score_output_loss": mse,
        "class_output_loss": crossentropy,
        "loss": 2.0 * mse + crossentropy,
        "score_output_mean_absolute_percentage_error":
            100 * np.mean(np.abs(scores - score_pred) / np.abs(scores)),
        "score_output_mean_absolute_error": np.mean(np.abs(scores - score_pred)),
        "class_output_categorical_accuracy":
            np.mean(np.argmax(class_pred, 1) == np.argmax(classes, 1)),
    }
    assert set(result) == set(expected)
    for name, value in expected.items():
        np.testing.assert_allclose(result[name], value, rtol=1e-4, err_msg=name)


def test_an_output_without_a_loss_is_predicted_but_not_trained():
    model = multi_io_model()
    model.compile(optimizer=keras.optimizers.RMSprop(1e-3),
                  loss=[None, keras.losses.CategoricalCrossentropy()])
    score_kernel = np.array(model.get_layer("score_output").kernel)
    images, series = rng.random((16, 8, 8, 3)), rng.random((16, 6, 4))
    classes = np.eye(5)[rng.integers(0, 5, 16)]
    model.fit([images, series], [rng.random((16, 1)), classes], batch_size=8, epochs=1, verbose=0)
    np.testing.assert_array_equal(model.get_layer("score_output").kernel, score_kernel)
    assert len(model.predict([images, series], verbose=0)) == 2


def test_callback_collects_per_batch_losses():
    class LossHistory(keras.callbacks.Callback):
        def on_train_begin(self, logs):
            self.per_batch_losses = []

        def on_batch_end(self, batch, logs):
            self.per_batch_losses.append(logs.get("loss"))

    model = uncompiled_model()
    model.compile(optimizer="rmsprop", loss="sparse_categorical_crossentropy")
    history = LossHistory()
    model.fit(X, Y, batch_size=32, epochs=2, callbacks=[history], verbose=0)
    assert len(history.per_batch_losses) == 6 and all(np.isfinite(history.per_batch_losses))
