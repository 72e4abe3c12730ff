"""`DistributedOptimizer`: averages the gradients over the ranks before each optimizer step.

The wrapper is a subclass of the wrapped optimizer's own class, made once per class, with the
same name: `compile`, `isinstance` and saving see the optimizer the user chose (a saved model
loads with a plain `Adam`), and every option (clipping, decay, schedules) runs unchanged on the
averaged gradient, as the design note asks.
"""

import copy
import operator

import numpy as np

from fastconv.distributed import runtime
from fastconv.distributed.averaging import GradientAverager
from fastconv.optimizers import Optimizer


class GradientAveraging:
    """Mixin placed before an optimizer class: one Allreduce of all gradients per step (see
    `GradientAverager`)."""

    def apply_gradients(self, grads_and_vars, sample_count=None):
        """Averages the gradients over the ranks, then applies one step (see `Optimizer`).

        Args:
            grads_and_vars: `(gradient, variable)` pairs, as for any optimizer.
            sample_count: the number of samples this rank's gradients are a mean over. With it,
                the step uses `sum(n_r * g_r) / sum(n_r)` over ranks r, the gradient of the
                global batch even when ranks hold different numbers of samples; a rank with
                `sample_count=0` contributes nothing. None weighs every rank equally (exact
                when all ranks hold equally many samples).
        """
        comm = runtime.world("DistributedOptimizer.apply_gradients")
        weight = 1 if sample_count is None else _check_sample_count(sample_count)
        pairs = list(grads_and_vars)
        if comm is None:  # 1-rank job: exactly the wrapped optimizer's step
            return super().apply_gradients(pairs)
        grads = [None if grad is None else np.asarray(grad) for grad, _ in pairs]
        if getattr(self, "_averager", None) is None:
            self._averager = GradientAverager()
        averaged = self._averager.average(comm, grads, weight, "DistributedOptimizer")
        return super().apply_gradients(zip(averaged, (var for _, var in pairs)))

    def apply(self, grads, trainable_variables, sample_count=None):
        """Keras 3 spelling: `apply(grads, variables, sample_count=None)`."""
        return self.apply_gradients(zip(grads, trainable_variables), sample_count=sample_count)


def _check_sample_count(sample_count):
    try:
        if isinstance(sample_count, bool):
            raise TypeError
        count = operator.index(sample_count)
    except TypeError:
        raise TypeError(f"`sample_count` must be an int >= 0 or None. "
                        f"Received: sample_count={sample_count!r}") from None
    if count < 0:
        raise ValueError(f"`sample_count` must be an int >= 0 or None. "
                         f"Received: sample_count={count}")
    return count


_classes = {}  # optimizer class -> its averaging subclass, made once


# A factory named like the class it returns, as in Horovod.
def DistributedOptimizer(optimizer):  # noqa: N802
    """Returns a copy of `optimizer` that averages the gradients over all ranks before each step.

    Use the returned optimizer in place of `optimizer`: pass it to `model.compile` (then
    `train_on_batch` averages the gradients of every step), or call its `apply_gradients` /
    `apply` in a hand-written loop. Every rank must take the same steps, with gradients of the
    same shapes. Clipping, weight decay and learning-rate schedules act on the averaged gradient.
    In a 1-rank job the step is exactly the wrapped optimizer's.

    The copy's class is a subclass of `optimizer`'s class with the same name, so `isinstance`,
    `get_config` and saving treat it as that optimizer (a saved model reloads with the plain one).

    Args:
        optimizer: a `fastconv.optimizers.Optimizer` instance.

    Returns:
        The averaging optimizer: a copy of `optimizer` (configuration and any state).

    Raises:
        TypeError: `optimizer` is not a fastconv optimizer instance.
        ValueError: `optimizer` already averages gradients.

    Example:
        >>> import fastconv as keras
        >>> keras.distributed.init()  # a 1-rank job without an MPI launcher
        >>> opt = keras.distributed.DistributedOptimizer(keras.optimizers.Adam(1e-3))
        >>> isinstance(opt, keras.optimizers.Adam), type(opt).__name__
        (True, 'Adam')
    """
    if not isinstance(optimizer, Optimizer):
        raise TypeError("DistributedOptimizer wraps a fastconv optimizer instance. "
                        f"Received: optimizer={optimizer!r}")
    if isinstance(optimizer, GradientAveraging):
        raise ValueError("This optimizer already averages gradients over the ranks; wrapping it "
                         "again would average twice. Received: an optimizer from "
                         "DistributedOptimizer")
    base = type(optimizer)
    if base not in _classes:
        _classes[base] = type(base.__name__, (GradientAveraging, base),
                              {"__module__": base.__module__, "__qualname__": base.__qualname__})
    wrapped = copy.deepcopy(optimizer)
    wrapped.__class__ = _classes[base]
    return wrapped
