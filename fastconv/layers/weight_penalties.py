"""Regularizer penalties and constraints of a layer's weights and outputs (Keras semantics).

The one mechanism behind `kernel_regularizer=`, `activity_regularizer=`, `kernel_constraint=`
and their kin (see the contract in `fastconv/regularizers.py`):

- `register` records, when a layer creates a weight with `add_weight(regularizer=...,
  constraint=...)`, which regularizer and constraint belong to that weight;
- `weight_losses(layer)` is the weight penalties at the weights' current values (Keras computes
  them afresh each time `layer.losses` is read), and `add_weight_gradients` adds their
  derivatives to the gradients handed to the optimizer;
- `record_activity` / `activity_gradient` keep, on the call's `CallState`, the penalty of a
  layer's output (divided by the batch size, as Keras) and add its derivative to dL/doutput;
- `apply_constraints` projects each constrained weight in place after an optimizer step (Keras:
  `variable.assign(constraint(variable))` after `apply`).
"""

import numpy as np

from fastconv import activations, constraints, regularizers

__all__ = [
    "register", "penalized", "weight_losses", "all_weight_losses", "add_weight_gradients", "apply_constraints",
    "record_activity", "activity_loss", "activity_losses", "activity_gradient",
    "activity_gradient_before_activation", "model_penalty", "config_entries",
]


def register(layer, weight, regularizer, constraint):
    """Remembers `weight`'s regularizer and constraint (either may be None) on `layer`."""
    if regularizer is None and constraint is None:
        return
    if "_weight_penalties" not in vars(layer):
        layer._weight_penalties = []
    layer._weight_penalties.append((weight, regularizer, constraint))


def _entries(layer):
    return vars(layer).get("_weight_penalties", ())


def _flat(layers):
    """`layers` with every nested model (anything with its own `layers`) replaced by its
    layers, and every custom layer followed by its sublayers, recursively."""
    for layer in layers:
        inner = getattr(layer, "layers", None)
        if isinstance(inner, list):
            yield from _flat(inner)
        else:
            yield layer
            if layer._runs_user_call():  # built-in layers hold no sublayers
                yield from _flat(layer._sublayers())


def penalized(layers):
    """The layers among `layers` (nested models' and custom layers' sublayers included) that
    have a regularized or constrained weight: a plan finds them once, and the per-step
    functions below then visit only those."""
    return [layer for layer in _flat(layers) if _entries(layer)]


def weight_losses(layer):
    """The penalties of `layer`'s regularized weights, as floats (trainable layers only, as
    Keras: a frozen layer's weights are not regularized)."""
    if not layer.trainable:
        return []
    return [float(regularizer(weight)) for weight, regularizer, _ in _entries(layer)
            if regularizer is not None]


def all_weight_losses(layers):
    """`weight_losses` of every layer in `layers`, nested models' layers included."""
    return [loss for layer in _flat(layers) for loss in weight_losses(layer)]


def add_weight_gradients(penalized_layers, grads_and_vars):
    """`grads_and_vars` with each regularized weight's penalty derivative added to its gradient
    (`penalized_layers` as `penalized` returns them).

    The gradients are new arrays where a penalty applies (a layer's gradient buffers stay its
    own); the others pass through unchanged.
    """
    if not penalized_layers:
        return grads_and_vars
    regularizers = {id(weight): regularizer for layer in penalized_layers if layer.trainable
                    for weight, regularizer, _ in _entries(layer) if regularizer is not None}
    if not regularizers:
        return grads_and_vars
    result = []
    for grad, var in grads_and_vars:
        regularizer = regularizers.get(id(var))
        if regularizer is not None and grad is not None:
            grad = grad + np.asarray(regularizer.gradient(np.asarray(var)), dtype=grad.dtype)
        result.append((grad, var))
    return result


def apply_constraints(penalized_layers):
    """Projects every constrained weight of `penalized_layers` (as `penalized` returns them) in
    place: `w[...] = constraint(w)`."""
    for layer in penalized_layers:
        if not layer.trainable:
            continue
        for weight, _, constraint in _entries(layer):
            if constraint is not None:
                weight[...] = constraint(np.asarray(weight))


def record_activity(layer, state, outputs):
    """Keeps the activity penalty of `outputs` (over the batch size) on `state`, if any."""
    regularizer = getattr(layer, "activity_regularizer", None)
    if regularizer is None:
        return
    batch = max(len(outputs), 1) if np.ndim(outputs) else 1
    state.activity_loss = float(regularizer(outputs)) / batch
    state.activity_outputs, state.activity_batch = outputs, batch


def activity_loss(state):
    """The activity penalty recorded on `state` (0.0 if none)."""
    return getattr(state, "activity_loss", 0.0)


def activity_losses(states):
    """The activity penalties recorded on `states`, in order."""
    return [state.activity_loss for state in states if hasattr(state, "activity_loss")]


def activity_gradient(layer, state, dy):
    """`dy` plus the derivative of the activity penalty recorded on `state` (dy if none)."""
    outputs = getattr(state, "activity_outputs", None)
    if outputs is None:
        return dy
    grad = layer.activity_regularizer.gradient(outputs) / state.activity_batch
    return dy + np.asarray(grad, dtype=np.result_type(dy))


def activity_gradient_before_activation(layer, state, dz):
    """`dz` (a gradient before `layer.activation`) plus the activity penalty's derivative
    carried back through that activation (dz if no penalty was recorded)."""
    outputs = getattr(state, "activity_outputs", None)
    if outputs is None:
        return dz
    grad = layer.activity_regularizer.gradient(outputs) / state.activity_batch
    return dz + activations.backward(layer.activation, np.asarray(grad, dtype=dz.dtype), outputs)


def model_penalty(penalized_layers, states):
    """The regularization term of a model's training loss: the weight penalties of
    `penalized_layers` (as `penalized` returns them) plus the activity penalties recorded on
    `states` (call states of one run that may hold an activity penalty)."""
    if not penalized_layers and not states:
        return 0.0  # (most models: nothing to add, every step)
    total = sum(loss for layer in penalized_layers for loss in weight_losses(layer))
    return total + sum(activity_loss(state) for state in states)


def config_entries(**objects):
    """Config entries `{name: serialized regularizer or constraint, or None}` (Keras's keys)."""
    entries = {}
    for name, value in objects.items():
        if value is None:
            entries[name] = None
        elif isinstance(value, regularizers.Regularizer):
            entries[name] = regularizers.serialize(value)
        else:
            entries[name] = constraints.serialize(value)
    return entries
