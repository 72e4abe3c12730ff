"""Keras-style models: `Sequential` and the functional `Model(inputs, outputs)`."""

from fastconv.models.model import Model
from fastconv.models.functional import Functional
from fastconv.models.sequential import Sequential
from fastconv.saving import load_model

__all__ = ["Model", "Functional", "Sequential", "load_model"]
