"""How a user-written `call` runs: its arguments, its training mode, its added losses, and
its gradients on the tape.

Built-in layers run their hand-written `forward`/`grad` on a `CallState`. A layer that
overrides `call` (a custom layer, a subclassed model, `Lambda`) is differentiated by the
gradient tape instead:

- in a model, its executor step records `call` on a tape of its own (`tape_forward`) and
  its backward pass asks that tape for dL/dinputs and dL/dweights (`tape_grad`);
- a built-in layer (or a functional/Sequential model) called on traced values inside such a
  `call`, or under a user's `GradientTape`, is recorded as ONE tape node whose gradient is
  its hand-written `grad` (`record_builtin_call`), so it keeps its fused backward pass.

Per-call facts travel in context variables, never on the layers (one model may run in
several threads): the `training` flag a call passes down to the layers it calls (Keras 3's
call context), and the list that `add_loss` appends to.
"""

import contextlib
import contextvars
import functools
import inspect

import numpy as np

from fastconv.autodiff import GradientTape, active_tape, record, stop_recording
from fastconv.autodiff.primitive import plain
from fastconv.autodiff.traced import node_of
from fastconv.layers.call_state import CallState

__all__ = ["call_training", "training_scope", "collect_losses", "add_loss_value",
           "call_signature", "tape_forward", "tape_grad", "record_builtin_call",
           "backward_expected"]

_training = contextvars.ContextVar("fastconv_call_training", default=None)
_added_losses = contextvars.ContextVar("fastconv_added_losses", default=None)
_backward_expected = contextvars.ContextVar("fastconv_backward_expected", default=False)


def call_training():
    """The `training` value of the enclosing layer call (None outside any call)."""
    return _training.get()


@contextlib.contextmanager
def training_scope(training):
    """Layers called inside without an explicit `training` take this one (Keras 3)."""
    token = _training.set(training)
    try:
        yield
    finally:
        _training.reset(token)


class collect_losses:  # (lower case: a context manager, used as a function would be)
    """Collects the values `add_loss` receives inside; `with` gives the list.

    On exit they also join the enclosing collection (as plain arrays), so the training
    loss sees every loss added anywhere in the model. (A class rather than a
    `contextlib.contextmanager` generator: it opens around every training step.)
    """

    __slots__ = ("_outer", "_collected", "_token")

    def __enter__(self):
        self._outer = _added_losses.get()
        self._collected = []
        self._token = _added_losses.set(self._collected)
        return self._collected

    def __exit__(self, *exc_info):
        _added_losses.reset(self._token)
        if self._outer is not None:
            self._outer.extend(plain(value) for value in self._collected)


def add_loss_value(value):
    """Adds `value` to the innermost collection; False when no collection is open."""
    collected = _added_losses.get()
    if collected is None:
        return False
    collected.append(value)
    return True


@contextlib.contextmanager
def expecting_backward():
    """Custom layers called inside record their call on a tape even when not training (a
    built-in model recorded as one node of an outer tape will be asked for its gradient)."""
    token = _backward_expected.set(True)
    try:
        yield
    finally:
        _backward_expected.reset(token)


def backward_expected():
    return _backward_expected.get()


class CallSignature:
    """What a `call` method accepts: `training`, `mask`, any keyword (**kwargs), and the
    default of its `training` argument."""

    def __init__(self, method):
        parameters = inspect.signature(method).parameters
        positional = [name for name, p in parameters.items() if p.kind in (
            inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)]
        # Where `training` falls among the arguments after `self` and the inputs.
        self.training_position = (positional.index("training") - 2
                                  if "training" in positional[2:] else None)
        self.takes_training = "training" in parameters
        self.takes_mask = "mask" in parameters
        self.takes_any_keyword = any(p.kind is inspect.Parameter.VAR_KEYWORD
                                     for p in parameters.values())
        default = parameters["training"].default if self.takes_training else None
        self.training_default = None if default is inspect.Parameter.empty else default


@functools.lru_cache(maxsize=None)
def _signature_of(cls):
    return CallSignature(cls.call)


def call_signature(layer):
    """The `CallSignature` of `type(layer).call` (computed once per class)."""
    return _signature_of(type(layer))


# ----------------------------------------------------------- executor steps
def _watch(tape, inputs):
    if isinstance(inputs, (list, tuple)):
        return type(inputs)(_watch(tape, x) for x in inputs)
    if np.asarray(inputs).dtype.kind != "f":
        return inputs
    return tape.watch(inputs)


def _single_output(layer, outputs):
    if isinstance(outputs, (list, tuple, dict)):
        raise ValueError(
            f"Layer '{layer.name}' returned a {type(outputs).__name__} from `call`; inside a "
            "fastconv model a layer's `call` must return one array (several outputs are not "
            "supported for custom layers and subclassed models).")
    return outputs


def tape_forward(layer, state, inputs, training):
    """The executor's forward step of a layer with a user-written `call`.

    When the step may be asked for gradients (training, or a backward pass expected by an
    enclosing tape), `call` runs on a tape of its own: the inputs watched (when their
    gradient is needed), the Variables as leaves. The tape, the output and the losses the
    call added stay on `state` for `tape_grad`.
    """
    if not (training or backward_expected()):
        with stop_recording(), collect_losses():
            return np.asarray(_single_output(layer, layer._call_in_graph(inputs, training)))
    tape = GradientTape()
    with tape, collect_losses() as added:
        watched = _watch(tape, inputs) if state.needs_input_grad else inputs
        outputs = _single_output(layer, layer._call_in_graph(watched, training))
    state.tape, state.watched, state.outputs, state.added_losses = tape, watched, outputs, added
    layer._losses = [plain(value) for value in layer._losses]  # the tape stays on `state` only
    return np.asarray(plain(outputs))


def tape_grad(layer, state, dy, weights):
    """dL/dinputs of the call `tape_forward` recorded; sets `state.grads` aligned with
    `weights` (the layer's trainable weights; zeros for those the call did not use)."""
    tape = getattr(state, "tape", None)
    if tape is None:
        raise RuntimeError(f"Layer '{layer.name}': its backward pass needs a forward pass in "
                           "training mode first (nothing was recorded).")
    outputs, added = state.outputs, state.added_losses
    sources = [state.watched if state.needs_input_grad else None, list(weights)]
    if added:
        # The added losses join the model's loss with weight 1: d(total)/d(their inputs).
        with tape:
            target = np.sum(outputs * np.asarray(dy)) + sum(np.sum(value) for value in added)
        grads = tape.gradient(target, sources, unconnected_gradients="zero")
    else:
        dy = np.asarray(dy, dtype=np.asarray(outputs).dtype)
        grads = tape.gradient(outputs, sources, output_gradients=dy,
                              unconnected_gradients="zero")
    input_grads, weight_grads = grads
    state.grads = [np.asarray(g, dtype=w.dtype) for g, w in zip(weight_grads, weights)]
    del state.tape, state.outputs, state.added_losses  # the recording is used once
    return input_grads


# ------------------------------------------------- built-in layers on the tape
def _any_traced(inputs, tape):
    if isinstance(inputs, (list, tuple)):
        return any(_any_traced(x, tape) for x in inputs)
    return node_of(inputs, tape) is not None


def records_on(layer, inputs):
    """The recording tape a built-in call on `inputs` must join, or None.

    A call joins the tape when an input is traced on it or when the layer has trainable
    Variables (every recording tape watches Variables)."""
    tape = active_tape()
    if tape is None:
        return None
    if _any_traced(inputs, tape) or layer.trainable_weights:
        return tape
    return None


def record_builtin_call(layer, tape, inputs, training, multiple):
    """Runs a built-in layer's `forward` with the recording stopped and puts ONE node on
    `tape`: its vjp is the layer's hand-written `grad`, giving the inputs' and the trainable
    weights' gradients."""
    inputs = list(inputs) if multiple else [inputs]
    needs_input_grad = any(node_of(x, tape) is not None for x in inputs)
    state = CallState(needs_input_grad=needs_input_grad)
    plain_inputs = [np.asarray(x) for x in inputs]
    with stop_recording(), expecting_backward():
        outputs = layer.forward(state, plain_inputs if multiple else plain_inputs[0], training)
    weights = list(layer.trainable_weights)
    several = isinstance(outputs, (list, tuple))  # a model with several outputs

    def vjp(g):
        if several:
            g = [np.asarray(part, dtype=out.dtype) for part, out in zip(g, outputs)]
        else:
            g = np.asarray(g, dtype=outputs.dtype)
        dx = layer.grad(state, g)
        if not needs_input_grad:
            dx = [None] * len(inputs)
        elif not multiple:
            dx = [dx]
        return tuple(dx) + tuple(state.grads)

    result = record(tape, outputs, inputs + weights, vjp)
    regularizer = getattr(layer, "activity_regularizer", None)
    if regularizer is not None and not several:
        # The layer's activity penalty (over the batch size, as Keras) joins the added
        # losses, differentiated by the regularizer's own `gradient`.
        batch = max(len(outputs), 1) if np.ndim(outputs) else 1
        penalty = np.asarray(regularizer(outputs) / batch, dtype=outputs.dtype)
        grad = np.asarray(regularizer.gradient(outputs), dtype=outputs.dtype) / batch
        add_loss_value(record(tape, penalty, [result], lambda g: (g * grad,)))
    return result
