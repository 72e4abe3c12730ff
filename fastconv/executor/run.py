"""Run: one execution of a plan, owning every per-call state."""

import numpy as np

from fastconv.layers import weight_penalties
from fastconv.layers.call_state import CallState

__all__ = ["Run"]


def _add(total, grad):
    """Two gradients of one value: arrays, or (a model step with several outputs) lists with
    one gradient or None per output."""
    if isinstance(total, list):
        return [g if t is None else t if g is None else t + g for t, g in zip(total, grad)]
    return total + grad


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
        # the states an activity penalty may be recorded on (the model's penalty reads them)
        self.activity_states = [self.states[index] for index in plan.activity_steps]

    def forward(self, x, training, inference=False):
        """The model's output for the batch `x` (a list of outputs for several).

        Args:
            x: the input batch, a list of batches for several inputs (each cast to its
                input's dtype here, batch by batch).
            training: True or False, or None for each layer's own default (Keras 3's rule
                for a model called directly).
            inference: whether no backward pass will follow (predict, evaluate), so that a
                layer may skip writing what only a backward pass would read (`pooled_by`).
        """
        plan = self.plan
        if plan.num_inputs == 1:
            values = [np.asarray(x, dtype=plan.input_dtype)] + [None] * len(plan.steps)
        else:
            values = [np.asarray(array, dtype=dtype) for array, dtype in zip(x, plan.input_dtypes)]
            values += [None] * len(plan.steps)
        computed_pools = set()  # max pool steps whose output the layer before them computed
        for index, (step, state) in enumerate(zip(plan.steps, self.states)):
            if index in computed_pools:
                continue
            layer = step.layer
            if step.multiple_inputs:
                inputs = [values[p] for p in step.parents]
            else:
                inputs = values[step.parents[0]]
            if step.training is not None:  # fixed at the call: `base(x, training=False)`
                mode = step.training
            else:
                mode = layer.training_default if training is None else training
            if inference and step.pooled_by is not None and not mode:  # through the pool (plan.py)
                output = layer.forward_pooled(state, inputs)
                if output is not None:
                    values[plan.steps[step.pooled_by].value] = output
                    computed_pools.add(step.pooled_by)
                    continue
            values[step.value] = layer.forward(state, inputs, mode)
            if step.activity:
                weight_penalties.record_activity(layer, state, values[step.value])
        if len(plan.output_values) == 1:
            return values[plan.output_value]
        return [values[v] for v in plan.output_values]

    def backward(self, output_grad):
        """Runs the backward pass from dL/d(output) (dL/d(logits) when `plan.fused_output`);
        the weight gradients land in the states (see `grads_and_vars`).

        Args:
            output_grad: the output's gradient; a list with one per output (None for an
                output without loss) for several outputs.

        Returns:
            With `plan.input_grad`, dL/dinputs (a list for several inputs; None for an input
            nothing trainable depends on); else None.
        """
        plan, states = self.plan, self.states
        grads = [None] * (plan.num_inputs + len(plan.steps))
        logits = [False] * len(grads)
        if len(plan.output_values) == 1:
            grads[plan.output_value] = output_grad
            logits[plan.output_value] = plan.fused_output
        else:
            for value, grad, fused in zip(plan.output_values, output_grad, plan.fused_outputs):
                if grad is not None:  # a fused output is no other output's value
                    grads[value] = grad if grads[value] is None else grads[value] + grad
                    logits[value] = fused
        takes_pool_gradient = set()  # values whose layer takes the gradient of the pool
        for index, step in plan.backward_steps:
            dy = grads[step.value]
            if dy is None:  # nothing downstream of this step reaches the loss
                states[index].grads = []
                continue
            grads[step.value] = None
            layer, state = step.layer, states[index]
            if step.into_parent:  # the parent's layer may take this pooling's pass (plan.py)
                parent = step.parents[0]
                if plan.steps[parent - plan.num_inputs].layer.takes_max_pool_gradient(
                        states[parent - plan.num_inputs]):
                    grads[parent] = dy
                    takes_pool_gradient.add(parent)
                    continue
            if step.value in takes_pool_gradient:
                layer.grad_through_max_pool(state, dy)
                continue
            if step.activity:
                dy = weight_penalties.activity_gradient(layer, state, dy)
            dx = layer.grad_through_relu(state, dy, logits[step.value]) if step.relu_below else None
            if dx is not None:  # the ReLU ending the parent's layer is done
                logits[step.parents[0]] = True
            elif logits[step.value]:
                dx = layer.grad_logits(state, dy)
            else:
                dx = layer.grad(state, dy)
            if not step.routes:
                continue
            if not step.multiple_inputs:
                dx = (dx,)
            for position, parent in step.routes:
                grad = dx[position]
                if grad is not None:
                    grads[parent] = grad if grads[parent] is None else _add(grads[parent], grad)
        if plan.input_grad:
            return grads[0] if plan.num_inputs == 1 else grads[:plan.num_inputs]
        return None

    def grads_and_vars(self):
        """(gradient, weight) pairs of the last backward pass, in the model's weight order;
        a shared layer's weights once, with the gradients of its calls summed."""
        pairs = []
        for index, weights in self.plan.trainable_steps:
            pairs.extend(zip(self.states[index].grads, weights))
        if not self.plan.shared_weights:
            return pairs
        summed = {}
        for grad, weight in pairs:
            if id(weight) in summed:
                summed[id(weight)] = (summed[id(weight)][0] + grad, weight)
            else:
                summed[id(weight)] = (grad, weight)
        return list(summed.values())

    def forget_batch(self):
        """Drops the references to the last batch (the buffers stay for the next one)."""
        for state in self.states:
            state.forget_batch()
