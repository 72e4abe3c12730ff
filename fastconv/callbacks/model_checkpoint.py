"""`ModelCheckpoint`: save the model (or its weights) during training."""

import os
import warnings

import numpy as np

from fastconv.callbacks.monitor_callback import MonitorCallback
from fastconv.utils.io_utils import print_msg


class ModelCheckpoint(MonitorCallback):
    """Saves the model (or its weights) during training, as Keras does.

    `filepath` is formatted with `epoch` (1-based) and the epoch logs, e.g.
    "weights.{epoch:02d}-{val_loss:.2f}.keras"; with an integer `save_freq`
    also with `batch` (1-based). Missing directories are created. Files are
    fastconv's format whatever the extension, written atomically.

    Args:
        filepath: the file name (a format string).
        monitor: the log key compared with `save_best_only` ("val_loss").
        verbose: 1 prints a line at each save (or non-improvement).
        save_best_only: save only when `monitor` improves on the best so far.
        save_weights_only: `model.save_weights` instead of `model.save`.
        mode: "min", "max", or "auto" (the direction `MonitorCallback` finds).
        save_freq: "epoch", or an int: save every that many batches.
        initial_value_threshold: the best value to beat at the start.

    With `save_best_only`, an epoch whose logs lack `monitor` (or hold a
    non-scalar there) warns and saves anyway, as Keras 3 does: it falls back
    to `save_best_only=False` rather than leave the run without a file.

    Raises:
        ValueError: for an unknown `save_freq`; at the first epoch end in mode
            "auto" if the direction of `monitor` cannot be determined.
    """

    def __init__(self, filepath, monitor="val_loss", verbose=0, save_best_only=False,
                 save_weights_only=False, mode="auto", save_freq="epoch",
                 initial_value_threshold=None):
        super().__init__(monitor, mode, initial_value_threshold)
        self.filepath = os.fspath(filepath)
        self.verbose = verbose
        self.save_best_only = save_best_only
        self.save_weights_only = save_weights_only
        if save_freq != "epoch" and (isinstance(save_freq, bool) or not isinstance(save_freq, int)
                                     or save_freq < 1):
            raise ValueError(f"Unrecognized save_freq: {save_freq}. Expected save_freq are "
                             "'epoch' or integer values")
        self.save_freq = save_freq
        self.initial_value_threshold = initial_value_threshold
        self._batches_seen_since_last_saving = 0
        self._last_batch_seen = 0
        self._current_epoch = 0

    def on_epoch_begin(self, epoch, logs=None):
        self._current_epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        if self._should_save_on_batch(batch):
            self._save_model(self._current_epoch, batch, logs)

    def on_epoch_end(self, epoch, logs=None):
        if self.save_freq == "epoch":
            self._save_model(epoch, None, logs)

    def _should_save_on_batch(self, batch):
        if self.save_freq == "epoch":
            return False
        if batch <= self._last_batch_seen:  # a new epoch
            seen = batch + 1
        else:
            seen = batch - self._last_batch_seen
        self._batches_seen_since_last_saving += seen
        self._last_batch_seen = batch
        if self._batches_seen_since_last_saving >= self.save_freq:
            self._batches_seen_since_last_saving = 0
            return True
        return False

    def _get_file_path(self, epoch, batch, logs):
        logs = logs or {}
        try:
            if batch is None or "batch" in logs:
                return self.filepath.format(epoch=epoch + 1, **logs)
            return self.filepath.format(epoch=epoch + 1, batch=batch + 1, **logs)
        except KeyError as error:
            raise KeyError(f'Failed to format this callback filepath: "{self.filepath}". '
                           f"Reason: {error}") from None

    def _write(self, filepath):
        if self.save_weights_only:
            self.model.save_weights(filepath, overwrite=True)
        else:
            self.model.save(filepath, overwrite=True)

    def _should_save(self, epoch, logs, filepath):
        if not self.save_best_only:
            if self.verbose > 0:
                print_msg(f"\nEpoch {epoch + 1}: saving model to {filepath}")
            return True
        current = logs.get(self.monitor)
        if current is None:
            warnings.warn(f"Can save best model only with {self.monitor} available.",
                          stacklevel=3)
            return True
        if isinstance(current, np.ndarray) and current.ndim > 0:
            warnings.warn("Can save best model only when `monitor` is a scalar value. Received: "
                          f"{current}. Falling back to `save_best_only=False`.", stacklevel=3)
            return True
        best = "None" if self.best is None else f"{self.best:.5f}"
        if self._is_improvement(current, self.best):
            if self.verbose > 0:
                print_msg(f"\nEpoch {epoch + 1}: {self.monitor} improved from {best} to "
                          f"{current:.5f}, saving model to {filepath}")
            self.best = current
            return True
        if self.verbose > 0:
            print_msg(f"\nEpoch {epoch + 1}: {self.monitor} did not improve from {best}")
        return False

    def _save_model(self, epoch, batch, logs):
        logs = logs or {}
        if self.save_best_only and self.monitor_op is None:
            self._set_monitor_op()  # at the first save, when the model's metrics exist
        filepath = self._get_file_path(epoch, batch, logs)
        if os.path.isdir(filepath):
            raise IsADirectoryError(
                "Please specify a non-directory filepath for ModelCheckpoint. Filepath used is "
                f"an existing directory: {filepath}")
        if not self._should_save(epoch, logs, filepath):
            return
        dirname = os.path.dirname(filepath)
        if dirname and not os.path.exists(dirname):
            os.makedirs(dirname, exist_ok=True)
        self._write(filepath)
