"""`LambdaCallback`: a callback built from plain functions."""

from fastconv.callbacks.callback import HOOKS, Callback


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
        unknown = sorted(set(kwargs) - set(HOOKS))
        if unknown:
            raise TypeError(f"LambdaCallback got unknown hook(s): {unknown}. Valid hooks: {list(HOOKS)}")
        hooks = dict(on_epoch_begin=on_epoch_begin, on_epoch_end=on_epoch_end,
                     on_train_begin=on_train_begin, on_train_end=on_train_end,
                     on_train_batch_begin=on_train_batch_begin,
                     on_train_batch_end=on_train_batch_end, **kwargs)
        for name, fn in hooks.items():
            if fn is not None:
                setattr(self, name, fn)
