"""CallState: what one layer keeps between its forward and backward pass, outside the layer.

A layer object holds config and weights only. Everything a call produces for its backward
pass (inputs, outputs, masks, normalization caches), the weight gradients that pass
computes, and the arrays reused from one batch to the next live in a `CallState` that the
caller owns: the executor's run for a model (one per layer per run, so several threads can
run one model), or the layer itself for an eager `layer(x)` followed by `layer.backward(dy)`.
"""

import numpy as np

from fastconv.ops import _aligned

__all__ = ["CallState"]

# Attributes that describe the run, not the batch: `forget_batch` keeps them.
_RUN_ATTRIBUTES = frozenset({"grads", "needs_input_grad", "_buffers"})


class CallState:
    """Per-call state of one layer.

    Layers set whatever their backward pass needs as attributes (`state.inputs = x`).

    Args:
        reuse_buffers: whether `buffer()` hands back the same array batch after batch
            (inside a model's loops, where no result outlives its batch) instead of None
            (let the op allocate a new array, as an eager call must).
        needs_input_grad: whether the backward pass must return dL/dinputs (False for the
            first trainable layer of a model: nothing below it learns).

    Attributes:
        grads: the weight gradients of the last backward pass, aligned with the layer's
            `trainable_weights`.
    """

    def __init__(self, reuse_buffers=False, needs_input_grad=True):
        self.grads = []
        self.needs_input_grad = needs_input_grad
        self._buffers = {} if reuse_buffers else None

    @property
    def reuses_buffers(self):
        """Whether `buffer()` hands back arrays kept from batch to batch."""
        return self._buffers is not None

    def buffer(self, key, shape, dtype):
        """An array to write this batch's `key` result into, or None (let the op allocate).

        With `reuse_buffers` the same array comes back batch after batch, so a training
        step touches no fresh memory (first touch of a page costs a fault).
        """
        buffers = self._buffers
        if buffers is None:
            return None
        buffer = buffers.get(key)
        if buffer is not None and buffer.shape == shape and buffer.dtype is dtype:
            return buffer  # the usual case, tested cheaply first
        shape = tuple(shape)
        if buffer is None or buffer.shape != shape or buffer.dtype != dtype:
            buffer = buffers[key] = _aligned.empty(shape, dtype)
        return buffer

    def forget_batch(self):
        """Drops every reference to the last batch (activations, masks, gradients)."""
        for name in [name for name in vars(self) if name not in _RUN_ATTRIBUTES]:
            delattr(self, name)
        self.grads = []
