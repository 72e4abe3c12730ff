"""Reshaping layers (Keras 3's `layers/reshaping`)."""

from fastconv.layers.reshaping.flatten import Flatten
from fastconv.layers.reshaping.reshape import Reshape

__all__ = ["Flatten", "Reshape"]
