"""fastconv: fast CPU conv2d and pooling for NumPy, with a Keras-style API.

`fastconv.ops` is the functional NumPy API; `import fastconv as keras` gives the Keras-style
one (`Sequential`, `layers`, `optimizers`, ...).

The Keras-style namespaces are imported on first use (PEP 562), so `import fastconv.ops`
loads the kernels and their wrappers only, not the model stack, saving or the datasets.
"""

import importlib

from fastconv._version import __version__
from fastconv._config import get_num_threads, print_config, set_num_threads, show_config

_SUBMODULES = (
    "ops", "activations", "backend", "callbacks", "constraints", "datasets", "distributed",
    "initializers", "layers", "losses", "metrics", "models", "optimizers", "random",
    "regularizers", "saving", "utils",
)
# Names re-exported from a namespace: name -> the module that defines it.
_ATTRIBUTES = {"Input": "fastconv.layers", "Model": "fastconv.models",
               "Sequential": "fastconv.models", "Variable": "fastconv.autodiff",
               "Layer": "fastconv.layers"}

__all__ = [
    "__version__",
    "get_num_threads",
    "set_num_threads",
    "show_config",
    "print_config",
    *_SUBMODULES,
    *_ATTRIBUTES,
]


def __getattr__(name):
    if name in _SUBMODULES:
        value = importlib.import_module(f"fastconv.{name}")
    elif name in _ATTRIBUTES:
        value = getattr(importlib.import_module(_ATTRIBUTES[name]), name)
    else:
        raise AttributeError(f"module 'fastconv' has no attribute {name!r}")
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__():
    return sorted(set(globals()) | set(__all__))
