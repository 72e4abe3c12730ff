"""`MonitorCallback`: the one rule EarlyStopping, ModelCheckpoint and ReduceLROnPlateau use
to decide whether a monitored value improved (Keras 3's `keras/src/callbacks/monitor_callback.py`).
"""

import warnings

import numpy as np

from fastconv.callbacks.callback import Callback

# Well-known names and their direction, for a model that exposes no metric objects
# (no `metrics` attribute): the rule Keras 3 applies to the compiled metric objects.
_MAXIMIZED = ("acc", "accuracy")
_MAXIMIZED_SUFFIXES = ("_accuracy", "_acc", "auc")
_MINIMIZED = ("mse", "mae")
_MINIMIZED_SUFFIXES = ("loss", "error", "crossentropy")


class MonitorCallback(Callback):
    """Base class of the callbacks that watch one log value and act when it improves.

    In mode "auto" the direction is found at the first `_set_monitor_op` call (the
    first epoch end, once the model's metrics exist), as Keras 3 finds it: "loss" and
    "val_loss" are minimized; otherwise the model's metric of that name (without the
    "val_" prefix), searched in `model.metrics` and in the `metrics` of the containers
    it holds, says with its `_direction` ("up": maximize). A model without a `metrics`
    attribute falls back on well-known names (accuracies maximized; losses, errors,
    crossentropies, "mse" and "mae" minimized).

    An improvement is `monitor_op(value - min_delta, reference)` with `min_delta`
    counting against the improvement; any value improves on a `best` of None.

    Args:
        monitor: the log key to watch.
        mode: "auto", "min" or "max"; anything else warns and means "auto".
        baseline: the initial `best` (None: the first value is the best).
        min_delta: the smallest change that counts as an improvement.

    Raises:
        ValueError: from `_set_monitor_op`, in mode "auto", if the direction
            of `monitor` cannot be determined.
    """

    def __init__(self, monitor="val_loss", mode="auto", baseline=None, min_delta=0):
        super().__init__()
        if mode not in ("auto", "min", "max"):
            warnings.warn(f"{type(self).__name__} mode '{mode}' is unknown, fallback to auto "
                          "mode.", stacklevel=3)
            mode = "auto"
        self.monitor = monitor
        self.mode = mode
        self.best = baseline
        self.min_delta = abs(min_delta)
        self.monitor_op = None

    def _set_monitor_op(self):
        direction = self.mode if self.mode != "auto" else self._auto_direction()
        if direction is None:
            raise ValueError(
                f"{type(self).__name__} callback received monitor={self.monitor}, but cannot "
                "determine whether that metric should be maximized or minimized. Pass "
                "`mode='max'` in order to monitor based on the highest metric value, or pass "
                "`mode='min'` in order to use the lowest value."
            )
        self.monitor_op = np.less if direction == "min" else np.greater
        if direction == "min":
            self.min_delta = -abs(self.min_delta)

    def _auto_direction(self):
        name = self.monitor.removeprefix("val_")
        if name == "loss":
            return "min"
        metrics = getattr(self.model, "metrics", None)
        if metrics is None:
            return _direction_from_name(name)
        direction = None
        stack = list(metrics)
        while stack:
            metric = stack.pop(0)
            inner = getattr(metric, "metrics", None)
            if isinstance(inner, (list, tuple)):
                stack.extend(inner)
            if getattr(metric, "name", None) == name and hasattr(metric, "_direction"):
                direction = "max" if metric._direction == "up" else "min"
        return direction

    def _is_improvement(self, value, reference):
        if reference is None:
            return True
        return bool(self.monitor_op(value - self.min_delta, reference))


def _direction_from_name(name):
    if name in _MAXIMIZED or name.endswith(_MAXIMIZED_SUFFIXES):
        return "max"
    if name in _MINIMIZED or name.endswith(_MINIMIZED_SUFFIXES):
        return "min"
    return None
