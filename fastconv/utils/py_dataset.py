"""`PyDataset` (alias `Sequence`): a dataset of batches written in Python, as Keras 3's
`keras.utils.PyDataset`."""

import itertools
import warnings

__all__ = ["PyDataset", "Sequence"]

_DEFAULTS = {"_workers": 1, "_use_multiprocessing": False, "_max_queue_size": 10}


class PyDataset:
    """Base class of datasets that build their batches in Python code.

    Subclasses implement `__len__` (the number of batches) and `__getitem__(index)` (the
    batch at `index`: `x`, `(x,)`, `(x, y)`, `(x, y, sample_weight)` or a dict of named
    inputs), and may implement `on_epoch_begin` / `on_epoch_end` (called by `fit` around
    every epoch). An infinite dataset defines a `num_batches` property returning None
    instead of `__len__`, and is read with `steps_per_epoch`.

    Args:
        workers: how many batches `fit` / `evaluate` / `predict` build at once (threads, or
            processes with `use_multiprocessing`); 1 builds them one by one in the caller's
            thread.
        use_multiprocessing: build the batches in worker processes (started with "spawn",
            once per pass; the dataset must pickle and its class must be importable). Worth
            it only when `__getitem__` runs Python code that holds the GIL.
        max_queue_size: how many batches are built ahead of the one in use.

    Example:

    >>> import numpy as np
    >>> class Squares(PyDataset):
    ...     def __init__(self, n, batch_size, **kwargs):
    ...         super().__init__(**kwargs)
    ...         self.x = np.arange(n, dtype="float32").reshape(n, 1)
    ...         self.batch_size = batch_size
    ...     def __len__(self):
    ...         return -(-len(self.x) // self.batch_size)
    ...     def __getitem__(self, index):
    ...         x = self.x[index * self.batch_size:(index + 1) * self.batch_size]
    ...         return x, x ** 2
    >>> data = Squares(10, batch_size=4)
    >>> x, y = data[2]
    >>> len(data), y.ravel().tolist()
    (3, [64.0, 81.0])
    """

    def __init__(self, workers=1, use_multiprocessing=False, max_queue_size=10):
        self._workers = workers
        self._use_multiprocessing = use_multiprocessing
        self._max_queue_size = max_queue_size

    def _setting(self, attribute):
        if not hasattr(self, attribute):
            warnings.warn(
                "Your `PyDataset` class should call `super().__init__(**kwargs)` in its "
                "constructor. `**kwargs` can include `workers`, `use_multiprocessing`, "
                "`max_queue_size`. Do not pass these arguments to `fit()`, as they will be "
                "ignored.", UserWarning, stacklevel=3)
            for name, value in _DEFAULTS.items():
                if not hasattr(self, name):
                    setattr(self, name, value)
        return getattr(self, attribute)

    @property
    def workers(self):
        return self._setting("_workers")

    @workers.setter
    def workers(self, value):
        self._workers = value

    @property
    def use_multiprocessing(self):
        return self._setting("_use_multiprocessing")

    @use_multiprocessing.setter
    def use_multiprocessing(self, value):
        self._use_multiprocessing = value

    @property
    def max_queue_size(self):
        return self._setting("_max_queue_size")

    @max_queue_size.setter
    def max_queue_size(self, value):
        self._max_queue_size = value

    def __getitem__(self, index):
        """The batch at position `index`."""
        raise NotImplementedError(f"{type(self).__name__} must implement `__getitem__`.")

    @property
    def num_batches(self):
        """The number of batches (`len(self)`), or None for an infinite dataset."""
        if hasattr(self, "__len__"):
            return len(self)
        raise NotImplementedError(
            f"{type(self).__name__} must implement `__len__` (or a `num_batches` property "
            "that returns None for an infinite dataset).")

    def __iter__(self):
        num_batches = self.num_batches
        for index in itertools.count() if num_batches is None else range(num_batches):
            yield self[index]

    def on_epoch_begin(self):
        """Called at the beginning of every epoch."""

    def on_epoch_end(self):
        """Called at the end of every epoch."""


Sequence = PyDataset  # Keras 2's name, still exported by Keras 3
