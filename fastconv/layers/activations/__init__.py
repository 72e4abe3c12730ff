"""Activation layers (Keras 3's `layers/activations`)."""

from fastconv.layers.activations.activation import Activation
from fastconv.layers.activations.relu import ReLU
from fastconv.layers.activations.softmax import Softmax

__all__ = ["Activation", "ReLU", "Softmax"]
