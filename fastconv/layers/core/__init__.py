"""Core layers (Keras 3's `layers/core`): the model input, Dense, Embedding, Identity and
Lambda."""

from fastconv.layers.core.dense import Dense
from fastconv.layers.core.embedding import Embedding
from fastconv.layers.core.identity import Identity
from fastconv.layers.core.input_layer import Input, InputLayer
from fastconv.layers.core.lambda_layer import Lambda

__all__ = ["Input", "InputLayer", "Dense", "Embedding", "Identity", "Lambda"]
