"""fastconv: fast CPU conv2d and pooling for NumPy, with a Keras-style API.

`fastconv.ops` is the functional NumPy API; `import fastconv as keras` gives the Keras-style
one (`Sequential`, `layers`, `optimizers`, ...).
"""

from fastconv._version import __version__
from fastconv._config import get_num_threads, print_config, set_num_threads, show_config
from fastconv import ops
from fastconv import (
    activations,
    backend,
    callbacks,
    datasets,
    initializers,
    layers,
    losses,
    metrics,
    models,
    optimizers,
    utils,
)
from fastconv.layers import Input
from fastconv.models import Model, Sequential

__all__ = [
    "__version__",
    "get_num_threads",
    "set_num_threads",
    "show_config",
    "print_config",
    "ops",
    "activations",
    "backend",
    "callbacks",
    "datasets",
    "initializers",
    "layers",
    "losses",
    "metrics",
    "models",
    "optimizers",
    "utils",
    "Input",
    "Model",
    "Sequential",
]
