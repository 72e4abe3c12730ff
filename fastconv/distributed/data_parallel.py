"""Data-parallel `fit` and `evaluate`: what the trainer asks of a job with several ranks.

After `fastconv.distributed.init()` joined a job of 2 or more ranks, `active()` returns the
job's `DataParallel` strategy and the trainer consults it at the few points below; in a 1-rank
job (and without `init()`) it returns None and the loops run exactly as in one process.

- `batch_size` is the global batch. Every global batch (the same on every rank: one order per
  epoch from a seed rank 0 broadcasts, `validation_split` and `steps_per_epoch` applied to the
  global order) is split between the ranks, the remainder going to the low ranks, so every rank
  runs the same number of steps.
- Training starts in sync (rank 0's weights and optimizer state broadcast); each step averages
  the gradients weighted by each rank's sample count, in one Allreduce, before the optimizer.
- The loss and metric totals and counts are summed over the ranks before any callback sees the
  logs, so logs, history and `evaluate` are the job's and identical on every rank (and the
  callbacks decide alike: a rank stopping alone would hang the others).
- Ranks other than 0 print nothing during `fit`/`evaluate` and skip the callbacks that write
  files (CSVLogger, ModelCheckpoint, the progress bar); `model.save` writes on rank 0 only.
- Random layers (Dropout, ...) draw from a different stream on each rank; BatchNormalization's
  moving statistics are averaged over the ranks at the end of every epoch.
"""

import contextlib
import copy
import os

import numpy as np

from fastconv import backend
from fastconv.distributed import collectives, failures, runtime
from fastconv.distributed.averaging import GradientAverager
from fastconv.distributed.optimizer import GradientAveraging
from fastconv.trainers import data_adapters

_strategy = None  # the job's DataParallel, made at the first fit/evaluate


def active():
    """The job's `DataParallel` after `init()` joined 2+ ranks, else None (one process)."""
    global _strategy
    if not runtime.is_initialized():
        return None
    comm = runtime.world("fit")
    if comm is None:
        return None
    if _strategy is None:
        _strategy = DataParallel(comm)
    return _strategy


def writes_files():
    """Whether this process writes files: every process but ranks 1.. of a multi-rank job."""
    return not runtime.is_initialized() or runtime.rank() == 0


@contextlib.contextmanager
def rank_0_output(strategy):
    """A context in which ranks other than 0 discard what is printed (a no-op in one process)."""
    if strategy is None or strategy.rank == 0:
        yield
        return
    with open(os.devnull, "w") as sink, contextlib.redirect_stdout(sink):
        yield


def num_samples(data):
    """The number of samples in a batch of inputs (an array, or a list/dict of arrays)."""
    while isinstance(data, (list, tuple, dict)):
        data = next(iter(data.values())) if isinstance(data, dict) else data[0]
    return len(data)


def _running_mean(metric):
    """The `Mean` holding a metric's running total and count (None: not resolved yet)."""
    from fastconv import metrics

    if isinstance(metric, metrics._AutoAccuracy):  # "accuracy" delegates to the resolved kind
        return metric.resolved
    return metric if isinstance(metric, metrics.Mean) else None


def _all_layers(layers):
    for layer in layers:
        yield layer
        yield from _all_layers(getattr(layer, "layers", []))


def _branch(generator, rank):
    """Gives `generator`, in place, a stream of its own for this rank (drawn from its state)."""
    seed = np.random.SeedSequence([int(generator.integers(2**63)), rank])
    generator.bit_generator.state = type(generator.bit_generator)(seed).state


class DataParallel:
    """The data-parallel strategy of a job with several ranks (see the module's docstring).

    Args:
        comm: the job's communicator (MPI.COMM_WORLD).
    """

    def __init__(self, comm):
        self.comm = comm
        self.rank = comm.Get_rank()
        self.size = comm.Get_size()
        self.shuffle_generator = None
        self._averager = GradientAverager()
        self._last_gradients = []  # (shape, dtype) or None, and the weight, of the last step

    # ------------------------------------------------------------ the start of fit / evaluate
    def begin(self, model, method, inputs, callbacks, verbose):
        """Checks what `method` got, draws the epoch orders' shared seed, and returns this rank's
        (callbacks, verbose).

        Every rank raises the same error for the same program, before any collective.

        Raises:
            TypeError: an input is not array data, or a compiled metric has no running total.
            ValueError: the loss sums over the batch instead of averaging.
        """
        for name, value in inputs.items():
            if name == "validation_data" and value is not None:
                value = data_adapters.unpack_x_y_sample_weight(value)[0]
            if value is not None and not data_adapters.is_array_input(value):
                raise TypeError(
                    f"`{method}` on {self.size} ranks takes NumPy arrays, of which every rank "
                    f"reads its share of each global batch. Received: {name} of type "
                    f"{type(value).__name__}. For a generator or a dataset, give each rank its "
                    "own shard and train with `train_on_batch` and a DistributedOptimizer.")
        losses = model.loss if isinstance(model.loss, (list, tuple)) else [model.loss]
        for loss in losses:
            reduction = getattr(loss, "reduction", "sum_over_batch_size")
            if reduction != "sum_over_batch_size":
                raise ValueError(
                    f"`{method}` on {self.size} ranks averages the per-sample losses of each "
                    f"global batch; a loss with reduction={reduction!r} has no such average. "
                    "Use reduction='sum_over_batch_size'.")
        from fastconv.metrics import Mean

        for metric in model.metrics:
            if not isinstance(metric, Mean):
                raise TypeError(
                    f"`{method}` on {self.size} ranks sums every metric's total and count over "
                    f"the ranks; metric {metric.name!r} ({type(metric).__name__}) is not a "
                    "fastconv.metrics.Mean and keeps no such total. Subclass Mean (or "
                    "MeanMetricWrapper) to use it.")
        seed = np.array(backend.random_generator().integers(2**63) if self.rank == 0 else 0)
        self.comm.Bcast(seed, root=0)
        failures.progress()
        self.shuffle_generator = np.random.default_rng(int(seed))
        if self.rank == 0:
            return callbacks, verbose
        from fastconv.callbacks import CSVLogger, ModelCheckpoint, ProgbarLogger

        local = [callback for callback in callbacks or []
                 if not isinstance(callback, (CSVLogger, ModelCheckpoint, ProgbarLogger))]
        return local, 0

    def start(self, model):
        """Starts training in sync: rank 0's weights and optimizer state everywhere, and a random
        stream of its own on every rank (for Dropout and other random layers)."""
        collectives.broadcast_variables(model)
        _branch(backend.random_generator(), self.rank)
        for layer in _all_layers(model.layers):
            for value in vars(layer).values():
                if isinstance(value, np.random.Generator):
                    _branch(value, self.rank)

    # ----------------------------------------------------------------------------- batches
    def shard(self, iterator):
        """Makes `iterator` (an `EpochIterator` of arrays) yield this rank's share of every
        global batch, before it has read any.

        Raises:
            TypeError: the iterator reads a generator or a dataset, not arrays.
            ValueError: the batches or the data are too small to give every rank a sample (a
                rank that never sees a sample could not resolve its metrics).
        """
        adapter = iterator.adapter
        if not isinstance(adapter, data_adapters.ArrayDataAdapter):  # structured ones too
            raise TypeError(
                f"fit and evaluate on {self.size} ranks split arrays between the ranks. "
                f"Received data read by a {type(adapter).__name__}; give each rank its own "
                "shard and train with `train_on_batch` and a DistributedOptimizer.")
        samples = len(adapter.arrays[0])
        if min(adapter.batch_size, samples) < self.size:
            raise ValueError(
                f"On {self.size} ranks the global batch is split between the ranks, so the batch "
                f"size and the number of samples must each be at least {self.size}. Received: "
                f"batch_size={adapter.batch_size} for {samples} samples")
        iterator.adapter = ShardedArrayAdapter(
            adapter, self.rank, self.size, self.shuffle_generator if adapter.shuffle else False)

    # ------------------------------------------------------------------------------- steps
    def apply_gradients(self, optimizer, grads_and_vars, count):
        """One optimizer step on the gradients averaged over the ranks, each weighted by its
        `count` of samples.

        `grads_and_vars` None (with count 0) is a rank without samples in this step (its share
        of a small last batch): it joins the averaging with zeros shaped like its gradients of
        the step before (every rank has samples in the first step of a loop).
        """
        if grads_and_vars is None:
            pairs = [(None if like is None else np.broadcast_to(np.zeros((), like[1]), like[0]),
                      var) for like, var in self._last_gradients]
        else:
            pairs = list(grads_and_vars)
            self._last_gradients = [
                (None if grad is None else (np.shape(grad), np.asarray(grad).dtype), var)
                for grad, var in pairs]
        if isinstance(optimizer, GradientAveraging):  # the user's DistributedOptimizer averages
            return optimizer.apply_gradients(pairs, sample_count=count)
        grads = [None if grad is None else np.asarray(grad) for grad, _ in pairs]
        averaged = self._averager.average(self.comm, grads, count, "fit")
        return optimizer.apply_gradients(zip(averaged, (var for _, var in pairs)))

    def tracker(self, target):
        """A tracker whose logs are the job's (see `ReducedTracker`)."""
        return ReducedTracker(self.comm, target)

    def average_moving_statistics(self, model):
        """Replaces every BatchNormalization's moving mean and variance by their mean over the
        ranks (each rank normalized its own share of the batches)."""
        from fastconv.layers.normalization import BatchNormalization

        arrays = [array for layer in _all_layers(model.layers)
                  if isinstance(layer, BatchNormalization) and layer.moving_mean is not None
                  for array in (layer.moving_mean, layer.moving_variance)]
        if not arrays:
            return
        flat = np.concatenate([np.asarray(array, np.float64).ravel() for array in arrays])
        from mpi4py import MPI

        self.comm.Allreduce(MPI.IN_PLACE, flat, op=MPI.SUM)
        failures.progress()
        flat /= self.size
        start = 0
        for array in arrays:
            array[...] = flat[start:start + array.size].reshape(array.shape)
            start += array.size


class ShardedArrayAdapter(data_adapters.DataAdapter):
    """An array adapter's global batches, each cut to this rank's share.

    A global batch of n samples gives rank r the samples
    `[r * (n // size) + min(r, n % size), ...)`, `n // size` of them plus one for the first
    `n % size` ranks: every rank gets a (possibly empty) share of every batch, so all ranks take
    the same steps. `arrays` stays the whole data, which every rank checks against the model.

    Args:
        adapter: an `ArrayDataAdapter` or `StructuredArrayAdapter`.
        rank, size: this rank and the number of ranks.
        shuffle: False, or the generator (the same on every rank) that orders each pass.
    """

    def __init__(self, adapter, rank, size, shuffle):
        self.arrays = adapter.arrays
        self.batch_size = adapter.batch_size
        self.num_batches = adapter.num_batches
        self.shuffle = shuffle
        self.rank, self.size = rank, size

    def get_iterator(self):
        for index in data_adapters.batch_orders(len(self.arrays[0]), self.batch_size,
                                                self.shuffle):
            if isinstance(index, slice):
                low, high = self._share(index.stop - index.start)
                share = slice(index.start + low, index.start + high)
            else:
                low, high = self._share(len(index))
                share = index[low:high]
            yield tuple(data_adapters.take(array, share) for array in self.arrays)

    def _share(self, n):
        base, extra = divmod(n, self.size)
        low = self.rank * base + min(self.rank, extra)
        return low, low + base + (self.rank < extra)


class ReducedTracker:
    """A `MetricsTracker` whose logs hold the job's results: sums over the ranks.

    This rank's batches update a local copy; `logs()` sums every metric's (total, count) over
    the ranks in one Allreduce and writes the sums into `target` (the tracker the model and the
    callbacks read), so the results equal one process's over the global batches.

    Args:
        comm: the job's communicator.
        target: the `MetricsTracker` to report into.
    """

    def __init__(self, comm, target):
        self.comm = comm
        self.target = target
        self.local = target.detached()
        self._sums = np.zeros((len(target.all), 2))

    @property
    def all(self):
        return self.target.all

    def reset(self):
        self.local.reset()
        self.target.reset()

    def update(self, *batch):
        self.local.update(*batch)

    def logs(self):
        # Every call reduces, also on a rank whose share of the batch was empty: the ranks call
        # logs() at the same points, so they meet in the same Allreduce.
        from mpi4py import MPI

        for row, metric in zip(self._sums, self.local.all):
            mean = _running_mean(metric)
            row[:] = (mean.total, mean.count) if mean is not None else 0
        self.comm.Allreduce(MPI.IN_PLACE, self._sums, op=MPI.SUM)
        failures.progress()
        for (total, count), metric, mine in zip(self._sums, self.target.all, self.local.all):
            if _running_mean(metric) is None:  # an "accuracy" resolved on the local copy only
                vars(metric).update(copy.deepcopy(vars(mine)))
            mean = _running_mean(metric)
            if mean is not None:  # None: no rank has seen a batch (evaluate with steps=0)
                mean.total, mean.count = float(total), float(count)
        return self.target.logs()

    def publish(self, target):
        self.target.publish(target)
