"""The layers' argument checks: the ops' own (`fastconv/ops/_args.py`), in the layers' form."""

import functools

from fastconv import activations, constraints, regularizers
from fastconv.ops._args import normalize_data_format, normalize_pair, normalize_padding, positive_int

__all__ = ["normalize_pair", "positive_int", "padding", "data_format", "activation",
           "regularizer", "constraint"]

# Layers take 'valid'/'same' only, and None for the default data format.
padding = functools.partial(normalize_padding, explicit=False)
data_format = functools.partial(normalize_data_format, allow_none=True)
activation = activations.get  # the function for a Keras `activation=` argument
regularizer = regularizers.get  # a Keras `*_regularizer=` argument
constraint = constraints.get  # a Keras `*_constraint=` argument
