"""Functional models: Model(inputs, outputs) over graphs of layers, merge layers, summary."""

import numpy as np
import pytest

import fastconv
from fastconv import backend, layers
from fastconv.models import Functional, Model, Sequential
from executor_steps import forward, forward_backward


@pytest.fixture(autouse=True)
def _fresh_names():
    backend.clear_session()


def _seq_and_functional(dtype="float64"):
    def stack():
        return [layers.Conv2D(3, 3, padding="same", activation="relu", dtype=dtype),
                layers.MaxPooling2D(2, dtype=dtype), layers.Flatten(dtype=dtype),
                layers.Dense(4, activation="softmax", dtype=dtype)]
    seq = Sequential([layers.Input(shape=(6, 6, 2), dtype=dtype)] + stack())
    inputs = layers.Input(shape=(6, 6, 2), dtype=dtype)
    x = inputs
    for layer in stack():
        x = layer(x)
    return seq, Model(inputs=inputs, outputs=x)


def test_model_call_builds_a_functional_model():
    seq, model = _seq_and_functional()
    assert isinstance(model, Functional) and isinstance(model, Model)
    assert [type(layer).__name__ for layer in model.layers] == [
        "InputLayer", "Conv2D", "MaxPooling2D", "Flatten", "Dense"]
    assert model.count_params() == seq.count_params() == 3 * 3 * 2 * 3 + 3 + 27 * 4 + 4
    assert model.output_shape == (None, 4)


def test_functional_and_sequential_agree_on_outputs_and_gradients():
    seq, model = _seq_and_functional()
    model.set_weights(seq.get_weights())
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(5, 6, 6, 2)), rng.integers(0, 4, size=5)
    np.testing.assert_array_equal(seq.predict(x), model.predict(x))
    np.testing.assert_array_equal(seq(x), model(x))
    for m in (seq, model):
        m.compile(optimizer=fastconv.optimizers.SGD(0.1), loss="sparse_categorical_crossentropy")
        m.train_on_batch(x, y)
    for a, b in zip(seq.get_weights(), model.get_weights()):
        np.testing.assert_array_equal(a, b)


def _dag(dtype="float64"):
    """input -> conv -> (conv_a, batchnorm) -> Add -> Concatenate with conv -> pool -> dense."""
    inputs = layers.Input(shape=(5, 5, 2), dtype=dtype)
    trunk = layers.Conv2D(3, 3, padding="same", activation="tanh", dtype=dtype)(inputs)
    branch_a = layers.Conv2D(3, 1, dtype=dtype)(trunk)
    branch_b = layers.BatchNormalization(dtype=dtype)(trunk)
    merged = layers.Add(dtype=dtype)([branch_a, branch_b])
    joined = layers.Concatenate(dtype=dtype)([merged, trunk])
    pooled = layers.GlobalAveragePooling2D(dtype=dtype)(joined)
    scaled = layers.Multiply(dtype=dtype)([pooled, layers.Dense(6, activation="sigmoid",
                                                                dtype=dtype)(pooled)])
    averaged = layers.Average(dtype=dtype)([scaled, pooled])
    outputs = layers.Dense(2, dtype=dtype)(averaged)
    return Model(inputs, outputs)


def _loss_and_grads(model, x, y):
    y_pred, run = forward_backward(model, x, y)
    loss = float(model.loss(y, y_pred))
    return loss, [g.copy() for g, _ in run.grads_and_vars()]


def test_dag_gradients_match_float64_finite_differences():
    model = _dag()
    model.compile(optimizer="sgd", loss="mse")
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=(4, 5, 5, 2)), rng.normal(size=(4, 2))
    _, grads = _loss_and_grads(model, x, y)
    params = [w for _, w in forward_backward(model, x, y)[1].grads_and_vars()]
    assert len(params) == len(model.trainable_weights) == 2 + 2 + 2 + 2 + 2
    eps = 1e-6
    for param, grad in zip(params, grads):
        flat = param.reshape(-1)
        for i in rng.choice(flat.size, size=min(flat.size, 6), replace=False):
            old = flat[i]
            flat[i] = old + eps
            plus = float(model.loss(y, forward(model, x, training=True)))
            flat[i] = old - eps
            minus = float(model.loss(y, forward(model, x, training=True)))
            flat[i] = old
            numeric = (plus - minus) / (2 * eps)
            assert abs(numeric - grad.reshape(-1)[i]) <= 1e-6 * max(1.0, abs(numeric)), \
                (param.shape, i, numeric, grad.reshape(-1)[i])


def test_dag_trains_and_predicts():
    model = _dag(dtype="float32")
    model.compile(optimizer=fastconv.optimizers.Adam(0.05), loss="mse")
    rng = np.random.default_rng(2)
    x = rng.normal(size=(32, 5, 5, 2)).astype("float32")
    y = np.stack([x.mean(axis=(1, 2, 3)), x[:, 2, 2, 0]], axis=1)
    history = model.fit(x, y, epochs=8, batch_size=8, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]
    assert model.predict(x, batch_size=5).shape == (32, 2)
    np.testing.assert_allclose(model(x[:3]), model.predict(x[:3]), rtol=1e-6)
    assert isinstance(model.evaluate(x, y, verbose=0), float)


def test_layer_feeding_two_layers_gets_the_sum_of_their_gradients():
    inputs = layers.Input(shape=(3,), dtype="float64")
    hidden = layers.Dense(2, kernel_initializer="ones", dtype="float64")(inputs)
    out = layers.Add(dtype="float64")([hidden, hidden])
    model = Model(inputs, out)
    model.compile(optimizer="sgd", loss="mse")
    x, y = np.ones((1, 3)), np.zeros((1, 2))
    _, (dkernel, dbias) = _loss_and_grads(model, x, y)
    # out = 2 * (x @ k + b) = 6 per unit; mse gradient 2 * 6 / 2 = 6, times 2 through Add.
    np.testing.assert_allclose(dbias, [12.0, 12.0])
    np.testing.assert_allclose(dkernel, np.full((3, 2), 12.0))


def test_layer_order_follows_keras_depth_then_traversal():
    inputs = layers.Input(shape=(4,))
    a = layers.Dense(4, name="a")(inputs)
    b = layers.Dense(4, name="b")(a)
    c = layers.Dense(4, name="c")(inputs)
    out = layers.Add(name="sum")([b, c])
    model = Model(inputs, out)
    assert [layer.name for layer in model.layers] == ["input_layer", "a", "b", "c", "sum"]


CHAIN_SUMMARY = """\
Model: "functional"
┏━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━┓
┃ Layer (type)                    ┃ Output Shape           ┃       Param # ┃
┡━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━┩
│ input_layer (InputLayer)        │ (None, 4)              │             0 │
├─────────────────────────────────┼────────────────────────┼───────────────┤
│ dense (Dense)                   │ (None, 2)              │            10 │
└─────────────────────────────────┴────────────────────────┴───────────────┘
 Total params: 10 (40.00 B)
 Trainable params: 10 (40.00 B)
 Non-trainable params: 0 (0.00 B)"""


def _summary(model, **kwargs):
    texts = []
    model.summary(print_fn=texts.append, **kwargs)
    return texts[0]


def test_chain_summary_lists_the_input_layer(monkeypatch):
    monkeypatch.setenv("COLUMNS", "80")
    inputs = layers.Input(shape=(4,))
    model = Model(inputs, layers.Dense(2)(inputs))
    assert _summary(model) == CHAIN_SUMMARY


def test_graph_summary_has_a_connected_to_column(monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")
    inputs = layers.Input(shape=(8, 8, 3))
    x = layers.Conv2D(4, 3, padding="same")(inputs)
    y = layers.Conv2D(4, 3, padding="same")(x)
    out = layers.Add()([x, y])
    text = _summary(_graph := Model(inputs, out))
    lines = text.splitlines()
    assert len(lines[1]) == 108  # Keras's default width for graph summaries
    assert "┃ Connected to" in lines[2]
    row = next(i for i, line in enumerate(lines) if "│ add (Add)" in line)
    # The 26-character column wraps the list after the comma, as rich does.
    assert lines[row].rstrip(" │").endswith("│ conv2d[0][0],")
    assert lines[row + 1].rstrip(" │").endswith("│ conv2d_1[0][0]")
    assert any("│ input_layer (InputLayer)" in line and line.rstrip("│ ").endswith("-")
               for line in lines)
    assert " Total params: 260 (1.02 KB)" in text
    assert _graph.count_params() == 260


def test_eager_calls_on_arrays():
    dense = layers.Dense(2, kernel_initializer="ones")
    assert dense(np.ones((1, 3))).tolist() == [[3.0, 3.0]]
    np.testing.assert_array_equal(layers.Concatenate()([np.ones((2, 1)), np.zeros((2, 2))]),
                                  [[1, 0, 0], [1, 0, 0]])
    inputs = layers.Input(shape=(3,))
    model = Model(inputs=inputs, outputs=layers.Dense(2)(inputs))
    out = model(np.ones((4, 3)))
    assert isinstance(out, np.ndarray) and out.shape == (4, 2)


def test_config_round_trip_rebuilds_the_graph():
    model = _dag(dtype="float32")
    rebuilt = Model.from_config(model.get_config())
    assert isinstance(rebuilt, Functional)
    assert [l.name for l in rebuilt.layers] == [l.name for l in model.layers]
    rebuilt.set_weights(model.get_weights())
    x = np.random.default_rng(3).normal(size=(2, 5, 5, 2)).astype("float32")
    np.testing.assert_array_equal(rebuilt.predict(x), model.predict(x))


def test_graph_errors():
    inputs = layers.Input(shape=(3,))
    other = layers.Input(shape=(3,))
    with pytest.raises(ValueError, match="Graph disconnected"):
        Model(inputs, layers.Dense(2)(other))
    with pytest.raises(ValueError, match="same shape"):
        layers.Add()([layers.Input(shape=(3,)), layers.Input(shape=(4,))])
    with pytest.raises(ValueError, match="at least 2 inputs"):
        layers.Add()([inputs])
    # Shared layers and several inputs/outputs: tests/test_graphs_*.py.
