"""Preprocessing layers (Keras 3's `layers/preprocessing`): Rescaling and image augmentation."""

from fastconv.layers.preprocessing.image_preprocessing import (
    RandomFlip,
    RandomRotation,
    RandomTranslation,
    RandomZoom,
)
from fastconv.layers.preprocessing.rescaling import Rescaling

__all__ = ["Rescaling", "RandomFlip", "RandomRotation", "RandomTranslation", "RandomZoom"]
