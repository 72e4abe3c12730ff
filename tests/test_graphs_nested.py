"""Models used as layers: nested in a Sequential, called inside a functional graph, called
eagerly. A nested model must compute and train exactly as the same layers laid out flat."""

import numpy as np
import pytest

import fastconv as keras
from fastconv import layers


def _mlp(name, units=(5, 3), dtype="float64", seed=0):
    inputs = keras.Input((4,), dtype=dtype)
    x = inputs
    for i, n in enumerate(units):
        x = layers.Dense(n, activation="relu" if i < len(units) - 1 else None, dtype=dtype,
                         kernel_initializer=keras.initializers.GlorotUniform(seed=seed + i))(x)
    return keras.Model(inputs, x, name=name)


def _flat_twin(nested):
    """A flat Sequential of fresh Dense layers holding copies of `nested`'s weights."""
    dense = [layer for layer in _all_layers(nested) if isinstance(layer, layers.Dense)]
    flat = keras.Sequential([keras.Input(nested.input_shape[1:], dtype="float64")] + [
        layers.Dense(d.units, activation=d.activation, dtype="float64") for d in dense]
        + [layers.Softmax(dtype="float64")])
    flat.set_weights(nested.get_weights())
    return flat


def _all_layers(model):
    for layer in model.layers:
        if isinstance(layer, keras.Model):
            yield from _all_layers(layer)
        else:
            yield layer


def _data(n=12, seed=1):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, 4)), rng.integers(0, 3, size=n)


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_model_nested_in_sequential_trains_as_flat_layers(optimizer):
    base = _mlp("base")
    nested = keras.Sequential([base, layers.Softmax(dtype="float64")])
    flat = _flat_twin(nested)
    x, y = _data()
    np.testing.assert_allclose(nested.predict(x), flat.predict(x), rtol=1e-12)
    for model in (nested, flat):
        model.compile(optimizer=optimizer, loss="sparse_categorical_crossentropy",
                      metrics=["accuracy"])
    logs = [m.fit(x, y, batch_size=4, epochs=2, shuffle=False, verbose=0).history
            for m in (nested, flat)]
    assert logs[0] == pytest.approx(logs[1], rel=1e-12)
    for a, b in zip(nested.get_weights(), flat.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-11, atol=1e-13)


def test_model_in_the_middle_of_a_graph_passes_the_input_gradient_on():
    """Trainable layers below the nested model need dL/d(its input): the inner plan
    must return it."""
    inputs = keras.Input((4,), dtype="float64")
    x = layers.Dense(4, activation="tanh", dtype="float64")(inputs)
    inner_in = keras.Input((4,), dtype="float64")
    inner = keras.Model(inner_in, layers.Dense(3, dtype="float64")(
        layers.Dense(6, activation="relu", dtype="float64")(inner_in)))
    outputs = layers.Softmax(dtype="float64")(inner(x))
    nested = keras.Model(inputs, outputs)
    flat = keras.Sequential([
        keras.Input((4,), dtype="float64"), layers.Dense(4, activation="tanh", dtype="float64"),
        layers.Dense(6, activation="relu", dtype="float64"), layers.Dense(3, dtype="float64"),
        layers.Softmax(dtype="float64")])
    flat.set_weights(nested.get_weights())
    x_data, y = _data()
    for model in (nested, flat):
        model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
        model.fit(x_data, y, batch_size=6, epochs=1, shuffle=False, verbose=0)
    for a, b in zip(nested.get_weights(), flat.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-11, atol=1e-13)


def test_nested_model_weights_are_the_outer_models_weights():
    base = _mlp("base")
    model = keras.Sequential([base, layers.Dense(2, dtype="float64")])
    assert len(model.weights) == 6 and len(model.trainable_weights) == 6
    assert all(w is v for w, v in zip(model.weights[:4], base.weights))
    assert model.count_params() == base.count_params() + 8
    weights = [np.full_like(w, i) for i, w in enumerate(model.get_weights())]
    model.set_weights(weights)
    for w, v in zip(base.get_weights(), weights[:4]):
        np.testing.assert_array_equal(w, v)


def test_freezing_the_inner_model_keeps_its_weights_during_fit():
    base = _mlp("base")
    inputs = keras.Input((4,), dtype="float64")
    outputs = layers.Dense(3, activation="softmax", dtype="float64")(base(inputs))
    model = keras.Model(inputs, outputs)
    base.trainable = False
    assert model.trainable_weights == model.weights[4:]
    assert len(model.non_trainable_weights) == 4
    before = base.get_weights()
    head = np.array(model.layers[-1].get_weights()[0])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    x, y = _data()
    model.fit(x, y, epochs=2, verbose=0)
    for a, b in zip(before, base.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(head, model.layers[-1].get_weights()[0])
    lines = []
    model.summary(print_fn=lines.append)
    assert "Trainable params: 12 " in lines[0]  # the head: 3 x 3 + 3
    assert f"Non-trainable params: {base.count_params()} " in lines[0]
    # Unfreezing takes effect at the next fit (the plans key on the flags); as in Keras,
    # the optimizer is rebuilt by compiling again.
    base.trainable = True
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    model.fit(x, y, epochs=1, verbose=0)
    assert not np.array_equal(before[0], base.get_weights()[0])


def test_freezing_one_inner_layer_after_building_takes_effect():
    base = _mlp("base")
    model = keras.Sequential([base, layers.Softmax(dtype="float64")])
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    x, y = _data()
    model.fit(x, y, epochs=1, verbose=0)
    base.layers[1].trainable = False
    frozen = base.layers[1].get_weights()
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")  # as Keras asks
    model.fit(x, y, epochs=1, verbose=0)
    for a, b in zip(frozen, base.layers[1].get_weights()):
        np.testing.assert_array_equal(a, b)
    assert len(model.trainable_weights) == 2


def test_model_called_eagerly_and_symbolically():
    base = _mlp("base")
    x, _ = _data()
    eager = base(x)
    np.testing.assert_allclose(eager, base.predict(x), rtol=1e-12)
    inputs = keras.Input((4,), dtype="float64")
    tensor = base(inputs)
    assert isinstance(tensor, layers.KerasTensor) and tensor.shape == (None, 3)
    assert tensor.layer is base
    with pytest.raises(ValueError, match="incompatible"):
        base(keras.Input((5,)))


def test_nested_models_save_and_load(tmp_path):
    base = _mlp("base")
    inputs = keras.Input((4,), dtype="float64")
    model = keras.Model(inputs, layers.Softmax(dtype="float64")(base(inputs)))
    wrapped = keras.Sequential([model, layers.Dense(2, dtype="float64")])
    wrapped.compile(optimizer="adam", loss="mse")
    x, _ = _data()
    wrapped.fit(x, np.zeros((len(x), 2)), epochs=1, verbose=0)
    wrapped.save(tmp_path / "m.keras")
    loaded = keras.models.load_model(tmp_path / "m.keras")
    assert isinstance(loaded.layers[0], keras.Model)
    assert isinstance(loaded.layers[0].layers[1], keras.Model)
    np.testing.assert_array_equal(loaded.predict(x), wrapped.predict(x))
    assert loaded.evaluate(x, np.zeros((len(x), 2)), verbose=0) == pytest.approx(
        wrapped.evaluate(x, np.zeros((len(x), 2)), verbose=0))


def test_nested_model_threads_keep_separate_runs():
    """Two predict threads through one outer model: each run owns its inner runs."""
    import threading
    base = _mlp("base")
    model = keras.Sequential([base, layers.Softmax(dtype="float64")])
    rng = np.random.default_rng(0)
    batches = [rng.normal(size=(64, 4)) for _ in range(2)]
    expected = [model.predict(b, batch_size=8) for b in batches]
    results = [None, None]

    def work(i):
        for _ in range(20):
            results[i] = model.predict(batches[i], batch_size=8)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for r, e in zip(results, expected):
        np.testing.assert_array_equal(r, e)


def _bn_base():
    inputs = keras.Input((4,), dtype="float64")
    x = layers.BatchNormalization(dtype="float64")(layers.Dense(4, dtype="float64")(inputs))
    return keras.Model(inputs, x, name="bn_base")


@pytest.mark.parametrize("training", [None, False])
def test_training_fixed_at_a_nested_call(training, tmp_path):
    """`base(x, training=False)` (the transfer-learning idiom) keeps the nested model in
    inference mode during `fit`: its BatchNormalization neither uses batch statistics nor
    updates its moving ones. Without it, it trains as usual."""
    base = _bn_base()
    inputs = keras.Input((4,), dtype="float64")
    outputs = layers.Dense(1, dtype="float64")(base(inputs, training=training))
    model = keras.Model(inputs, outputs)
    bn = base.layers[-1]
    moving = [np.array(w) for w in bn.non_trainable_weights]
    x, _ = _data(16)
    model.compile(optimizer="sgd", loss="mse")
    model.fit(x, np.zeros((16, 1)), epochs=1, verbose=0)
    changed = any(not np.array_equal(a, b) for a, b in zip(moving, bn.non_trainable_weights))
    assert changed is (training is None)
    # The fixed mode survives a save and load.
    model.save(tmp_path / "m.keras")
    loaded = keras.models.load_model(tmp_path / "m.keras")
    assert loaded._call_training == model._call_training


def _two_outputs():
    inputs = keras.Input((4,), dtype="float64")
    h = layers.Dense(5, activation="tanh", dtype="float64")(inputs)
    return keras.Model(inputs, [layers.Dense(3, dtype="float64", name="p")(h),
                                layers.Dense(2, dtype="float64", name="q")(h)], name="two")


@pytest.mark.parametrize("use", ["both", "second"])
def test_model_with_several_outputs_called_in_a_graph(use):
    """One call, one executor step: both outputs feed the outer graph (or only one), and a
    training step follows the float64 finite-difference gradient."""
    two = _two_outputs()
    inputs = keras.Input((4,), dtype="float64")
    first, second = two(inputs)
    tail = layers.Dense(3, dtype="float64")(second)
    outputs = layers.add([first, tail], dtype="float64") if use == "both" else tail
    model = keras.Model(inputs, outputs)
    assert len([step for step in model._graph if step[0] is two]) == 1
    lines = []
    model.summary(print_fn=lines.append, line_length=120)
    assert "two (Functional)" in lines[0] and "[(None, 3), (None, 2)]" in lines[0]
    x, _ = _data(6)
    y = np.random.default_rng(3).normal(size=(6, 3))
    p, q = two.predict(x)
    expected = model.layers[-1 if use == "second" else -2](q)
    if use == "both":
        expected = expected + p
    np.testing.assert_allclose(model.predict(x), expected, rtol=1e-12)
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
    start = model.get_weights()

    def loss(weights):
        model.set_weights(weights)
        return np.mean((model.predict(x) - y) ** 2)

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
        np.testing.assert_allclose(after, before - 0.1 * g, rtol=1e-6, atol=1e-10)
    rebuilt = keras.Model.from_config(model.get_config())
    rebuilt.set_weights(model.get_weights())
    np.testing.assert_array_equal(rebuilt.predict(x), model.predict(x))


def test_model_with_dict_outputs_called_in_a_graph_returns_a_dict():
    inputs = keras.Input((4,), dtype="float64")
    h = layers.Dense(3, dtype="float64")(inputs)
    inner = keras.Model(inputs, {"b": layers.Dense(1, dtype="float64")(h), "a": h})
    tensors = inner(keras.Input((4,), dtype="float64"))
    assert set(tensors) == {"a", "b"} and tensors["b"].shape == (None, 1)
    with pytest.raises(ValueError, match="2 outputs"):
        keras.Sequential([_two_outputs()])


def test_training_fixed_at_a_layer_call_in_a_graph():
    """`Dropout(0.5)(x, training=True)` drops at inference too; `training=False` never."""
    inputs = keras.Input((200,))
    always = layers.Dropout(0.5, seed=1)(inputs, training=True)
    never = layers.Dropout(0.5, seed=1)(inputs, training=False)
    model = keras.Model(inputs, [always, never])
    x = np.ones((2, 200), "float32")
    dropped, kept = model.predict(x)
    assert 0.3 < np.mean(dropped == 0) < 0.7
    np.testing.assert_array_equal(kept, x)
    model.compile(optimizer="sgd", loss=["mse", "mse"])
    logs = model.evaluate(x, [x, x], return_dict=True, verbose=0)
    assert logs[model.output_names[1] + "_loss"] == 0.0 < logs[model.output_names[0] + "_loss"]


def test_penalties_inside_a_nested_model_count_as_flat_ones():
    """Weight and activity regularizers on the layers of a nested model: the same loss and
    the same weights after a step as the same layers laid out flat."""
    def block():
        return [layers.Dense(5, activation="relu", dtype="float64",
                             kernel_regularizer=keras.regularizers.L2(0.01),
                             activity_regularizer=keras.regularizers.L1(0.02)),
                layers.Dense(3, dtype="float64")]

    inner_layers = block()
    inner_in = keras.Input((4,), dtype="float64")
    inner = keras.Model(inner_in, inner_layers[1](inner_layers[0](inner_in)))
    nested = keras.Sequential([keras.Input((4,), dtype="float64"), inner,
                               layers.Softmax(dtype="float64")])
    flat = keras.Sequential([keras.Input((4,), dtype="float64")] + block()
                            + [layers.Softmax(dtype="float64")])
    flat.set_weights(nested.get_weights())
    x, y = _data()
    logs = []
    for model in (nested, flat):
        model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
        logs.append(model.fit(x, y, batch_size=6, epochs=2, shuffle=False, verbose=0).history)
    assert logs[0]["loss"] == pytest.approx(logs[1]["loss"], rel=1e-12)
    for a, b in zip(nested.get_weights(), flat.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-11, atol=1e-13)


def test_summary_expands_nested_models_on_request():
    base = _mlp("base")
    inputs = keras.Input((4,), dtype="float64")
    model = keras.Model(inputs, layers.add([base(inputs), layers.Dense(3, dtype="float64",
                                                                       name="side")(inputs)]))
    lines = []
    model.summary(print_fn=lines.append, line_length=120)
    assert "└ " not in lines[0]
    model.summary(print_fn=lines.append, line_length=120, expand_nested=True)
    rows = [line for line in lines[1].splitlines() if "└ " in line]
    assert len(rows) == 3  # the nested Input and two Dense layers, below the model's row
    assert lines[1].index("base (Functional)") < lines[1].index("└ ") < lines[1].index("side")
    dense = base.layers[1].name
    assert f"{base.layers[0].name}[0][0]" in next(r for r in rows if dense in r)
