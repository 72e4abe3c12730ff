"""Activation layers (Keras 3's `layers/activations`)."""

from fastconv.layers.activations.activation import Activation
from fastconv.layers.activations.elu import ELU
from fastconv.layers.activations.leaky_relu import LeakyReLU
from fastconv.layers.activations.prelu import PReLU
from fastconv.layers.activations.relu import ReLU
from fastconv.layers.activations.softmax import Softmax

__all__ = ["Activation", "ELU", "LeakyReLU", "PReLU", "ReLU", "Softmax"]
