"""Keras-style callbacks: hooks the training loop calls, and the standard set.

The model drives a `CallbackList` (`on_train_begin`, then per epoch
`on_epoch_begin`, `on_train_batch_begin/end` per batch, `on_epoch_end`, ...).
As in Keras, `logs` passed to batch hooks hold the running means since the
start of the epoch, and `logs` passed to `on_epoch_end` hold the epoch's
values plus the `val_` ones. One module per callback, as in Keras 3; the three
that watch a value share `MonitorCallback`.
"""

from fastconv.callbacks.callback import Callback
from fastconv.callbacks.callback_list import CallbackList
from fastconv.callbacks.csv_logger import CSVLogger
from fastconv.callbacks.early_stopping import EarlyStopping
from fastconv.callbacks.history import History
from fastconv.callbacks.lambda_callback import LambdaCallback
from fastconv.callbacks.learning_rate_scheduler import LearningRateScheduler
from fastconv.callbacks.model_checkpoint import ModelCheckpoint
from fastconv.callbacks.monitor_callback import MonitorCallback  # noqa: F401 - a base, as in keras.src
from fastconv.callbacks.progbar_logger import ProgbarLogger
from fastconv.callbacks.reduce_lr_on_plateau import ReduceLROnPlateau
from fastconv.callbacks.terminate_on_nan import TerminateOnNaN
from fastconv.utils.progbar import Progbar

__all__ = [
    "Callback", "CallbackList", "History", "ProgbarLogger", "Progbar",
    "EarlyStopping", "ReduceLROnPlateau", "CSVLogger", "TerminateOnNaN",
    "LearningRateScheduler", "LambdaCallback", "ModelCheckpoint",
]
