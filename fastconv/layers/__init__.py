"""Keras-style layers on NumPy arrays: config in `__init__`, weights in `build`,
forward in `call`, gradients in `backward`."""

from fastconv.layers.activations import ELU, Activation, LeakyReLU, PReLU, ReLU, Softmax
from fastconv.layers.base import KerasTensor, Layer
from fastconv.layers.conv1d import Conv1D, Convolution1D
from fastconv.layers.conv2d_transpose import Conv2DTranspose, Convolution2DTranspose
from fastconv.layers.convolutional import Conv2D, Convolution2D
from fastconv.layers.core import Dense, Embedding, Identity, Input, InputLayer, Lambda
from fastconv.layers.depthwise_conv2d import DepthwiseConv2D
from fastconv.layers.layer_normalization import LayerNormalization
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
from fastconv.layers.pooling1d import (
    AveragePooling1D,
    AvgPool1D,
    GlobalAveragePooling1D,
    GlobalAvgPool1D,
    GlobalMaxPool1D,
    GlobalMaxPooling1D,
    MaxPool1D,
    MaxPooling1D,
)
from fastconv.layers.preprocessing import (
    RandomFlip,
    RandomRotation,
    RandomTranslation,
    RandomZoom,
    Rescaling,
)
from fastconv.layers.regularization import (
    Dropout,
    GaussianNoise,
    SpatialDropout1D,
    SpatialDropout2D,
)
from fastconv.layers.reshaping import (
    Cropping1D,
    Cropping2D,
    Flatten,
    Permute,
    RepeatVector,
    Reshape,
    UpSampling1D,
    UpSampling2D,
    ZeroPadding1D,
    ZeroPadding2D,
)
from fastconv.layers.separable_conv2d import SeparableConv2D, SeparableConvolution2D

__all__ = [
    "Input", "InputLayer", "Layer", "KerasTensor", "Conv2D", "Convolution2D",
    "MaxPooling2D", "MaxPool2D", "AveragePooling2D", "AvgPool2D",
    "GlobalAveragePooling2D", "GlobalAvgPool2D", "GlobalMaxPooling2D", "GlobalMaxPool2D",
    "Flatten", "Dense", "Lambda", "Dropout", "Activation", "ReLU", "Softmax", "Reshape", "Rescaling",
    "Add", "Average", "Concatenate", "Multiply", "BatchNormalization",
    "RandomFlip", "RandomRotation", "RandomTranslation", "RandomZoom",
    # Convolutions and pooling beyond Conv2D (issue 14).
    "Conv1D", "Convolution1D", "Conv2DTranspose", "Convolution2DTranspose",
    "DepthwiseConv2D", "SeparableConv2D", "SeparableConvolution2D",
    "MaxPooling1D", "MaxPool1D", "AveragePooling1D", "AvgPool1D",
    "GlobalAveragePooling1D", "GlobalAvgPool1D", "GlobalMaxPooling1D", "GlobalMaxPool1D",
    # Shape, normalization, noise, activation and lookup layers (issue 14).
    "ZeroPadding1D", "ZeroPadding2D", "Cropping1D", "Cropping2D", "UpSampling1D",
    "UpSampling2D", "Permute", "RepeatVector", "LayerNormalization", "SpatialDropout1D",
    "SpatialDropout2D", "GaussianNoise", "LeakyReLU", "PReLU", "ELU", "Identity", "Embedding",
    "Dot", "Maximum", "Minimum", "Subtract",
    "add", "average", "concatenate", "dot", "maximum", "minimum", "multiply", "subtract",
]
