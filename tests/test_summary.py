"""model.summary(): Keras 3's table, parameter counts and totals."""

import numpy as np
import pytest

from fastconv import backend, layers
from fastconv.models import Model, Sequential
from fastconv.models import summary as summary_module

# Keras 3's output for the tutorial model in an 80-column terminal (line length 76).
TUTORIAL_SUMMARY = """\
Model: "sequential"
┏━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━┓
┃ Layer (type)                    ┃ Output Shape           ┃       Param # ┃
┡━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━┩
│ conv2d (Conv2D)                 │ (None, 28, 28, 32)     │           320 │
├─────────────────────────────────┼────────────────────────┼───────────────┤
│ max_pooling2d (MaxPooling2D)    │ (None, 14, 14, 32)     │             0 │
├─────────────────────────────────┼────────────────────────┼───────────────┤
│ conv2d_1 (Conv2D)               │ (None, 14, 14, 64)     │        18,496 │
├─────────────────────────────────┼────────────────────────┼───────────────┤
│ max_pooling2d_1 (MaxPooling2D)  │ (None, 7, 7, 64)       │             0 │
├─────────────────────────────────┼────────────────────────┼───────────────┤
│ flatten (Flatten)               │ (None, 3136)           │             0 │
├─────────────────────────────────┼────────────────────────┼───────────────┤
│ dense (Dense)                   │ (None, 100)            │       313,700 │
├─────────────────────────────────┼────────────────────────┼───────────────┤
│ dropout (Dropout)               │ (None, 100)            │             0 │
├─────────────────────────────────┼────────────────────────┼───────────────┤
│ dense_1 (Dense)                 │ (None, 10)             │         1,010 │
└─────────────────────────────────┴────────────────────────┴───────────────┘
 Total params: 333,526 (1.27 MB)
 Trainable params: 333,526 (1.27 MB)
 Non-trainable params: 0 (0.00 B)"""


@pytest.fixture(autouse=True)
def _fresh_names():
    backend.clear_session()


def tutorial_model():
    model = Sequential()
    model.add(layers.Conv2D(32, kernel_size=3, activation="relu", padding="same",
                            input_shape=(28, 28, 1)))
    model.add(layers.MaxPooling2D(2))
    model.add(layers.Conv2D(64, kernel_size=(3, 3), activation="relu", padding="same"))
    model.add(layers.MaxPooling2D(2))
    model.add(layers.Flatten())
    model.add(layers.Dense(100, activation="relu"))
    model.add(layers.Dropout(0.4))
    model.add(layers.Dense(10, activation="softmax"))
    return model


def captured(model, **kwargs):
    texts = []
    model.summary(print_fn=texts.append, **kwargs)
    assert len(texts) == 1  # Keras 3 hands over the whole summary in one call
    return texts[0]


def test_tutorial_model_counts():
    model = tutorial_model()
    assert model.count_params() == 333_526
    assert [layer.count_params() for layer in model.layers] == [320, 0, 18496, 0, 0, 313700, 0,
                                                                1010]
    assert [layer.output_shape for layer in model.layers] == [
        (None, 28, 28, 32), (None, 14, 14, 32), (None, 14, 14, 64), (None, 7, 7, 64),
        (None, 3136), (None, 100), (None, 100), (None, 10)]


def test_tutorial_summary_text_in_an_80_column_terminal(monkeypatch):
    monkeypatch.setenv("COLUMNS", "80")
    assert captured(tutorial_model()) == TUTORIAL_SUMMARY


def test_summary_prints_to_stdout(capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "80")
    tutorial_model().summary()
    out = capsys.readouterr().out
    assert out == TUTORIAL_SUMMARY + "\n"


def test_default_width_is_88_in_a_wide_terminal(monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")
    lines = captured(tutorial_model()).splitlines()
    assert {len(line) for line in lines[1:-3]} == {88}
    # rich's split of 88 columns at [0.45, 0.80, 1.0]: 36 / 27 / 15 characters of content
    assert lines[1] == "┏" + "━" * 38 + "┳" + "━" * 29 + "┳" + "━" * 17 + "┓"


def test_line_length_and_positions():
    text = captured(tutorial_model(), line_length=100, positions=[0.5, 0.8, 1.0])
    table = text.splitlines()[1:-3]
    assert {len(line) for line in table} == {100}
    assert "│ conv2d (Conv2D)" in text


def test_long_cells_wrap():
    model = Sequential([layers.Dense(2, name="a_really_quite_long_layer_name_indeed",
                                     input_shape=(3,))])
    lines = captured(model, line_length=50).splitlines()
    rows = [line for line in lines if line.startswith("│")]
    assert len(rows) >= 2 and {len(line) for line in rows} == {50}


def test_unbuilt_and_functional_and_trainable_columns(monkeypatch):
    monkeypatch.setenv("COLUMNS", "120")
    unbuilt = captured(Sequential([layers.Dense(3)]))
    assert "│ dense (Dense)" in unbuilt and "0 (unbuilt)" in unbuilt and " ? " in unbuilt
    inputs = layers.Input(shape=(4,))
    model = Model(inputs, layers.Dense(2)(inputs), name="tiny")
    text = captured(model, show_trainable=True)
    assert text.startswith('Model: "tiny"')
    assert "input_layer (InputLayer)" in text and "(None, 4)" in text
    assert "Trainable" in text and " Y " in text
    model.layers[1].trainable = False
    text = captured(model)
    assert " Trainable params: 0 (0.00 B)" in text
    assert " Non-trainable params: 10 (40.00 B)" in text


def test_optimizer_params_after_training():
    model = Sequential([layers.Dense(2, input_shape=(4,))])
    model.compile(optimizer="adam", loss="mse")
    assert "Optimizer params" not in captured(model)
    model.fit(np.zeros((4, 4)), np.zeros((4, 2)), verbose=0)
    text = captured(model)
    assert " Trainable params: 10 (40.00 B)" in text
    assert " Optimizer params: " in text


def test_readable_memory_size():
    assert summary_module.readable_memory_size(0) == "0.00 B"
    assert summary_module.readable_memory_size(1280) == "1.25 KB"
    assert summary_module.readable_memory_size(333_526 * 4) == "1.27 MB"


def test_ascii_fallback_for_narrow_encodings():
    class Latin1:
        encoding = "latin-1"

    box = summary_module._box_for_stream(Latin1())
    text = summary_module.summary_text(tutorial_model(), line_length=76, box=box)
    text.encode("latin-1")
    assert "| conv2d (Conv2D)" in text and "Total params: 333,526" in text
