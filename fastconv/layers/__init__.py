"""Keras-style layers on NumPy arrays: config in `__init__`, weights in `build`,
forward in `call`, gradients in `backward`."""

from fastconv.layers.activations import Activation, ReLU, Softmax
from fastconv.layers.base import KerasTensor, Layer
from fastconv.layers.convolutional import Conv2D, Convolution2D
from fastconv.layers.core import Dense, Input, InputLayer, Lambda
from fastconv.layers.merging import (
    Add,
    Average,
    Concatenate,
    Dot,
    Maximum,
    Minimum,
    Multiply,
    Subtract,
    add,
    average,
    concatenate,
    dot,
    maximum,
    minimum,
    multiply,
    subtract,
)
from fastconv.layers.normalization import BatchNormalization
from fastconv.layers.pooling import (
    AveragePooling2D,
    AvgPool2D,
    GlobalAveragePooling2D,
    GlobalAvgPool2D,
    GlobalMaxPool2D,
    GlobalMaxPooling2D,
    MaxPool2D,
    MaxPooling2D,
)
from fastconv.layers.preprocessing import (
    RandomFlip,
    RandomRotation,
    RandomTranslation,
    RandomZoom,
    Rescaling,
)
from fastconv.layers.regularization import Dropout
from fastconv.layers.reshaping import Flatten, Reshape

__all__ = [
    "Input", "InputLayer", "Layer", "KerasTensor", "Conv2D", "Convolution2D",
    "MaxPooling2D", "MaxPool2D", "AveragePooling2D", "AvgPool2D",
    "GlobalAveragePooling2D", "GlobalAvgPool2D", "GlobalMaxPooling2D", "GlobalMaxPool2D",
    "Flatten", "Dense", "Lambda", "Dropout", "Activation", "ReLU", "Softmax", "Reshape", "Rescaling",
    "Add", "Average", "Concatenate", "Multiply", "BatchNormalization",
    "RandomFlip", "RandomRotation", "RandomTranslation", "RandomZoom",
    "Dot", "Maximum", "Minimum", "Subtract",
    "add", "average", "concatenate", "dot", "maximum", "minimum", "multiply", "subtract",
]
