"""Regularization layers (Keras 3's `layers/regularization`)."""

from fastconv.layers.regularization.dropout import Dropout
from fastconv.layers.regularization.gaussian_noise import GaussianNoise
from fastconv.layers.regularization.spatial_dropout import SpatialDropout1D, SpatialDropout2D

__all__ = ["Dropout", "GaussianNoise", "SpatialDropout1D", "SpatialDropout2D"]
