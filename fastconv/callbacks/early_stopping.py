"""`EarlyStopping`: stop training when a monitored value stops improving."""

import warnings

from fastconv.callbacks.monitor_callback import MonitorCallback
from fastconv.utils.io_utils import print_msg


class EarlyStopping(MonitorCallback):
    """Stops training when a monitored value has stopped improving.

    An epoch improves when `current - min_delta` beats the best so far
    (`<` in "min" mode, `>` in "max" mode, `min_delta` counting against the
    improvement). Training stops once `patience` epochs have passed without
    improvement (never at epoch 0). Epochs before `start_from_epoch` are
    ignored. With `baseline`, the patience counter only restarts when the
    value also beats the baseline. With `restore_best_weights`, the weights
    of the best epoch are restored when training ends (whether or not it
    stopped early).

    Args:
        monitor: the log key to watch ("val_loss").
        min_delta: the smallest change that counts as an improvement.
        patience: epochs without improvement before stopping.
        verbose: 1 prints when stopping and restoring.
        mode: "min", "max", or "auto" (the direction `MonitorCallback` finds).
        baseline: a value the monitor must beat.
        restore_best_weights: whether to restore the best epoch's weights.
        start_from_epoch: warm-up epochs not monitored.

    Raises:
        ValueError: at the first epoch end, in mode "auto", if the direction
            of `monitor` cannot be determined.
    """

    def __init__(self, monitor="val_loss", min_delta=0, patience=0, verbose=0, mode="auto",
                 baseline=None, restore_best_weights=False, start_from_epoch=0):
        super().__init__(monitor, mode, min_delta=min_delta)
        self.patience = patience
        self.verbose = verbose
        self.baseline = baseline
        self.restore_best_weights = restore_best_weights
        self.start_from_epoch = start_from_epoch
        self.wait = 0
        self.stopped_epoch = 0
        self.best_epoch = 0
        self.best_weights = None

    def on_train_begin(self, logs=None):
        self.wait = 0
        self.stopped_epoch = 0
        self.best_weights = None
        self.best_epoch = 0
        self.best = None
        self.monitor_op = None  # found again at the first epoch end: the model may differ

    def on_epoch_end(self, epoch, logs=None):
        if self.monitor_op is None:
            self._set_monitor_op()
        current = self.get_monitor_value(logs)
        if current is None or epoch < self.start_from_epoch:
            return
        if self.restore_best_weights and self.best_weights is None:
            self.best_weights = self.model.get_weights()
            self.best_epoch = epoch
        self.wait += 1
        if self._is_improvement(current, self.best):
            self.best = current
            self.best_epoch = epoch
            if self.restore_best_weights:
                self.best_weights = self.model.get_weights()
            if self.baseline is None or self._is_improvement(current, self.baseline):
                self.wait = 0
            return
        if self.wait >= self.patience and epoch > 0:
            self.stopped_epoch = epoch
            self.model.stop_training = True

    def on_train_end(self, logs=None):
        if self.stopped_epoch > 0 and self.verbose > 0:
            print_msg(f"Epoch {self.stopped_epoch + 1}: early stopping")
        if self.restore_best_weights and self.best_weights is not None:
            if self.verbose > 0:
                print_msg(f"Restoring model weights from the end of the best epoch: {self.best_epoch + 1}.")
            self.model.set_weights(self.best_weights)

    def get_monitor_value(self, logs):
        logs = logs or {}
        value = logs.get(self.monitor)
        if value is None:
            warnings.warn(
                f"Early stopping conditioned on metric `{self.monitor}` which is not "
                f"available. Available metrics are: {','.join(logs)}",
                stacklevel=2,
            )
        return value
