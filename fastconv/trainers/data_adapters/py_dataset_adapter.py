"""`fastconv.utils.PyDataset` as input of fit / evaluate / predict."""

import itertools
import pickle

import numpy as np

from fastconv import backend
from fastconv.trainers.data_adapters.array_data_adapter import (
    check_positive_int,
    class_weights_to_sample_weights,
)
from fastconv.trainers.data_adapters.data_adapter import DataAdapter
from fastconv.trainers.data_adapters.data_adapter_utils import standardize_batch
from fastconv.trainers.data_adapters.prefetch import prefetched


class PyDatasetAdapter(DataAdapter):
    """The batches `dataset[0]`, `dataset[1]`, ... (in a new random order each pass when
    `shuffle`), built ahead by the dataset's `workers` when it has more than one.

    A finite dataset restarts at each pass; an infinite one (`num_batches` None) is one
    stream that `steps_per_epoch` cuts into epochs.

    Args:
        dataset: a `fastconv.utils.PyDataset`.
        shuffle: whether each pass visits the batches in a new random order.
        class_weight: optional `{class index: weight}`, turned into the sample weights of
            each `(x, y)` batch.
        steps: the caller's `steps_per_epoch` / `steps` (an infinite dataset needs it).

    Raises:
        ValueError: an infinite dataset without steps, bad worker settings, or a dataset
            that does not pickle with `use_multiprocessing=True`.
    """

    def __init__(self, dataset, shuffle=False, class_weight=None, steps=None):
        self.dataset = dataset
        self.shuffle = shuffle
        self.class_weight = class_weight
        self.num_batches = dataset.num_batches
        self.restartable = self.num_batches is not None
        if self.num_batches is None and steps is None:
            raise ValueError(
                f"The PyDataset {type(dataset).__name__} is infinite (num_batches=None): pass "
                "`steps_per_epoch` to fit (`steps` to evaluate / predict) to say how many "
                "batches make an epoch.")
        self.workers = check_positive_int(dataset.workers, "workers", minimum=0)
        self.max_queue_size = check_positive_int(dataset.max_queue_size, "max_queue_size")
        self.use_multiprocessing = bool(dataset.use_multiprocessing)
        self.parallel = self.workers > 1 or (self.workers > 0 and self.use_multiprocessing)
        if self.parallel and self.use_multiprocessing:
            try:
                pickle.dumps(dataset)
            except Exception as exc:  # pickling may raise nearly anything
                raise ValueError(
                    f"use_multiprocessing=True sends the PyDataset {type(dataset).__name__} to "
                    "worker processes, but it cannot be pickled (define its class at the top "
                    "level of a module, and keep no open files, locks or generators on it), "
                    f"or use threads (use_multiprocessing=False): {exc}") from None

    def _indices(self):
        if self.num_batches is None:
            return itertools.count()
        if self.shuffle:
            return backend.random_generator().permutation(self.num_batches).tolist()
        return range(self.num_batches)

    def get_iterator(self):
        indices = self._indices()
        if self.parallel:
            batches = prefetched(self.dataset, indices, self.workers, self.max_queue_size,
                                 self.use_multiprocessing)
        else:
            batches = (self.dataset[index] for index in indices)
        for position, batch in enumerate(batches):
            yield self._standardize(batch, position)

    def _standardize(self, batch, position):
        if isinstance(batch, dict):
            batch = (batch,)
        elif isinstance(batch, np.ndarray):
            batch = (batch,)
        elif isinstance(batch, list):
            batch = tuple(batch)
        if not isinstance(batch, tuple) or len(batch) not in (1, 2, 3):
            raise ValueError(
                "PyDataset.__getitem__() must return a tuple or a dict. If a tuple, it must be "
                "ordered either (input,) or (inputs, targets) or (inputs, targets, "
                f"sample_weights). Batch {position}: {str(batch)[:100]} of type "
                f"{type(batch).__name__}")
        x, y, sample_weight = standardize_batch((batch + (None, None))[:3], position,
                                                f"PyDataset {type(self.dataset).__name__}")
        if self.class_weight is not None and y is not None:
            if sample_weight is not None:
                raise ValueError("You cannot specify `class_weight` and `sample_weight` at "
                                 "the same time.")
            sample_weight = class_weights_to_sample_weights(y, self.class_weight)
        return x, y, sample_weight

    def on_epoch_begin(self):
        self.dataset.on_epoch_begin()

    def on_epoch_end(self):
        self.dataset.on_epoch_end()
