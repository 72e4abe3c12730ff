"""Run: one execution of a plan, owning every per-call state."""

import numpy as np

from fastconv.layers import weight_penalties
from fastconv.layers.call_state import CallState

__all__ = ["Run"]


class Run:
    """Executes a `Plan`: forward, backward, and the (gradient, weight) pairs.

    A run holds one `CallState` per step: the activations kept for the backward pass, the
    weight gradients, and (with `reuse_buffers`) the arrays each layer writes its results
    into batch after batch. Nothing goes on the layers, so runs of one model in different
    threads do not see each other. A run is used by one thread at a time.

    Args:
        plan: the `Plan` to execute.
        reuse_buffers: whether layers write into the same arrays batch after batch (the
            model's loops, whose results never outlive a batch) or into new ones (eager
            calls, whose results the caller keeps).
    """

    def __init__(self, plan, reuse_buffers=False):
        self.plan = plan
        self.states = [CallState(reuse_buffers, step.needs_input_grad) for step in plan.steps]

    def forward(self, x, training):
        """The model's output for the batch `x`.

        Args:
            x: the input batch (cast to the model's input dtype here, batch by batch).
            training: True or False, or None for each layer's own default (Keras 3's rule
                for a model called directly).
        """
        values = [np.asarray(x, dtype=self.plan.input_dtype)] + [None] * len(self.plan.steps)
        for step, state in zip(self.plan.steps, self.states):
            layer = step.layer
            if step.multiple_inputs:
                inputs = [values[p] for p in step.parents]
            else:
                inputs = values[step.parents[0]]
            values[step.value] = layer.forward(
                state, inputs, layer.training_default if training is None else training)
            weight_penalties.record_activity(layer, state, values[step.value])
        return values[self.plan.output_value]

    def backward(self, output_grad):
        """Runs the backward pass from dL/d(output) (dL/d(logits) when `plan.fused_output`);
        the weight gradients land in the states (see `grads_and_vars`)."""
        plan, states = self.plan, self.states
        grads = [None] * (len(plan.steps) + 1)
        logits = [False] * (len(plan.steps) + 1)
        grads[plan.output_value] = output_grad
        logits[plan.output_value] = plan.fused_output
        for index, step in plan.backward_steps:
            dy = grads[step.value]
            if dy is None:  # nothing downstream of this step reaches the loss
                continue
            grads[step.value] = None
            layer, state = step.layer, states[index]
            dy = weight_penalties.activity_gradient(layer, state, dy)
            if logits[step.value]:
                dx = layer.grad_logits(state, dy)
            elif step.relu_below and (dx := layer.grad_through_relu(state, dy)) is not None:
                logits[step.parents[0]] = True
            else:
                dx = layer.grad(state, dy)
            if not step.routes:
                continue
            if not step.multiple_inputs:
                dx = (dx,)
            for position, parent in step.routes:
                grad = dx[position]
                if grad is not None:
                    grads[parent] = grad if grads[parent] is None else grads[parent] + grad

    def grads_and_vars(self):
        """(gradient, weight) pairs of the last backward pass, in the model's weight order."""
        pairs = []
        for index, weights in self.plan.trainable_steps:
            pairs.extend(zip(self.states[index].grads, weights))
        return pairs

    def forget_batch(self):
        """Drops the references to the last batch (the buffers stay for the next one)."""
        for state in self.states:
            state.forget_batch()
