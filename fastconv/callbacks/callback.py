"""The `Callback` base class: every hook the training loops call, doing nothing."""

import numpy as np


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


HOOKS = tuple(name for name in vars(Callback) if name.startswith("on_"))


def learning_rate_of(model):
    """The learning rate of `model.optimizer`, as a float (for the learning-rate callbacks)."""
    optimizer = getattr(model, "optimizer", None)
    if optimizer is None or not hasattr(optimizer, "learning_rate"):
        raise ValueError('The model\'s optimizer must have a "learning_rate" attribute.')
    return float(np.asarray(optimizer.learning_rate))
