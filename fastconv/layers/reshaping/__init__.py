"""Reshaping layers (Keras 3's `layers/reshaping`)."""

from fastconv.layers.reshaping.cropping import Cropping1D, Cropping2D
from fastconv.layers.reshaping.flatten import Flatten
from fastconv.layers.reshaping.permute import Permute
from fastconv.layers.reshaping.repeat_vector import RepeatVector
from fastconv.layers.reshaping.reshape import Reshape
from fastconv.layers.reshaping.up_sampling import UpSampling1D, UpSampling2D
from fastconv.layers.reshaping.zero_padding import ZeroPadding1D, ZeroPadding2D

__all__ = ["Cropping1D", "Cropping2D", "Flatten", "Permute", "RepeatVector", "Reshape",
           "UpSampling1D", "UpSampling2D", "ZeroPadding1D", "ZeroPadding2D"]
