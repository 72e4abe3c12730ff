"""`ReduceLROnPlateau`: lower the learning rate when a monitored value stalls."""

import warnings

import numpy as np

from fastconv.callbacks.callback import learning_rate_of
from fastconv.callbacks.monitor_callback import MonitorCallback
from fastconv.utils.io_utils import print_msg


class ReduceLROnPlateau(MonitorCallback):
    """Multiplies the learning rate by `factor` when a monitored value stalls.

    After `patience` epochs without improvement (by more than `min_delta`),
    `lr = max(lr * factor, min_lr)`, then `cooldown` epochs pass before
    counting again. Mode "auto" takes the direction `MonitorCallback` finds
    at the first epoch end. Adds `learning_rate` to the logs.

    Args:
        monitor: the log key to watch ("val_loss").
        factor: the multiplier, < 1.
        patience: epochs without improvement before reducing.
        verbose: 1 prints each reduction.
        mode: "auto", "min" or "max".
        min_delta: the threshold for a significant change.
        cooldown: epochs to wait after a reduction.
        min_lr: the lower bound on the learning rate.

    Raises:
        ValueError: if `factor >= 1`; at the first epoch end in mode "auto"
            if the direction of `monitor` cannot be determined.
    """

    def __init__(self, monitor="val_loss", factor=0.1, patience=10, verbose=0, mode="auto",
                 min_delta=1e-4, cooldown=0, min_lr=0.0, **kwargs):
        if "epsilon" in kwargs:  # Keras 2 name of min_delta
            min_delta = kwargs.pop("epsilon")
        if kwargs:
            raise TypeError(f"Unrecognized arguments: {sorted(kwargs)}")
        if factor >= 1.0:
            raise ValueError(f"ReduceLROnPlateau does not support a factor >= 1.0. Received: factor={factor}")
        super().__init__(monitor, mode, min_delta=min_delta)
        self.factor = factor
        self.patience = patience
        self.verbose = verbose
        self.cooldown = cooldown
        self.min_lr = min_lr
        self._reset()

    def _reset(self):
        self.best = None
        self.cooldown_counter = 0
        self.wait = 0

    def on_train_begin(self, logs=None):
        self._reset()

    def in_cooldown(self):
        return self.cooldown_counter > 0

    def on_epoch_end(self, epoch, logs=None):
        if self.monitor_op is None:
            self._set_monitor_op()  # at the first epoch end, when the model's metrics exist
        logs = logs if logs is not None else {}
        logs["learning_rate"] = learning_rate_of(self.model)
        current = logs.get(self.monitor)
        if current is None:
            warnings.warn(
                f"Learning rate reduction is conditioned on metric `{self.monitor}` which is "
                f"not available. Available metrics are: {','.join(logs)}.",
                stacklevel=2,
            )
            return
        if self.in_cooldown():
            self.cooldown_counter -= 1
            self.wait = 0
        if self._is_improvement(current, self.best):
            self.best = current
            self.wait = 0
        elif not self.in_cooldown():
            self.wait += 1
            if self.wait >= self.patience:
                old_lr = learning_rate_of(self.model)
                if old_lr > np.float32(self.min_lr):
                    new_lr = max(old_lr * self.factor, self.min_lr)
                    self.model.optimizer.learning_rate = new_lr
                    if self.verbose > 0:
                        print_msg(f"\nEpoch {epoch + 1}: ReduceLROnPlateau reducing learning rate to {new_lr}.")
                    self.cooldown_counter = self.cooldown
                    self.wait = 0
