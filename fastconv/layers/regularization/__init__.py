"""Regularization layers (Keras 3's `layers/regularization`)."""

from fastconv.layers.regularization.dropout import Dropout

__all__ = ["Dropout"]
