"""Plan: what to run, in which order, and which passes to fuse, for one input signature.

A model describes itself as a graph (`model._graph`): a list of `(layer, parents)` in
execution order, where `parents` index the values computed so far (value 0 is the model's
input, value i + 1 the output of step i). Sequential models are chains; functional models
any DAG. From that the plan decides, once:

- which values need a gradient (their layer or one upstream has trainable weights), so the
  backward pass skips everything below the first trainable layer;
- whether the output layer's softmax/sigmoid is fused with the loss's crossentropy
  (`grad_logits` with `loss.logits_gradient`);
- where a ReLU at the end of a layer (Conv2D/Dense with activation="relu") is fused into the
  backward pass of the max pooling that reads it (one pass masks both), for Sequential and
  functional models alike;
- the (gradient, weight) pairs handed to the optimizer, in the model's weight order.
"""

import threading

from fastconv import activations, losses
from fastconv.layers.base import Layer

__all__ = ["Plan", "plan_for"]

# (loss class, activation) pairs whose gradient w.r.t. the logits the loss computes directly.
_FUSABLE = (
    (losses.SparseCategoricalCrossentropy, activations.softmax),
    (losses.CategoricalCrossentropy, activations.softmax),
    (losses.BinaryCrossentropy, activations.sigmoid),
)


def fuses_with_loss(layer, loss):
    """Whether `loss`'s logits gradient can replace `layer`'s final activation's gradient."""
    if loss is None or getattr(loss, "from_logits", True) or not layer.has_fused_output_activation:
        return False
    activation = getattr(layer, "activation", None)
    return any(isinstance(loss, cls) and activation is act for cls, act in _FUSABLE)


def _ends_in_relu(layer):
    """Whether `layer`'s output is a plain ReLU of what its `grad_logits` takes."""
    return getattr(layer, "activation", None) is activations.relu and \
        layer.has_fused_output_activation


def _fuses_relu_below(layer):
    return type(layer).grad_through_relu is not Layer.grad_through_relu


class Step:
    """One layer call of the plan.

    Attributes:
        layer: the layer.
        parents: indices of the values it reads (value 0 is the model input).
        value: the index of the value it writes.
        multiple_inputs: whether the layer takes a list (merge layers).
        active: whether its output needs a gradient in the backward pass.
        needs_input_grad: whether its backward pass must return dL/dinputs.
        relu_below: whether its backward pass also takes the ReLU ending its parent's layer
            (`grad_through_relu`), the parent then receiving a pre-activation gradient.
        routes: `(position in the input gradients, parent value)` of the parents that
            need the gradient (not the model input, not a branch with nothing to train).
    """

    __slots__ = ("layer", "parents", "value", "multiple_inputs", "active", "needs_input_grad",
                 "relu_below", "routes")

    def __init__(self, layer, parents, value):
        self.layer = layer
        self.parents = tuple(parents)
        self.value = value
        self.multiple_inputs = bool(getattr(layer, "multiple_inputs", False))
        self.active = False
        self.needs_input_grad = False
        self.relu_below = False
        self.routes = ()


class Plan:
    """The steps of one model for one input signature (see the module docstring).

    Args:
        graph: `[(layer, parents), ...]` in execution order.
        input_dtype: the dtype inputs are cast to.
        trainable: whether the model as a whole is trainable.
        loss: the compiled loss (or None), for the output fusion.

    Attributes:
        steps: the `Step`s in execution order.
        backward_steps: `(index, step)` of the active steps, last first.
        output_value: the index of the model's output value.
        fused_output: whether the last step's backward starts from the loss's logits gradient.
        trainable_steps: `(step index, trainable weights)` of the layers the optimizer updates.
    """

    def __init__(self, graph, input_dtype, trainable, loss):
        self.input_dtype = input_dtype
        self.steps = [Step(layer, parents, i + 1) for i, (layer, parents) in enumerate(graph)]
        self.output_value = len(self.steps)
        active = [False] * (len(self.steps) + 1)
        consumers = [0] * (len(self.steps) + 1)
        self.trainable_steps = []
        for index, step in enumerate(self.steps):
            weights = step.layer.trainable_weights if trainable else []
            if weights:
                self.trainable_steps.append((index, weights))
            step.routes = tuple((position, parent) for position, parent in enumerate(step.parents)
                                if active[parent])
            step.needs_input_grad = bool(step.routes)
            step.active = active[step.value] = step.needs_input_grad or bool(weights)
            for parent in step.parents:
                consumers[parent] += 1
        self.backward_steps = [(index, step) for index, step in enumerate(self.steps)
                               if step.active][::-1]
        for step in self.steps:
            if (_fuses_relu_below(step.layer) and step.needs_input_grad
                    and len(step.parents) == 1 and step.parents[0] > 0):
                parent = self.steps[step.parents[0] - 1]
                # Only the sole reader of the ReLU's output may take its gradient pass, and
                # an activity penalty needs the gradient of the ReLU's output itself.
                step.relu_below = (_ends_in_relu(parent.layer) and consumers[parent.value] == 1
                                   and getattr(parent.layer, "activity_regularizer", None) is None)
        last = self.steps[-1].layer if self.steps else None
        self.fused_output = (last is not None and fuses_with_loss(last, loss)
                             and getattr(last, "activity_regularizer", None) is None)


_plans_lock = threading.Lock()


def plan_for(model, signature, loss):
    """The model's plan for inputs of `signature` (sample shape, dtype), built once.

    The plans live on the model (cleared when it is rebuilt) under a key that also holds the
    trainable flags of the model and its layers and the loss, so freezing a layer or
    recompiling takes effect at the next call.
    """
    trainable = model.trainable
    key = (signature, trainable, tuple(layer.trainable for layer, _ in model._graph),
           loss)
    plans = model._plans
    plan = plans.get(key)
    if plan is None:
        with _plans_lock:
            plan = plans.get(key)
            if plan is None:
                plan = plans[key] = Plan(model._graph, model._input_dtype(), trainable, loss)
    return plan
