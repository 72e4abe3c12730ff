"""Functional models with several inputs and outputs: lists and dicts, per-output losses,
loss weights and metrics (checked against NumPy by hand), Keras 3's log names, training
against float64 finite differences, saving, and the errors."""

import numpy as np
import pytest

import fastconv as keras
from fastconv import layers


def _two_in_two_out(dtype="float64", structure="list"):
    """Inputs "image" (4,) and "meta" (2,); outputs "cls" (softmax over 3) and "reg" (1)."""
    image = keras.Input((4,), name="image", dtype=dtype)
    meta = keras.Input((2,), name="meta", dtype=dtype)
    x = layers.concatenate([layers.Dense(5, activation="tanh", dtype=dtype)(image), meta],
                           dtype=dtype)
    cls = layers.Dense(3, activation="softmax", name="cls", dtype=dtype)(x)
    reg = layers.Dense(1, name="reg", dtype=dtype)(x)
    if structure == "dict":
        return keras.Model({"image": image, "meta": meta}, {"class": cls, "value": reg})
    return keras.Model([image, meta], [cls, reg])


def _data(n=10, seed=0):
    rng = np.random.default_rng(seed)
    return (rng.normal(size=(n, 4)), rng.normal(size=(n, 2)), rng.integers(0, 3, n),
            rng.normal(size=(n, 1)))


def test_per_output_losses_and_metrics_equal_numpy():
    model = _two_in_two_out()
    model.compile(optimizer="sgd", loss=["sparse_categorical_crossentropy", "mse"],
                  loss_weights=[0.3, 2.0], metrics=[["accuracy"], ["mae", "mse"]])
    image, meta, labels, values = _data()
    probs, pred = model.predict([image, meta])
    cls_loss = np.mean(-np.log(probs[np.arange(len(labels)), labels]))
    reg_loss = np.mean((pred - values) ** 2)
    logs = model.evaluate([image, meta], [labels, values], batch_size=4, return_dict=True,
                          verbose=0)
    expected = {
        "loss": 0.3 * cls_loss + 2.0 * reg_loss,
        "cls_loss": cls_loss,
        "reg_loss": reg_loss,
        "cls_accuracy": np.mean(probs.argmax(1) == labels),
        "reg_mae": np.mean(np.abs(pred - values)),
        "reg_mse": reg_loss,
    }
    assert set(logs) == set(expected)
    for name, value in expected.items():
        assert logs[name] == pytest.approx(value, rel=1e-12), name
    # Keras 3's list order: the loss, the per-output losses, then the metrics by name.
    assert model.evaluate([image, meta], [labels, values], verbose=0) == pytest.approx(
        [expected[k] for k in ("loss", "cls_loss", "reg_loss", "cls_accuracy", "reg_mae",
                               "reg_mse")])


def test_sample_weights_per_output_and_shared():
    model = _two_in_two_out()
    model.compile(optimizer="sgd", loss={"cls": "sparse_categorical_crossentropy", "reg": "mse"},
                  weighted_metrics={"reg": ["mae"]})
    image, meta, labels, values = _data()
    weights = np.linspace(0.5, 2.0, len(labels))
    probs, pred = model.predict({"image": image, "meta": meta})
    cls_each = -np.log(probs[np.arange(len(labels)), labels])
    reg_each = ((pred - values) ** 2)[:, 0]
    # One array: every output's loss is weighted by it.
    logs = model.evaluate({"image": image, "meta": meta}, {"cls": labels, "reg": values},
                          sample_weight=weights, return_dict=True, verbose=0, batch_size=32)
    assert logs["cls_loss"] == pytest.approx(np.mean(cls_each * weights), rel=1e-12)
    assert logs["reg_loss"] == pytest.approx(np.mean(reg_each * weights), rel=1e-12)
    assert logs["reg_mae"] == pytest.approx(
        np.sum(np.abs(pred - values)[:, 0] * weights) / np.sum(weights), rel=1e-12)
    # A dict: only the named output is weighted.
    logs = model.evaluate([image, meta], [labels, values], sample_weight={"reg": weights},
                          return_dict=True, verbose=0, batch_size=32)
    assert logs["cls_loss"] == pytest.approx(np.mean(cls_each), rel=1e-12)
    assert logs["reg_loss"] == pytest.approx(np.mean(reg_each * weights), rel=1e-12)


def test_one_training_step_follows_the_finite_difference_gradient():
    model = _two_in_two_out()
    model.compile(optimizer=keras.optimizers.SGD(0.1),
                  loss=["sparse_categorical_crossentropy", "mse"], loss_weights=[0.7, 1.5])
    image, meta, labels, values = _data(8)
    start = model.get_weights()

    def total_loss(weights):
        model.set_weights(weights)
        probs, pred = model.predict([image, meta])
        return (0.7 * np.mean(-np.log(probs[np.arange(len(labels)), labels]))
                + 1.5 * np.mean((pred - values) ** 2))

    numeric = []
    for k, w in enumerate(start):
        g = np.zeros_like(w)
        for i in np.ndindex(w.shape):
            plus, minus = [np.array(v) for v in start], [np.array(v) for v in start]
            plus[k][i] += 1e-6
            minus[k][i] -= 1e-6
            g[i] = (total_loss(plus) - total_loss(minus)) / 2e-6
        numeric.append(g)
    model.set_weights(start)
    model.fit([image, meta], [labels, values], batch_size=8, epochs=1, shuffle=False, verbose=0)
    for after, before, g in zip(model.get_weights(), start, numeric):
        np.testing.assert_allclose(after, before - 0.1 * g, rtol=1e-6, atol=1e-10)


def test_shapes_and_names_of_several_inputs_and_outputs():
    model = _two_in_two_out()
    assert model.input_shape == [(None, 4), (None, 2)]
    assert model.output_shape == [(None, 3), (None, 1)]
    assert model.input_names == ["image", "meta"] and model.output_names == ["cls", "reg"]
    assert model.input == model.inputs and len(model.outputs) == 2


def test_dict_inputs_and_outputs():
    model = _two_in_two_out(structure="dict")
    assert isinstance(model.input, dict) and set(model.input) == {"image", "meta"}
    assert isinstance(model.output, dict)
    image, meta, labels, values = _data()
    out = model.predict({"meta": meta, "image": image})
    assert set(out) == {"class", "value"} and out["class"].shape == (10, 3)
    eager = model({"image": image, "meta": meta})
    np.testing.assert_allclose(eager["value"], out["value"], rtol=1e-12)
    model.compile(optimizer="adam", loss={"class": "sparse_categorical_crossentropy",
                                          "value": "mse"},
                  metrics={"class": "accuracy"})
    history = model.fit({"image": image, "meta": meta}, {"class": labels, "value": values},
                        epochs=2, verbose=0, validation_split=0.2)
    assert set(history.history) == {"loss", "class_loss", "value_loss", "class_accuracy",
                                    "val_loss", "val_class_loss", "val_value_loss",
                                    "val_class_accuracy"}


def test_one_loss_for_every_output_and_an_output_without_loss():
    model = _two_in_two_out()
    image, meta, labels, values = _data()
    model.compile(optimizer="sgd", loss="mse")
    targets = [np.eye(3)[labels], values]
    logs = model.evaluate([image, meta], targets, return_dict=True, verbose=0)
    probs, pred = model.predict([image, meta])
    assert logs["cls_loss"] == pytest.approx(np.mean((probs - targets[0]) ** 2), rel=1e-12)
    assert logs["loss"] == pytest.approx(logs["cls_loss"] + logs["reg_loss"], rel=1e-12)

    model = _two_in_two_out()
    model.compile(optimizer="sgd", loss=[None, "mse"])
    head = model.get_layer("cls").get_weights()
    logs = model.fit([image, meta], [None, values], epochs=1, verbose=0).history
    assert set(logs) == {"loss"}  # one loss: no per-output entries, as Keras
    for a, b in zip(head, model.get_layer("cls").get_weights()):
        np.testing.assert_array_equal(a, b)  # nothing reaches an output without loss


def test_fused_softmax_crossentropy_stays_on_for_its_output():
    model = _two_in_two_out()
    model.compile(optimizer="sgd", loss=["sparse_categorical_crossentropy", "mse"])
    image, meta, _, _ = _data()
    plan = model._new_run(keras.trainers.data_adapters.structured_data.Columns([image, meta]),
                          reuse_buffers=False).plan
    assert plan.fused_outputs == (True, False)


def test_multi_io_model_saves_and_loads(tmp_path):
    model = _two_in_two_out(structure="dict")
    model.compile(optimizer="adam", loss={"class": "sparse_categorical_crossentropy",
                                          "value": "mse"},
                  loss_weights={"class": 1.0, "value": 0.5},
                  metrics={"class": ["accuracy"], "value": ["mae"]})
    image, meta, labels, values = _data()
    x, y = {"image": image, "meta": meta}, {"class": labels, "value": values}
    model.fit(x, y, epochs=1, verbose=0)
    model.save(tmp_path / "m.keras")
    loaded = keras.models.load_model(tmp_path / "m.keras")
    assert set(loaded.input) == {"image", "meta"}
    for key, value in model.predict(x).items():
        np.testing.assert_array_equal(loaded.predict(x)[key], value)
    assert loaded.evaluate(x, y, return_dict=True, verbose=0) == pytest.approx(
        model.evaluate(x, y, return_dict=True, verbose=0))


def test_data_and_compile_errors():
    model = _two_in_two_out()
    image, meta, labels, values = _data()
    with pytest.raises(ValueError, match="expects 2 arrays in `x`"):
        model.predict(image)
    with pytest.raises(ValueError, match="must hold 2 arrays"):
        model.predict([image])
    with pytest.raises(ValueError, match="unknown: \\['img'\\]"):
        model.predict({"img": image, "meta": meta})
    with pytest.raises(ValueError, match="incompatible"):
        model.predict([meta, image])
    with pytest.raises(ValueError, match="one entry per output"):
        model.compile(loss=["mse"])
    with pytest.raises(ValueError, match="not output names"):
        model.compile(loss={"clss": "mse"})
    with pytest.raises(ValueError, match="one entry per output"):
        model.compile(loss="mse", metrics=["accuracy"])
    with pytest.raises(ValueError, match="one entry per output"):
        model.compile(loss="mse", loss_weights=0.5)
    model.compile(optimizer="sgd", loss=["sparse_categorical_crossentropy", "mse"])
    with pytest.raises(ValueError, match="cardinality"):
        model.fit([image, meta[:5]], [labels, values], verbose=0)
    with pytest.raises(ValueError, match="'reg' has a loss but no targets"):
        model.fit([image, meta], {"cls": labels}, verbose=0)
    with pytest.raises(ValueError, match="class_weight"):
        model.fit([image, meta], [labels, values], class_weight={0: 2.0}, verbose=0)
    with pytest.raises(ValueError, match="expects 2 arrays in `inputs`"):
        model(keras.Input((4,)))


def test_multi_input_model_nests_in_another_graph():
    inner = _two_in_two_out()
    single = keras.Model(inner.inputs, inner.outputs[1])  # one output: it can be called
    a, b = keras.Input((4,), dtype="float64"), keras.Input((2,), dtype="float64")
    outer = keras.Model([a, b], layers.Dense(2, dtype="float64")(single([a, b])))
    image, meta, _, values = _data()
    np.testing.assert_allclose(
        outer.predict([image, meta]),
        outer.layers[-1](single.predict([image, meta])), rtol=1e-12)
    outer.compile(optimizer="sgd", loss="mse")
    before = single.get_weights()
    outer.fit([image, meta], np.zeros((10, 2)), epochs=1, verbose=0)
    assert any(not np.array_equal(u, v) for u, v in zip(before, single.get_weights()))


def test_batch_methods_and_validation_data_with_several_inputs_and_outputs():
    model = _two_in_two_out(structure="dict")
    model.compile(optimizer="sgd", loss={"class": "sparse_categorical_crossentropy",
                                          "value": "mse"})
    image, meta, labels, values = _data()
    x, y = {"image": image, "meta": meta}, {"class": labels, "value": values}
    first = model.train_on_batch(x, y, return_dict=True)
    assert set(first) == {"loss", "class_loss", "value_loss"}
    tested = model.test_on_batch(x, y, return_dict=True)
    assert tested["loss"] < first["loss"]  # one SGD step on the same batch lowered it
    out = model.predict_on_batch(x)
    np.testing.assert_allclose(out["value"], model.predict(x)["value"], rtol=1e-12)
    history = model.fit(x, y, validation_data=(x, y), epochs=1, verbose=0)
    assert history.history["val_loss"][0] == pytest.approx(
        model.evaluate(x, y, verbose=0)[0], rel=1e-12)
    assert model.evaluate(x, y, steps=1, batch_size=4, verbose=0)[0] == pytest.approx(
        model.evaluate({"image": image[:4], "meta": meta[:4]},
                       {"class": labels[:4], "value": values[:4]}, verbose=0)[0])


def test_training_guide_multi_output_section_with_dense_branches():
    """The "Passing data to multi-input, multi-output models" section of the keras.io
    training guide, with a Dense branch in place of its Conv1D timeseries branch (fastconv
    has no 1-D layers) and without MeanAbsolutePercentageError (not in fastconv)."""
    image_input = keras.Input(shape=(32, 32, 3), name="img_input")
    timeseries_input = keras.Input(shape=(20, 10), name="ts_input")
    x1 = layers.Conv2D(3, 3)(image_input)
    x1 = layers.GlobalMaxPooling2D()(x1)
    x2 = layers.Dense(3)(layers.Flatten()(timeseries_input))
    x = layers.concatenate([x1, x2])
    score_output = layers.Dense(1, name="score_output")(x)
    class_output = layers.Dense(5, name="class_output")(x)
    model = keras.Model(inputs=[image_input, timeseries_input],
                        outputs=[score_output, class_output])
    model.compile(
        optimizer=keras.optimizers.RMSprop(1e-3),
        loss={"score_output": keras.losses.MeanSquaredError(),
              "class_output": keras.losses.CategoricalCrossentropy()},
        metrics={"score_output": [keras.metrics.MeanAbsoluteError()],
                 "class_output": [keras.metrics.CategoricalAccuracy()]},
        loss_weights={"score_output": 2.0, "class_output": 1.0},
    )
    img_data = np.random.random_sample(size=(100, 32, 32, 3))
    ts_data = np.random.random_sample(size=(100, 20, 10))
    score_targets = np.random.random_sample(size=(100, 1))
    class_targets = np.random.random_sample(size=(100, 5))
    history = model.fit([img_data, ts_data], [score_targets, class_targets], batch_size=32,
                        epochs=1, verbose=0)
    assert set(history.history) == {
        "loss", "score_output_loss", "class_output_loss", "score_output_mean_absolute_error",
        "class_output_categorical_accuracy"}
    model.fit({"img_input": img_data, "ts_input": ts_data},
              {"score_output": score_targets, "class_output": class_targets},
              batch_size=32, epochs=1, verbose=0)
    # No loss for the score: the targets of the outputs with a loss only, as a list or dict.
    model.compile(optimizer=keras.optimizers.RMSprop(1e-3),
                  loss=[None, keras.losses.CategoricalCrossentropy()])
    score_head = model.get_layer("score_output").get_weights()
    model.fit([img_data, ts_data], [class_targets], batch_size=32, epochs=1, verbose=0)
    model.compile(optimizer=keras.optimizers.RMSprop(1e-3),
                  loss={"class_output": keras.losses.CategoricalCrossentropy()})
    model.fit([img_data, ts_data], {"class_output": class_targets}, batch_size=32, epochs=1,
              verbose=0)
    for before, after in zip(score_head, model.get_layer("score_output").get_weights()):
        np.testing.assert_array_equal(before, after)


def test_fit_from_a_generator_of_dict_batches():
    """Batches from a generator, as `(x dict, y dict)`: matched by name as array data is,
    with the same result as the arrays themselves."""
    image, meta, labels, values = _data(12)

    def batches():
        for start in range(0, 12, 4):
            part = slice(start, start + 4)
            yield ({"meta": meta[part], "image": image[part]},
                   {"cls": labels[part], "reg": values[part]})

    results = []
    for source in ("arrays", "generator"):
        model = _two_in_two_out()
        model.set_weights([np.full_like(w, 0.1) for w in model.get_weights()])
        model.compile(optimizer="sgd", loss=["sparse_categorical_crossentropy", "mse"])
        if source == "arrays":
            model.fit([image, meta], [labels, values], batch_size=4, shuffle=False, verbose=0)
        else:
            model.fit(batches(), shuffle=False, verbose=0)
        results.append(model.get_weights())
    for a, b in zip(*results):
        np.testing.assert_allclose(a, b, rtol=1e-12)


def test_an_output_that_also_feeds_another_output():
    """outputs = [p, q(p)] with a crossentropy on the softmax p: p's gradient is its loss's
    plus what flows back from q, so the softmax is not fused; one SGD step equals finite
    differences."""
    inputs = keras.Input((4,), dtype="float64")
    p = layers.Dense(3, activation="softmax", dtype="float64", name="p")(inputs)
    q = layers.Dense(2, dtype="float64", name="q")(p)
    model = keras.Model(inputs, [p, q])
    model.compile(optimizer=keras.optimizers.SGD(0.3),
                  loss=["sparse_categorical_crossentropy", "mse"], loss_weights=[1.0, 0.5])
    image, _, labels, _ = _data(6)
    targets = np.random.default_rng(5).normal(size=(6, 2))
    assert model._new_run(image, reuse_buffers=False).plan.fused_outputs == (False, False)
    start = model.get_weights()

    def loss(weights):
        model.set_weights(weights)
        probs, pred = model.predict(image)
        return (np.mean(-np.log(probs[np.arange(6), labels]))
                + 0.5 * np.mean((pred - targets) ** 2))

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
    model.fit(image, [labels, targets], batch_size=6, epochs=1, shuffle=False, verbose=0)
    for after, before, g in zip(model.get_weights(), start, numeric):
        np.testing.assert_allclose(after, before - 0.3 * g, rtol=1e-6, atol=1e-10)
