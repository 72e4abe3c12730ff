"""EpochIterator: the batches of each epoch, as Keras 3's `trainers/epoch_iterator.py`.

It reads any input through a data adapter (`data_adapters.get_data_adapter`). Without
`steps_per_epoch` an epoch is one pass over the data (reshuffled each epoch when `shuffle`);
a pass of unknown size (a generator) lasts until the source is exhausted. With
`steps_per_epoch` the passes continue across epochs: epoch 2 starts at the batch after the last
one of epoch 1, not at the start of the data. When a pass runs out in the middle of an epoch,
that epoch ends early with a warning ("Your input ran out of data") and the next epoch starts a
fresh (reshuffled) pass, as Keras 3 does with finite data. A source read once (a Python
generator) cannot start again: once it is exhausted, `peek()` returns None and `fit` stops
training with a warning if epochs remain.
"""

import warnings

from fastconv.trainers.data_adapters import get_data_adapter

__all__ = ["EpochIterator"]


class EpochIterator:
    """Yields `(step, (x, y, sample_weight))` batches epoch by epoch.

    Args:
        x, y, sample_weight, batch_size, shuffle, class_weight: as `get_data_adapter`.
        steps_per_epoch: batches per epoch (None: one pass).
    """

    def __init__(self, x, y=None, sample_weight=None, batch_size=None, shuffle=False,
                 steps_per_epoch=None, class_weight=None):
        self.adapter = get_data_adapter(x, y, sample_weight, batch_size, steps_per_epoch,
                                        shuffle, class_weight)
        self.steps_per_epoch = steps_per_epoch
        self._pass = None       # the current pass's iterator
        self._peeked = None     # a batch taken from it by `peek`, yielded next
        self._pass_steps = 0    # batches the current pass has given

    @property
    def num_batches(self):
        """Batches per pass (None when unknown)."""
        return self.adapter.num_batches

    @property
    def steps(self):
        """Batches per epoch, as progress bars and callbacks are told (None when unknown)."""
        return self.steps_per_epoch or self.adapter.num_batches

    def _new_pass(self):
        if self._pass is not None and not self.adapter.restartable:
            return  # a generator continues where it stopped
        self._close_pass()
        self._pass = self.adapter.get_iterator()
        self._pass_steps = 0

    def _close_pass(self):
        close = getattr(self._pass, "close", None)
        if close is not None:
            close()  # stops a PyDataset's worker pool
        self._pass, self._peeked = None, None

    def peek(self):
        """The first batch the next epoch will yield (without consuming it), or None when the
        data has run out (a generator read to its end, or an empty source)."""
        if self._pass is None or (not self.steps_per_epoch and self._pass_steps > 0):
            self._new_pass()  # without steps_per_epoch, each epoch is a new pass
        if self._peeked is None:
            self._peeked = next(self._pass, None)
            if self._peeked is None and self._pass_steps > 0 and self.adapter.restartable:
                self._new_pass()  # the last pass ended exactly at the end of an epoch
                self._peeked = next(self._pass, None)
        return self._peeked

    def first_data(self):
        """What the trainer checks against the model before the first step: all of it for
        arrays (so a bad sample anywhere fails before any weight moves), else the first batch
        (None when there is none)."""
        return getattr(self.adapter, "arrays", None) or self.peek()

    def reset(self):
        """The next epoch starts a fresh pass (evaluate reads its data from the start each
        time, as Keras resets its cached validation iterator); a generator continues."""
        if self.adapter.restartable and self._pass_steps > 0:
            self._close_pass()

    def close(self):
        """Releases the current pass (and any workers building its batches)."""
        self._close_pass()

    def enumerate_epoch(self):
        """The `(step, batch)` pairs of the next epoch."""
        batch = self.peek()
        self._peeked = None
        self.adapter.on_epoch_begin()
        step = 0
        try:  # on_epoch_end also when the caller stops early (stop_training)
            while batch is not None:
                self._pass_steps += 1
                yield step, batch
                step += 1
                if self.steps_per_epoch and step == self.steps_per_epoch:
                    break
                batch = next(self._pass, None)
            else:
                self._ran_out(step)
        finally:
            self.adapter.on_epoch_end()

    def _ran_out(self, step):
        """The pass ended; a restartable source starts a new one at the next epoch."""
        if self.steps_per_epoch and step < self.steps_per_epoch:
            warnings.warn(
                "Your input ran out of data; interrupting the epoch. Make sure that your "
                "dataset or generator can generate at least `steps_per_epoch * epochs` "
                f"batches (here steps_per_epoch={self.steps_per_epoch}, and an epoch got "
                f"{step}).", UserWarning, stacklevel=5)
        if self.adapter.restartable:
            self._close_pass()
