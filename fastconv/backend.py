"""Global state of the Keras-style API: the random generator and layer-name counters."""

import os
import random

import numpy as np

# FASTCONV_SEED makes a whole program reproducible without editing it (a tutorial run in CI);
# unset, every run draws fresh initial weights, dropout masks and shuffles, as in Keras.
_seed = os.environ.get("FASTCONV_SEED")
_generator = np.random.default_rng(int(_seed) if _seed else None)
_name_counts = {}


def random_generator():
    """The generator that initializers, dropout and shuffling draw from."""
    return _generator


def set_seed(seed):
    """Reseeds fastconv's generator, NumPy's global one and Python's `random`."""
    global _generator
    _generator = np.random.default_rng(seed)
    np.random.seed(seed)
    random.seed(seed)


def unique_name(prefix):
    """Keras-style unique names: 'conv2d', then 'conv2d_1', 'conv2d_2', ..."""
    count = _name_counts.get(prefix, 0)
    _name_counts[prefix] = count + 1
    return prefix if count == 0 else f"{prefix}_{count}"


def clear_session():
    """Resets the layer-name counters (as keras.backend.clear_session does)."""
    _name_counts.clear()


def floatx():
    """The default float type of layer weights and activations."""
    return "float32"
