"""Core layers (Keras 3's `layers/core`): the model input and Dense."""

from fastconv.layers.core.dense import Dense
from fastconv.layers.core.input_layer import Input, InputLayer

__all__ = ["Input", "InputLayer", "Dense"]
