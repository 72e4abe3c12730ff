"""Merge layers (a list of tensors in, one tensor out) and their lower-case functional forms
(`layers.add([a, b])` is `layers.Add()([a, b])`), as Keras's `layers/merging/`."""

from fastconv.layers.merging.base_merge import Merge
from fastconv.layers.merging.concatenation import Concatenate, concatenate
from fastconv.layers.merging.dot_product import Dot, dot
from fastconv.layers.merging.elementwise import (
    Add,
    Average,
    Maximum,
    Minimum,
    Multiply,
    Subtract,
    add,
    average,
    maximum,
    minimum,
    multiply,
    subtract,
)

__all__ = [
    "Merge", "Add", "Average", "Concatenate", "Dot", "Maximum", "Minimum", "Multiply",
    "Subtract", "add", "average", "concatenate", "dot", "maximum", "minimum", "multiply",
    "subtract",
]
