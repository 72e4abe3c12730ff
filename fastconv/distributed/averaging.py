"""Count-weighted gradient averaging over the ranks: one Allreduce of one flat buffer per step.

`DistributedOptimizer` (hand-written loops, `train_on_batch`) and the data-parallel `fit` both
average through a `GradientAverager`, so the two paths compute the same step.
"""

import numpy as np

from fastconv.distributed import collectives, failures


class GradientAverager:
    """Computes `sum(n_r * g_r) / sum(n_r)` over ranks r, for a list of gradient arrays.

    The gradients are copied (scaled by this rank's count n_r) into one preallocated flat
    buffer per dtype whose last element carries n_r, so the counts travel in the same
    message. The buffers and the views shaped like each gradient are built at the first call
    and again only when the gradients' shapes change; the ranks' shapes are compared then.
    """

    def __init__(self):
        self._signature = None
        self._buffers = []   # (flat buffer, [(gradient index, view into the buffer)])
        self._views = []     # per gradient: its view into a buffer, or None

    def average(self, comm, grads, weight, caller):
        """The averaged gradients, as views into the buffers (valid until the next call).

        Args:
            comm: the job's communicator.
            grads: NumPy arrays (or None for a missing gradient), the same shapes on every rank.
            weight: this rank's sample count n_r (0: it contributes nothing, even NaN).
            caller: the name error messages start with.

        Raises:
            ValueError: the ranks' gradients differ in shape or dtype, or every count is 0.
            TypeError: a gradient is not a float array.
        """
        from mpi4py import MPI

        signature = [None if grad is None else (grad.shape, grad.dtype) for grad in grads]
        if signature != self._signature:
            self._build(comm, grads, signature, caller)
        for buffer, segments in self._buffers:
            for index, view in segments:
                if weight == 0:  # an empty shard's gradient may be NaN; 0 * NaN would spread it
                    view.fill(0)
                else:
                    np.multiply(grads[index], weight, out=view)
            buffer[-1] = weight
            comm.Allreduce(MPI.IN_PLACE, buffer, op=MPI.SUM)
            total = buffer[-1]
            if total == 0:
                raise ValueError(f"{caller}: the sample count is 0 on every rank, so there is no "
                                 "gradient to average.")
            np.divide(buffer[:-1], total, out=buffer[:-1])
        failures.progress()
        return self._views

    def _build(self, comm, grads, signature, caller):
        present = [grad for grad in grads if grad is not None]
        collectives.check_same_on_every_rank(comm, caller, present)
        for i, grad in enumerate(present):
            if grad.dtype.kind != "f":
                raise TypeError(f"{caller}: gradient {i} must be a float array. "
                                f"Received: dtype={grad.dtype}")
        views = [None] * len(grads)
        buffers = []
        for dtype in dict.fromkeys(grad.dtype for grad in present):
            indices = [i for i, grad in enumerate(grads)
                       if grad is not None and grad.dtype == dtype]
            buffer = np.empty(sum(grads[i].size for i in indices) + 1, dtype)
            segments, start = [], 0
            for i in indices:
                views[i] = buffer[start:start + grads[i].size].reshape(grads[i].shape)
                segments.append((i, views[i]))
                start += grads[i].size
            buffers.append((buffer, segments))
        self._buffers, self._views, self._signature = buffers, views, signature
