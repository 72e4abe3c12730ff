"""EpochIterator: the batches of each epoch, as Keras 3's `trainers/epoch_iterator.py`.

Without `steps_per_epoch` an epoch is one pass over the data (reshuffled each epoch when
`shuffle`). With `steps_per_epoch` the passes continue across epochs: epoch 2 starts at the
batch after the last one of epoch 1, not at the start of the data. When a pass runs out in
the middle of an epoch, that epoch ends early with a warning ("Your input ran out of data")
and the next epoch starts a fresh (reshuffled) pass, as Keras 3 does with finite data.
"""

import warnings

from fastconv.trainers.data_adapters import batch_orders, num_batches, take

__all__ = ["EpochIterator"]


class EpochIterator:
    """Yields `(step, (x, y, sample_weight))` batches epoch by epoch.

    Args:
        x, y, sample_weight: arrays with the same number of samples (y and sample_weight
            may be None).
        batch_size: samples per batch; the last batch of a pass may be smaller.
        shuffle: whether each pass visits the samples in a new random order.
        steps_per_epoch: batches per epoch (None: one pass).
    """

    def __init__(self, x, y=None, sample_weight=None, batch_size=32, shuffle=False,
                 steps_per_epoch=None):
        self.arrays = (x, y, sample_weight)
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.steps_per_epoch = steps_per_epoch
        self.num_batches = num_batches(len(x), batch_size)
        self._pass = None      # the current pass's batch orders, when steps_per_epoch is set
        self._position = 0     # the next batch of that pass

    @property
    def steps(self):
        """Batches per epoch (what progress bars and callbacks are told)."""
        return self.steps_per_epoch or self.num_batches

    def _batch(self, index):
        return tuple(take(array, index) for array in self.arrays)

    def enumerate_epoch(self):
        """The `(step, batch)` pairs of the next epoch."""
        if not self.steps_per_epoch:
            orders = batch_orders(len(self.arrays[0]), self.batch_size, self.shuffle)
            for step, index in enumerate(orders):
                yield step, self._batch(index)
            return
        if self._pass is None:
            self._pass = batch_orders(len(self.arrays[0]), self.batch_size, self.shuffle)
            self._position = 0
        for step in range(self.steps_per_epoch):
            if self._position >= len(self._pass):
                warnings.warn(
                    "Your input ran out of data; interrupting the epoch. Make sure that your "
                    f"dataset can generate at least `steps_per_epoch * epochs` batches: here "
                    f"{self.num_batches} batches per pass, steps_per_epoch="
                    f"{self.steps_per_epoch}.", UserWarning, stacklevel=2)
                break
            index = self._pass[self._position]
            self._position += 1
            yield step, self._batch(index)
        if self._position >= len(self._pass):
            self._pass = None  # the next epoch starts a new pass
