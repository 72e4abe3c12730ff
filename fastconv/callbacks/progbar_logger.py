"""`ProgbarLogger`: the per-epoch progress bar of `fit`, `evaluate` and `predict`."""

from fastconv.callbacks.callback import Callback
from fastconv.utils.io_utils import print_msg
from fastconv.utils.progbar import Progbar


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
            print_msg(f"Epoch {epoch + 1}/{self.epochs}")

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
