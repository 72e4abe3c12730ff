"""Python generators, iterators and other iterables of batches as input of fit / evaluate /
predict."""

import collections.abc

from fastconv.trainers.data_adapters.data_adapter import DataAdapter
from fastconv.trainers.data_adapters.data_adapter_utils import (
    standardize_batch,
    unpack_x_y_sample_weight,
)


class GeneratorDataAdapter(DataAdapter):
    """Batches read from a generator (or any iterable) of `(x,)`, `(x, y)` or
    `(x, y, sample_weight)` tuples.

    A generator or iterator is one stream, read once: its size is unknown, an epoch without
    `steps_per_epoch` lasts until it is exhausted, and later epochs continue from where the
    last one stopped. Another iterable (an object with `__iter__`) is read again from its
    start at each pass (Keras 3 refuses such iterables).

    Args:
        source: the generator or iterable.
    """

    def __init__(self, source):
        self.source = source
        self.restartable = not isinstance(source, collections.abc.Iterator)
        self.num_batches = None
        self.kind = "generator" if not self.restartable else f"iterable {type(source).__name__}"

    def get_iterator(self):
        for index, batch in enumerate(self.source):
            if not isinstance(batch, tuple):
                raise ValueError(
                    f"When passing a Python {self.kind} to a fastconv model, it must yield "
                    "tuples, either (input,) or (inputs, targets) or (inputs, targets, "
                    f"sample_weights). Batch {index} is a {type(batch).__name__}: "
                    f"{str(batch)[:100]}")
            yield standardize_batch(unpack_x_y_sample_weight(batch), index, self.kind)
