"""The table of supported names in the Keras users' guide is what the package exports."""
import importlib
import pathlib
import re

import pytest

GUIDE = pathlib.Path(__file__).resolve().parents[1] / "docs" / "guides" / "keras-users.md"


def table_rows():
    """{namespace: (names, string names)} from the rows `| `fastconv.x` | names | strings |`."""
    rows = {}
    for line in GUIDE.read_text().splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) == 3 and re.fullmatch(r"`fastconv\.\w+`", cells[0]):
            names = re.findall(r"`(\w+)`", cells[1])
            strings = re.findall(r'`"(\w+)"`', cells[2])
            rows[cells[0].strip("`")] = (names, strings)
    return rows


ROWS = table_rows()


def test_the_table_covers_the_keras_namespaces():
    assert {"fastconv.layers", "fastconv.optimizers", "fastconv.losses", "fastconv.metrics",
            "fastconv.callbacks"} <= set(ROWS)


@pytest.mark.parametrize("namespace", sorted(ROWS))
def test_names_are_exactly_the_exports(namespace):
    module = importlib.import_module(namespace)
    names, _ = ROWS[namespace]
    assert len(names) == len(set(names)), f"{namespace}: a name is listed twice"
    assert sorted(names) == sorted(module.__all__), (
        f"{namespace}: listed but not exported: {sorted(set(names) - set(module.__all__))}; "
        f"exported but not listed: {sorted(set(module.__all__) - set(names))}")
    for name in names:
        assert getattr(module, name) is not None


@pytest.mark.parametrize("namespace", sorted(n for n in ROWS if ROWS[n][1]))
def test_string_names_resolve(namespace):
    module = importlib.import_module(namespace)
    for string in ROWS[namespace][1]:
        assert module.get(string) is not None, string


def test_compile_accepts_the_string_names():
    """The strings are what `compile` takes, not only what `get` resolves."""
    import numpy as np

    import fastconv as keras

    optimizers = ROWS["fastconv.optimizers"][1]
    losses = [s for s in ROWS["fastconv.losses"][1] if "crossentropy" not in s]
    metrics = ROWS["fastconv.metrics"][1]
    x, y = np.zeros((4, 3), np.float32), np.zeros((4, 1), np.float32)
    for optimizer in optimizers:
        for loss in losses:
            model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1, activation="sigmoid")])
            model.compile(optimizer=optimizer, loss=loss, metrics=metrics)
            model.train_on_batch(x, y)
