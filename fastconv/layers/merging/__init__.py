"""Merge layers (a list of tensors in, one tensor out) and their lower-case functional forms
(`layers.add([a, b])` is `layers.Add()([a, b])`), as Keras's `layers/merging/`."""

from fastconv.layers.merging.add import Add, add
from fastconv.layers.merging.average import Average, average
from fastconv.layers.merging.base_merge import Merge
from fastconv.layers.merging.concatenate import Concatenate, concatenate
from fastconv.layers.merging.dot import Dot, dot
from fastconv.layers.merging.maximum import Maximum, Minimum, maximum, minimum
from fastconv.layers.merging.multiply import Multiply, multiply
from fastconv.layers.merging.subtract import Subtract, subtract

__all__ = [
    "Merge", "Add", "Average", "Concatenate", "Dot", "Maximum", "Minimum", "Multiply",
    "Subtract", "add", "average", "concatenate", "dot", "maximum", "minimum", "multiply",
    "subtract",
]
