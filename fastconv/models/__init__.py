"""Keras-style models: `Sequential` and the functional `Model(inputs, outputs)`."""

from fastconv.models.model import Model
from fastconv.models.functional import Functional
from fastconv.models.sequential import Sequential
from fastconv.models.cloning import clone_model, model_from_json
from fastconv.saving import load_model, save_model

__all__ = ["Model", "Functional", "Sequential", "load_model", "save_model", "clone_model",
           "model_from_json"]
