"""`LearningRateScheduler`: set the learning rate from a schedule at each epoch start."""

import numbers

import numpy as np

from fastconv.callbacks.callback import Callback, learning_rate_of
from fastconv.utils.io_utils import print_msg


class LearningRateScheduler(Callback):
    """Sets the learning rate at the start of each epoch from `schedule`.

    Args:
        schedule: `schedule(epoch, lr) -> new_lr` (or `schedule(epoch)`),
            epochs counted from 0.
        verbose: 1 prints each new rate.
    """

    def __init__(self, schedule, verbose=0):
        super().__init__()
        self.schedule = schedule
        self.verbose = verbose

    def on_epoch_begin(self, epoch, logs=None):
        lr = learning_rate_of(self.model)
        try:
            lr = self.schedule(epoch, lr)
        except TypeError:  # a one-argument schedule
            lr = self.schedule(epoch)
        if isinstance(lr, np.ndarray) and lr.size == 1:
            lr = lr.item()
        if isinstance(lr, bool) or not isinstance(lr, numbers.Real):
            raise ValueError(f"The output of the `schedule` function should be a float. Got: {lr!r}")
        self.model.optimizer.learning_rate = float(lr)
        if self.verbose > 0:
            print_msg(f"\nEpoch {epoch + 1}: LearningRateScheduler setting learning rate to {float(lr)}.")

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["learning_rate"] = learning_rate_of(self.model)
