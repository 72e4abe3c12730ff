"""Keras-style models: `Sequential` and the functional `Model(inputs, outputs)`."""

from fastconv.models.model import Model
from fastconv.models.sequential import Sequential

__all__ = ["Model", "Sequential"]
