"""Keras-style callbacks: hooks the training loop calls, and the standard set.

The model drives a `CallbackList` (`on_train_begin`, then per epoch
`on_epoch_begin`, `on_train_batch_begin/end` per batch, `on_epoch_end`, ...).
As in Keras, `logs` passed to batch hooks hold the running means since the
start of the epoch, and `logs` passed to `on_epoch_end` hold the epoch's
values plus the `val_` ones.
"""

import collections
import csv
import math
import numbers
import os
import sys
import time
import warnings

import numpy as np

__all__ = [
    "Callback", "CallbackList", "History", "ProgbarLogger", "Progbar",
    "EarlyStopping", "ReduceLROnPlateau", "CSVLogger", "TerminateOnNaN",
    "LearningRateScheduler", "LambdaCallback", "ModelCheckpoint",
]


def _print(message):
    sys.stdout.write(message + "\n")
    sys.stdout.flush()


class Callback:
    """Base class: every hook does nothing (batch hooks forward to the legacy ones).

    Attributes:
        model: the model being trained (set by `set_model`).
        params: a dict with `verbose`, `epochs`, `steps` (set by `set_params`).
    """

    def __init__(self):
        self.model = None
        self.params = {}

    def set_params(self, params):
        self.params = params

    def set_model(self, model):
        self.model = model

    # Legacy (Keras 1/2) batch hooks: the train-batch hooks call them.
    def on_batch_begin(self, batch, logs=None):
        """Called at the start of a training batch (legacy name)."""

    def on_batch_end(self, batch, logs=None):
        """Called at the end of a training batch (legacy name)."""

    def on_epoch_begin(self, epoch, logs=None):
        """Called at the start of an epoch during `fit`."""

    def on_epoch_end(self, epoch, logs=None):
        """Called at the end of an epoch with its metrics (and `val_` metrics)."""

    def on_train_batch_begin(self, batch, logs=None):
        self.on_batch_begin(batch, logs=logs)

    def on_train_batch_end(self, batch, logs=None):
        self.on_batch_end(batch, logs=logs)

    def on_test_batch_begin(self, batch, logs=None):
        """Called at the start of a batch in `evaluate` (and validation)."""

    def on_test_batch_end(self, batch, logs=None):
        """Called at the end of a batch in `evaluate` (and validation)."""

    def on_predict_batch_begin(self, batch, logs=None):
        """Called at the start of a batch in `predict`."""

    def on_predict_batch_end(self, batch, logs=None):
        """Called at the end of a batch in `predict`."""

    def on_train_begin(self, logs=None):
        """Called at the start of `fit`."""

    def on_train_end(self, logs=None):
        """Called at the end of `fit`."""

    def on_test_begin(self, logs=None):
        """Called at the start of `evaluate` (and of each validation run)."""

    def on_test_end(self, logs=None):
        """Called at the end of `evaluate` (and of each validation run)."""

    def on_predict_begin(self, logs=None):
        """Called at the start of `predict`."""

    def on_predict_end(self, logs=None):
        """Called at the end of `predict`."""


_HOOKS = tuple(name for name in vars(Callback) if name.startswith("on_"))


class History(Callback):
    """Records each epoch's logs: `history.history["loss"][epoch]`, ...

    `fit` returns it; it also becomes `model.history`.
    """

    def __init__(self):
        super().__init__()
        self.history = {}
        self.epoch = []

    def on_train_begin(self, logs=None):
        self.epoch = []

    def on_epoch_end(self, epoch, logs=None):
        self.epoch.append(epoch)
        for key, value in (logs or {}).items():
            self.history.setdefault(key, []).append(value)
        if self.model is not None:
            self.model.history = self


class Progbar:
    """A Keras-style progress bar on stdout.

    `1500/1500 [==============================] - 12s 8ms/step - loss: 0.4512`

    On a terminal (or a notebook) the line is redrawn in place with `\\r` at
    most every `interval` seconds; otherwise (logs, pipes) a new line is
    printed at most every `log_interval` seconds, plus the final one.

    Args:
        target: total number of steps, or None if unknown.
        width: the bar's width in characters.
        verbose: 1 for the bar, 2 for one line at the end, 0 for silence.
        interval: minimum seconds between redraws on a terminal.
        stateful_metrics: names of values shown as given; the others are
            averaged over the steps so far.
        unit_name: the unit in the time per unit ("step").
        log_interval: minimum seconds between lines when not on a terminal.
    """

    def __init__(self, target, width=30, verbose=1, interval=0.05, stateful_metrics=None,
                 unit_name="step", log_interval=10.0):
        self.target = target
        self.width = width
        self.verbose = verbose
        self.interval = interval
        self.log_interval = log_interval
        self.unit_name = unit_name
        self.stateful_metrics = set(stateful_metrics or ())
        stream = sys.stdout
        self._dynamic = (hasattr(stream, "isatty") and stream.isatty()) or "ipykernel" in sys.modules
        self._values = {}  # name -> [weighted sum, weight] or the value itself
        self._order = []
        self._seen = 0
        self._start = time.time()
        # off a terminal, the first line waits a full log_interval too
        self._last_update = 0.0 if self._dynamic else self._start
        self._width_drawn = 0

    def update(self, current, values=None, finalize=None):
        """Records progress to step `current` with `(name, value)` pairs."""
        if finalize is None:
            finalize = self.target is not None and current >= self.target
        for name, value in values or ():
            if name not in self._order:
                self._order.append(name)
            numeric = isinstance(value, numbers.Number) or (isinstance(value, np.ndarray) and value.size == 1)
            if name in self.stateful_metrics or not numeric:
                self._values[name] = value
            else:
                weight = max(current - self._seen, 1)
                total = self._values.get(name)
                if not isinstance(total, list):
                    total = [0.0, 0]
                total[0] += float(value) * weight
                total[1] += weight
                self._values[name] = total
        self._seen = current

        now = time.time()
        if self.verbose == 1:
            wait = self.interval if self._dynamic else self.log_interval
            if not finalize and now - self._last_update < wait:
                return
            line = self._bar(current) + self._timing(current, now, finalize) + self._metrics()
            if self._dynamic:
                padding = " " * max(self._width_drawn - len(line), 0)
                sys.stdout.write("\r" + line + padding + ("\n" if finalize else ""))
                self._width_drawn = len(line)
            else:
                sys.stdout.write(line + "\n")
            sys.stdout.flush()
        elif self.verbose == 2 and finalize:
            elapsed = now - self._start
            count = f"{current}/{self.target}" if self.target is not None else f"{current}"
            per_unit = self._per_unit(elapsed / current if current else 0.0)
            sys.stdout.write(f"{count} - {elapsed:.0f}s -{per_unit}{self._metrics()}\n")
            sys.stdout.flush()
        self._last_update = now

    def add(self, n, values=None):
        self.update(self._seen + n, values)

    def _bar(self, current):
        if self.target is None:
            return f"{current:7d}/Unknown"
        digits = len(str(self.target))
        done = int(self.width * min(current / self.target, 1.0)) if self.target else self.width
        bar = "=" * max(done - 1, 0)
        if done > 0:
            bar += ">" if current < self.target else "="
        bar += "." * (self.width - done)
        return f"{current:{digits}d}/{self.target} [{bar}]"

    def _timing(self, current, now, finalize):
        elapsed = now - self._start
        per_unit = elapsed / current if current else 0.0
        if finalize or self.target is None:
            return f" - {elapsed:.0f}s{self._per_unit(per_unit)}"
        eta = per_unit * (self.target - current)
        if eta > 3600:
            eta_text = f"{int(eta // 3600)}:{int(eta % 3600 // 60):02d}:{int(eta % 60):02d}"
        elif eta > 60:
            eta_text = f"{int(eta // 60)}:{int(eta % 60):02d}"
        else:
            eta_text = f"{eta:.0f}s"
        return f" - ETA: {eta_text}"

    def _per_unit(self, seconds):
        if seconds >= 1 or seconds == 0:
            return f" {seconds:.0f}s/{self.unit_name}"
        if seconds >= 1e-3:
            return f" {seconds * 1e3:.0f}ms/{self.unit_name}"
        return f" {seconds * 1e6:.0f}us/{self.unit_name}"

    def _metrics(self):
        parts = []
        for name in self._order:
            value = self._values[name]
            if isinstance(value, list):
                value = value[0] / max(value[1], 1)
            if isinstance(value, (numbers.Number, np.ndarray)) and np.size(value) == 1:
                value = float(value)
                text = f"{value:.4f}" if abs(value) > 1e-3 or value == 0 else f"{value:.4e}"
            else:
                text = str(value)
            parts.append(f" - {name}: {text}")
        return "".join(parts)


class ProgbarLogger(Callback):
    """Prints `Epoch i/n` and a progress bar per epoch (fit) or run (evaluate, predict).

    Uses `params["verbose"]` (1: bar, 2: one line per epoch), `params["epochs"]`
    and `params["steps"]` (the bar's target; None if unknown).
    """

    def __init__(self):
        super().__init__()
        self.verbose = 1
        self.epochs = 1
        self.target = None
        self.progbar = None
        self.seen = 0
        self._called_in_fit = False

    def set_params(self, params):
        super().set_params(params)
        self.verbose = params.get("verbose", 1)
        self.epochs = params.get("epochs") or 1
        self.target = params.get("steps")

    def _reset(self):
        self.seen = 0
        self.progbar = None

    def _ensure(self):
        if self.progbar is None:
            self.progbar = Progbar(target=self.target, verbose=self.verbose, unit_name="step")

    def _update(self, batch, logs):
        self._ensure()
        self.seen = batch + 1
        if self.verbose == 1:
            logs = logs or {}
            # logs are running means already: show them as given
            self.progbar.stateful_metrics.update(logs)
            self.progbar.update(self.seen, list(logs.items()), finalize=False)

    def _finalize(self, logs):
        self._ensure()
        logs = logs or {}
        if self.target is None:
            self.progbar.target = self.seen
        self.progbar.stateful_metrics.update(logs)
        self.progbar.update(self.progbar.target, list(logs.items()), finalize=True)

    def on_train_begin(self, logs=None):
        self._called_in_fit = True

    def on_train_end(self, logs=None):
        self._called_in_fit = False

    def on_epoch_begin(self, epoch, logs=None):
        self._reset()
        self._ensure()
        if self.verbose and self.epochs > 1:
            _print(f"Epoch {epoch + 1}/{self.epochs}")

    def on_train_batch_end(self, batch, logs=None):
        self._update(batch, logs)

    def on_epoch_end(self, epoch, logs=None):
        if self.verbose:
            self._finalize(logs)

    def on_test_begin(self, logs=None):
        if not self._called_in_fit:
            self._reset()
            self._ensure()

    def on_test_batch_end(self, batch, logs=None):
        if not self._called_in_fit:
            self._update(batch, logs)

    def on_test_end(self, logs=None):
        if not self._called_in_fit and self.verbose:
            self._finalize(logs)

    def on_predict_begin(self, logs=None):
        self._reset()
        self._ensure()

    def on_predict_batch_end(self, batch, logs=None):
        self._update(batch, None)

    def on_predict_end(self, logs=None):
        if self.verbose:
            self._finalize(None)


class CallbackList:
    """Dispatches every hook to every callback, in order.

    As in Keras 3, a `History` (if `add_history` and none is given) and then
    a `ProgbarLogger` (if `add_progbar` and none is given) go after the
    user's callbacks, so both see what those add to the epoch logs (the
    `learning_rate` of ReduceLROnPlateau and LearningRateScheduler).

    Args:
        callbacks: a list of `Callback`s (or None).
        model: the model, given to every callback with `set_model`.
        add_history: whether to add a `History`.
        add_progbar: whether to add a `ProgbarLogger`.
        verbose, epochs, steps, **params: the `params` dict every callback
            receives with `set_params`.
    """

    def __init__(self, callbacks=None, model=None, add_history=False, add_progbar=False,
                 verbose=1, epochs=None, steps=None, **params):
        self.callbacks = list(callbacks) if callbacks else []
        for callback in self.callbacks:
            if not isinstance(callback, Callback):
                raise TypeError(
                    "Callbacks must be instances of fastconv.callbacks.Callback. "
                    f"Received: {callback!r}"
                )
        self._history = next((cb for cb in self.callbacks if isinstance(cb, History)), None)
        self._progbar = next((cb for cb in self.callbacks if isinstance(cb, ProgbarLogger)), None)
        if self._history is None and add_history:
            self._history = History()
            self.callbacks.append(self._history)
        if self._progbar is None and add_progbar:
            self._progbar = ProgbarLogger()
            self.callbacks.append(self._progbar)
        self.model = None
        self.params = {"verbose": verbose, "epochs": epochs, "steps": steps, **params}
        self.set_params(self.params)
        if model is not None:
            self.set_model(model)

    @property
    def history(self):
        """The `History` callback in the list, or None."""
        return self._history

    def append(self, callback):
        self.callbacks.append(callback)
        if self.model is not None:
            callback.set_model(self.model)
        callback.set_params(self.params)

    def set_params(self, params):
        self.params = params
        for callback in self.callbacks:
            callback.set_params(params)

    def set_model(self, model):
        self.model = model
        if self._history is not None:
            model.history = self._history
        for callback in self.callbacks:
            callback.set_model(model)

    def __iter__(self):
        return iter(self.callbacks)

    def __len__(self):
        return len(self.callbacks)

    def _dispatch(self, hook, *args):
        for callback in self.callbacks:
            getattr(callback, hook)(*args)


def _make_dispatcher(hook):
    if hook in ("on_train_begin", "on_train_end", "on_test_begin", "on_test_end",
                "on_predict_begin", "on_predict_end"):
        def method(self, logs=None):
            self._dispatch(hook, logs if logs is not None else {})
    else:
        def method(self, index, logs=None):
            self._dispatch(hook, index, logs if logs is not None else {})
    method.__name__ = hook
    method.__doc__ = f"Calls `{hook}` on every callback, in order."
    return method


for _hook in _HOOKS:
    setattr(CallbackList, _hook, _make_dispatcher(_hook))
del _hook


def _monitor_direction(monitor, model):
    """'min' or 'max' for mode 'auto', as Keras 3 decides it; None if unknown."""
    name = monitor[4:] if monitor.startswith("val_") else monitor
    if name == "loss":
        return "min"
    stack = list(getattr(model, "metrics", None) or [])
    while stack:
        metric = stack.pop()
        inner = getattr(metric, "metrics", None)
        if isinstance(inner, (list, tuple)):
            stack.extend(inner)
        if getattr(metric, "name", None) == name and hasattr(metric, "_direction"):
            return "max" if metric._direction == "up" else "min"
    # Names whose direction is known without the metric object.
    if name in ("acc", "accuracy") or name.endswith(("_accuracy", "_acc", "auc")):
        return "max"
    if name.endswith(("loss", "error", "crossentropy")) or name in ("mse", "mae"):
        return "min"
    return None


def _check_mode(mode, owner):
    if mode not in ("auto", "min", "max"):
        warnings.warn(f"{owner} mode {mode} is unknown, fallback to auto mode.", stacklevel=3)
        return "auto"
    return mode


class EarlyStopping(Callback):
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
        mode: "min", "max", or "auto" (from the metric: losses and errors
            are minimized; accuracies maximized).
        baseline: a value the monitor must beat.
        restore_best_weights: whether to restore the best epoch's weights.
        start_from_epoch: warm-up epochs not monitored.

    Raises:
        ValueError: at the first epoch end, in mode "auto", if the direction
            of `monitor` cannot be determined.
    """

    def __init__(self, monitor="val_loss", min_delta=0, patience=0, verbose=0, mode="auto",
                 baseline=None, restore_best_weights=False, start_from_epoch=0):
        super().__init__()
        self.monitor = monitor
        self.patience = patience
        self.verbose = verbose
        self.baseline = baseline
        self.min_delta = abs(min_delta)
        self.restore_best_weights = restore_best_weights
        self.start_from_epoch = start_from_epoch
        self.mode = _check_mode(mode, "EarlyStopping")
        self.monitor_op = None
        self.wait = 0
        self.stopped_epoch = 0
        self.best = None
        self.best_epoch = 0
        self.best_weights = None

    def _set_monitor_op(self):
        direction = self.mode if self.mode != "auto" else _monitor_direction(self.monitor, self.model)
        if direction is None:
            raise ValueError(
                f"EarlyStopping callback received monitor={self.monitor} but cannot "
                "determine whether that metric should be maximized or minimized. Pass "
                "`mode='max'` to stop on the highest value, or `mode='min'` for the lowest."
            )
        self.monitor_op = np.less if direction == "min" else np.greater
        self._signed_delta = -self.min_delta if direction == "min" else self.min_delta
        self.best = math.inf if direction == "min" else -math.inf

    def on_train_begin(self, logs=None):
        self.wait = 0
        self.stopped_epoch = 0
        self.best_weights = None
        self.best_epoch = 0
        self.monitor_op = None

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
            _print(f"Epoch {self.stopped_epoch + 1}: early stopping")
        if self.restore_best_weights and self.best_weights is not None:
            if self.verbose > 0:
                _print(f"Restoring model weights from the end of the best epoch: {self.best_epoch + 1}.")
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

    def _is_improvement(self, value, reference):
        return bool(self.monitor_op(value - self._signed_delta, reference))


class ModelCheckpoint(Callback):
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
        mode: "min", "max", or "auto" (from the metric, as EarlyStopping).
        save_freq: "epoch", or an int: save every that many batches.
        initial_value_threshold: the best value to beat at the start.

    Raises:
        ValueError: for an unknown `save_freq`; at the first check in mode
            "auto" if the direction of `monitor` cannot be determined.
    """

    def __init__(self, filepath, monitor="val_loss", verbose=0, save_best_only=False,
                 save_weights_only=False, mode="auto", save_freq="epoch",
                 initial_value_threshold=None):
        super().__init__()
        self.filepath = os.fspath(filepath)
        self.monitor = monitor
        self.verbose = verbose
        self.save_best_only = save_best_only
        self.save_weights_only = save_weights_only
        self.mode = _check_mode(mode, "ModelCheckpoint")
        if save_freq != "epoch" and (isinstance(save_freq, bool) or not isinstance(save_freq, int)
                                     or save_freq < 1):
            raise ValueError(f"Unrecognized save_freq: {save_freq}. Expected save_freq are "
                             "'epoch' or integer values")
        self.save_freq = save_freq
        self.initial_value_threshold = initial_value_threshold
        self.best = initial_value_threshold
        self.monitor_op = None
        self._batches_seen_since_last_saving = 0
        self._last_batch_seen = 0
        self._current_epoch = 0

    def _set_monitor_op(self):
        direction = self.mode if self.mode != "auto" else _monitor_direction(self.monitor, self.model)
        if direction is None:
            raise ValueError(
                f"ModelCheckpoint callback received monitor={self.monitor}, but cannot "
                "determine whether that metric should be maximized or minimized. Pass "
                "`mode='max'` to save on the highest value, or `mode='min'` for the lowest."
            )
        self.monitor_op = np.less if direction == "min" else np.greater
        if self.best is None:
            self.best = math.inf if direction == "min" else -math.inf

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

    def _save_model(self, epoch, batch, logs):
        logs = logs or {}
        if self.save_best_only and self.monitor_op is None:
            self._set_monitor_op()
        filepath = self._get_file_path(epoch, batch, logs)
        if os.path.isdir(filepath):
            raise IsADirectoryError(
                "Please specify a non-directory filepath for ModelCheckpoint. Filepath used is "
                f"an existing directory: {filepath}")
        dirname = os.path.dirname(filepath)
        if dirname and not os.path.exists(dirname):
            os.makedirs(dirname, exist_ok=True)
        if not self.save_best_only:
            if self.verbose > 0:
                _print(f"\nEpoch {epoch + 1}: saving model to {filepath}")
            self._write(filepath)
            return
        current = logs.get(self.monitor)
        if current is None:
            warnings.warn(f"Can save best model only with {self.monitor} available, skipping.",
                          stacklevel=2)
            return
        if isinstance(current, np.ndarray) and current.ndim > 0:
            warnings.warn("Can save best model only when `monitor` is a scalar value. Received: "
                          f"{current}. Skipping.", stacklevel=2)
            return
        if self.monitor_op(current, self.best):
            if self.verbose > 0:
                _print(f"\nEpoch {epoch + 1}: {self.monitor} improved from {self.best:.5f} to "
                       f"{current:.5f}, saving model to {filepath}")
            self.best = current
            self._write(filepath)
        elif self.verbose > 0:
            _print(f"\nEpoch {epoch + 1}: {self.monitor} did not improve from {self.best:.5f}")


def _get_lr(model):
    optimizer = getattr(model, "optimizer", None)
    if optimizer is None or not hasattr(optimizer, "learning_rate"):
        raise ValueError('The model\'s optimizer must have a "learning_rate" attribute.')
    return float(np.asarray(optimizer.learning_rate))


class ReduceLROnPlateau(Callback):
    """Multiplies the learning rate by `factor` when a monitored value stalls.

    After `patience` epochs without improvement (by more than `min_delta`),
    `lr = max(lr * factor, min_lr)`, then `cooldown` epochs pass before
    counting again. Mode "auto" maximizes monitors containing "acc" and
    minimizes the others (Keras's rule). Adds `learning_rate` to the logs.

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
        ValueError: if `factor >= 1`.
    """

    def __init__(self, monitor="val_loss", factor=0.1, patience=10, verbose=0, mode="auto",
                 min_delta=1e-4, cooldown=0, min_lr=0.0, **kwargs):
        super().__init__()
        if "epsilon" in kwargs:  # Keras 2 name of min_delta
            min_delta = kwargs.pop("epsilon")
        if kwargs:
            raise TypeError(f"Unrecognized arguments: {sorted(kwargs)}")
        if factor >= 1.0:
            raise ValueError(f"ReduceLROnPlateau does not support a factor >= 1.0. Received: factor={factor}")
        self.monitor = monitor
        self.factor = factor
        self.patience = patience
        self.verbose = verbose
        self.min_delta = min_delta
        self.cooldown = cooldown
        self.min_lr = min_lr
        self.mode = _check_mode(mode, "ReduceLROnPlateau")
        self._reset()

    def _reset(self):
        if self.mode == "min" or (self.mode == "auto" and "acc" not in self.monitor):
            self.monitor_op = lambda a, b: a < b - self.min_delta
            self.best = math.inf
        else:
            self.monitor_op = lambda a, b: a > b + self.min_delta
            self.best = -math.inf
        self.cooldown_counter = 0
        self.wait = 0

    def on_train_begin(self, logs=None):
        self._reset()

    def in_cooldown(self):
        return self.cooldown_counter > 0

    def on_epoch_end(self, epoch, logs=None):
        logs = logs if logs is not None else {}
        logs["learning_rate"] = _get_lr(self.model)
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
        if self.monitor_op(current, self.best):
            self.best = current
            self.wait = 0
        elif not self.in_cooldown():
            self.wait += 1
            if self.wait >= self.patience:
                old_lr = _get_lr(self.model)
                if old_lr > np.float32(self.min_lr):
                    new_lr = max(old_lr * self.factor, self.min_lr)
                    self.model.optimizer.learning_rate = new_lr
                    if self.verbose > 0:
                        _print(f"\nEpoch {epoch + 1}: ReduceLROnPlateau reducing learning rate to {new_lr}.")
                    self.cooldown_counter = self.cooldown
                    self.wait = 0


class CSVLogger(Callback):
    """Writes each epoch's logs as a CSV row: `epoch,<sorted log keys>`.

    Args:
        filename: the CSV file's path.
        separator: the field separator.
        append: append to an existing file (without repeating its header)
            instead of overwriting it.
    """

    def __init__(self, filename, separator=",", append=False):
        super().__init__()
        self.filename = os.fspath(filename)
        self.sep = separator
        self.append = append
        self.keys = None
        self.writer = None
        self.csv_file = None
        self.append_header = True

    def on_train_begin(self, logs=None):
        self.keys = None
        self.writer = None
        self.append_header = True
        if self.append:
            if os.path.exists(self.filename):
                with open(self.filename, encoding="utf-8") as existing:
                    self.append_header = not existing.readline()
            mode = "a"
        else:
            mode = "w"
        self.csv_file = open(self.filename, mode, newline="", encoding="utf-8")

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}

        def cell(value):
            if isinstance(value, str):
                return value
            if isinstance(value, np.ndarray) and value.ndim == 0:
                return value.item()
            if isinstance(value, (list, tuple, np.ndarray)):
                return f'"[{", ".join(map(str, value))}]"'
            return value

        if self.keys is None:
            self.keys = sorted(logs)
            # With validation only every few epochs, the first row may lack
            # the val_ keys: reserve their columns now.
            if not any(key.startswith("val_") for key in self.keys):
                self.keys += ["val_" + key for key in self.keys]
        if self.writer is None:
            self.writer = csv.DictWriter(self.csv_file, fieldnames=["epoch"] + self.keys,
                                         delimiter=self.sep, lineterminator="\n")
            if self.append_header:
                self.writer.writeheader()
        row = collections.OrderedDict(epoch=epoch)
        row.update((key, cell(logs.get(key, "NA"))) for key in self.keys)
        self.writer.writerow(row)
        self.csv_file.flush()

    def on_train_end(self, logs=None):
        if self.csv_file is not None:
            self.csv_file.close()
        self.writer = None


class TerminateOnNaN(Callback):
    """Stops training as soon as a batch's loss is NaN or infinite."""

    def on_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is not None and not np.isfinite(loss):
            _print(f"Batch {batch}: Invalid loss, terminating training")
            self.model.stop_training = True


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
        lr = _get_lr(self.model)
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
            _print(f"\nEpoch {epoch + 1}: LearningRateScheduler setting learning rate to {float(lr)}.")

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["learning_rate"] = _get_lr(self.model)


class LambdaCallback(Callback):
    """A callback built from functions, e.g. `LambdaCallback(on_epoch_end=fn)`.

    Epoch and batch hooks receive `(index, logs)`; train/test/predict begin
    and end hooks receive `(logs)`. Any hook name is accepted as a keyword
    (`on_batch_end`, `on_test_end`, ...).

    Raises:
        TypeError: for a keyword that is not a hook name.
    """

    def __init__(self, on_epoch_begin=None, on_epoch_end=None, on_train_begin=None,
                 on_train_end=None, on_train_batch_begin=None, on_train_batch_end=None, **kwargs):
        super().__init__()
        unknown = sorted(set(kwargs) - set(_HOOKS))
        if unknown:
            raise TypeError(f"LambdaCallback got unknown hook(s): {unknown}. Valid hooks: {list(_HOOKS)}")
        hooks = dict(on_epoch_begin=on_epoch_begin, on_epoch_end=on_epoch_end,
                     on_train_begin=on_train_begin, on_train_end=on_train_end,
                     on_train_batch_begin=on_train_batch_begin,
                     on_train_batch_end=on_train_batch_end, **kwargs)
        for name, fn in hooks.items():
            if fn is not None:
                setattr(self, name, fn)
