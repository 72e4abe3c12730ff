"""`CallbackList`: the object the training loops drive, dispatching each hook to every callback."""

from fastconv.callbacks.callback import HOOKS, Callback
from fastconv.callbacks.history import History
from fastconv.callbacks.progbar_logger import ProgbarLogger


_TRAIN_BATCH_HOOKS = ("on_train_batch_begin", "on_train_batch_end", "on_batch_begin",
                      "on_batch_end")


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

    def uses_train_batch_hooks(self):
        """Whether a callback may do anything in the train-batch hooks: one of them, or of the
        legacy batch hooks, is not the base class's do-nothing method (a subclass's, a function
        set on the instance as LambdaCallback does, anything `__getattribute__` returns). If
        none is, the loop may skip calling them and computing their logs."""
        return any(getattr(getattr(callback, hook), "__func__", None) is not getattr(Callback, hook)
                   for callback in self.callbacks for hook in _TRAIN_BATCH_HOOKS)

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


for _hook in HOOKS:
    setattr(CallbackList, _hook, _make_dispatcher(_hook))
del _hook
