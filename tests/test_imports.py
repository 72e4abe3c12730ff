"""Importing fastconv: `fastconv.ops` alone stays light; the Keras namespaces load on use."""

import subprocess
import sys

import pytest

LIGHT = """
import sys
import numpy
before = set(sys.modules)
import fastconv.ops
loaded = sorted(set(sys.modules) - before)
print("\\n".join(loaded))
"""

HEAVY = ("fastconv.models", "fastconv.saving", "fastconv.layers", "fastconv.callbacks",
         "fastconv.optimizers", "fastconv.losses", "fastconv.metrics", "fastconv.datasets",
         "fastconv.trainers", "urllib", "http", "zipfile", "json")


def run(code):
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True)
    return result.stdout.split()


def test_importing_ops_loads_neither_the_model_stack_nor_saving_nor_urllib():
    loaded = run(LIGHT)
    assert "fastconv.ops" in loaded and "fastconv.ops.conv2d" in loaded  # the check can fail
    heavy = [name for name in loaded if name.startswith(HEAVY)]
    assert heavy == [], f"import fastconv.ops also imported {heavy}"


def test_keras_namespaces_load_on_first_use():
    loaded = run("""
import sys
import fastconv as keras
assert "fastconv.layers" not in sys.modules
print(keras.layers.Conv2D.__module__, keras.Sequential.__name__, keras.Input.__name__)
print(keras.models.Model is keras.Model, keras.utils.Progbar.__name__)
""")
    assert loaded == ["fastconv.layers.convolutional", "Sequential", "Input", "True", "Progbar"]


def test_star_import_and_dir_list_every_public_name():
    names = run("from fastconv import *\nimport fastconv\n"
                "print(layers.Dense.__name__, Model.__name__, ops.conv2d.__name__)\n"
                "print(sorted(set(fastconv.__all__) - set(dir(fastconv))))")
    assert names == ["Dense", "Model", "conv2d", "[]"]


def test_unknown_attribute_is_an_attribute_error():
    import fastconv
    with pytest.raises(AttributeError, match="no attribute 'Conv2D'"):
        fastconv.Conv2D  # noqa: B018


# Every public name of the modules that became packages, as it was before the split.
PUBLIC = {
    "callbacks": ["Callback", "CallbackList", "History", "ProgbarLogger", "Progbar",
                  "EarlyStopping", "ReduceLROnPlateau", "CSVLogger", "TerminateOnNaN",
                  "LearningRateScheduler", "LambdaCallback", "ModelCheckpoint"],
    "utils": ["to_categorical", "set_random_seed", "plot_history", "Progbar"],
    "optimizers": ["Optimizer", "SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "Nadam", "get",
                   "serialize", "deserialize"],
    "losses": ["Loss", "SparseCategoricalCrossentropy", "CategoricalCrossentropy",
               "BinaryCrossentropy", "MeanSquaredError", "sparse_categorical_crossentropy",
               "categorical_crossentropy", "binary_crossentropy", "mean_squared_error", "mse",
               "MSE", "get", "serialize"],
}


@pytest.mark.parametrize("module,name", [(m, n) for m, names in PUBLIC.items() for n in names])
def test_public_names_keep_their_import_paths(module, name):
    import importlib

    import fastconv
    namespace = importlib.import_module(f"fastconv.{module}")
    assert getattr(getattr(fastconv, module), name) is getattr(namespace, name)
    exec(f"from fastconv.{module} import {name}", {})
    if name[0].isupper() and name != "MSE":
        assert name in namespace.__all__
