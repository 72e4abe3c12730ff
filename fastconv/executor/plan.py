"""Plan: what to run, in which order, and which passes to fuse, for one input signature.

A model describes itself as a graph (`model._graph`): a list of `(layer, parents)` in
execution order, where `parents` index the values computed so far (values 0 .. k - 1 are
the model's k inputs, value k + i the output of step i), and the values it returns
(`model._output_values`, by default the last one). Sequential models are chains;
functional models any DAG; a layer called at several places (a shared layer, or a nested
model) is one step per call. From that the plan decides, once:

- which values need a gradient (their layer or one upstream has trainable weights, or the
  caller wants the gradient of the inputs: a model nested in another one), so the
  backward pass skips everything below the first trainable layer;
- whether an output layer's softmax/sigmoid is fused with its loss's crossentropy
  (`grad_logits` with `loss.logits_gradient`);
- where a ReLU at the end of a layer (Conv2D/Dense with activation="relu") is fused into the
  backward pass of the max pooling or Conv2D that reads it (the pooling's pass masks both, the
  conv's input gradient is masked as it is written), for Sequential and functional models alike;
- where such a max pooling (2 x 2, stride 2, valid) hands its gradient straight to the weight
  gradient of the Conv2D below it, when nothing below that conv learns (a first layer): the
  conv output's gradient is then never written (`Conv2D.grad_through_max_pool`);
- where a Conv2D read only by such a max pooling computes that pooling's output in inference
  (`Run.forward(..., inference=True)`: predict, evaluate; `Conv2D.forward_pooled`): the conv
  output is then never written;
- the (gradient, weight) pairs handed to the optimizer, in the model's weight order (the
  gradients of a shared layer's calls summed).
"""

import threading

from fastconv import activations, losses
from fastconv.layers import weight_penalties
from fastconv.layers.base import Layer
from fastconv.layers.pooling import MaxPooling2D

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


def _has_activity_penalty(layer):
    return getattr(layer, "activity_regularizer", None) is not None


def _fuses_relu_below(layer):
    return type(layer).grad_through_relu is not Layer.grad_through_relu


def _plain_2x2_max_pool(step):
    """Whether `step` is a 2 x 2, stride-2, valid, NHWC MaxPooling2D without an activity
    penalty: the pooling the conv kernels can take over (its windows are whole, disjoint)."""
    pool = step.layer
    return (type(pool) is MaxPooling2D and pool.pool_size == (2, 2) and pool.strides == (2, 2)
            and pool.padding == "valid" and pool.data_format == "channels_last"
            and not step.activity)


class Step:
    """One layer call of the plan.

    Attributes:
        layer: the layer.
        parents: indices of the values it reads (the first `num_inputs` are the model's inputs).
        value: the index of the value it writes.
        multiple_inputs: whether the layer takes a list (merge layers).
        active: whether its output needs a gradient in the backward pass.
        needs_input_grad: whether its backward pass must return dL/dinputs.
        training: the `training` value fixed at this call (`model(x, training=False)` in a
            functional graph), or None to follow the run's.
        activity: whether its layer has an activity regularizer (a penalty on its output).
        relu_below: whether its backward pass also takes the ReLU ending its parent's layer
            (`grad_through_relu`), the parent then receiving a pre-activation gradient.
        into_parent: whether its parent's layer may take this max pooling's gradient into its
            weight gradient in place of this step's pass (when its `takes_max_pool_gradient`).
        pooled_by: the index of the max pooling step whose output this step's layer may compute
            in inference (no backward pass to follow) in place of its own (`forward_pooled`), or
            None.
        routes: `(position in the input gradients, parent value)` of the parents that
            need the gradient (not a model input unless `input_grad`, not a branch with
            nothing to train).
    """

    __slots__ = ("layer", "parents", "value", "training", "multiple_inputs", "activity",
                 "active", "needs_input_grad", "relu_below", "into_parent", "pooled_by",
                 "routes")

    def __init__(self, layer, parents, value, training=None):
        self.layer = layer
        self.parents = tuple(parents)
        self.value = value
        self.training = training
        self.multiple_inputs = bool(getattr(layer, "multiple_inputs", False))
        self.activity = _has_activity_penalty(layer)
        self.active = False
        self.needs_input_grad = False
        self.relu_below = False
        self.into_parent = False
        self.pooled_by = None
        self.routes = ()


class Plan:
    """The steps of one model for one input signature (see the module docstring).

    Args:
        graph: `[(layer, parents), ...]` in execution order.
        input_dtypes: the dtypes the inputs are cast to, one per input.
        trainable: whether the model as a whole is trainable.
        losses: the compiled loss of each output (None entries where an output has none),
            for the output fusion.
        output_values: the indices of the values the model returns (default: the last).
        input_grad: whether the backward pass returns the gradient of the inputs.
        call_training: per step, the `training` value fixed at that call or None (default:
            None for every step).

    Attributes:
        steps: the `Step`s in execution order.
        num_inputs: the number of model inputs (values 0 .. num_inputs - 1).
        backward_steps: `(index, step)` of the active steps, last first.
        output_values: the indices of the returned values; `output_value` the first.
        fused_outputs: per output, whether the backward pass starts from the loss's logits
            gradient of its layer; `fused_output` the first.
        trainable_steps: `(step index, trainable weights)` of the layers the optimizer updates.
        shared_weights: whether a layer with trainable weights runs at several steps (their
            gradients are then summed per weight).
        penalized_layers: the layers with regularized or constrained weights (nested and
            custom layers' sublayers included), for the trainer's per-step penalties.
        activity_steps: the indices of the steps whose call state may hold an activity
            penalty: a layer with an activity regularizer, or a nested model (its layers').
    """

    def __init__(self, graph, input_dtypes, trainable, losses, output_values=None,
                 input_grad=False, call_training=None):
        self.input_dtypes = tuple(input_dtypes)
        self.input_dtype = self.input_dtypes[0]
        self.num_inputs = len(self.input_dtypes)
        self.input_grad = input_grad
        first = self.num_inputs
        call_training = call_training or (None,) * len(graph)
        self.steps = [Step(layer, parents, first + i, training) for i, ((layer, parents), training)
                      in enumerate(zip(graph, call_training))]
        num_values = first + len(self.steps)
        self.output_values = tuple(output_values or (num_values - 1,))
        self.output_value = self.output_values[0]
        active = [input_grad] * first + [False] * len(self.steps)
        consumers = [0] * num_values
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
        trained = [id(self.steps[index].layer) for index, _ in self.trainable_steps]
        self.shared_weights = len(set(trained)) < len(trained)
        self.backward_steps = [(index, step) for index, step in enumerate(self.steps)
                               if step.active][::-1]

        def read_once(parent):
            """Whether one step alone reads `parent`'s output, which is no model output and has
            no activity penalty: that step's pass may then stand in for work on the output."""
            return (consumers[parent.value] == 1 and parent.value not in self.output_values
                    and not parent.activity)

        for index, step in enumerate(self.steps):
            if len(step.parents) != 1 or step.parents[0] < first:
                continue
            parent = self.steps[step.parents[0] - first]
            # The gradient of a ReLU's output meets nothing else (a model output's loss
            # gradient, an activity penalty's) when its reader takes the ReLU's pass.
            step.relu_below = (_fuses_relu_below(step.layer) and step.needs_input_grad
                               and _ends_in_relu(parent.layer) and read_once(parent))
            step.into_parent = (step.relu_below and not parent.needs_input_grad
                                and _plain_2x2_max_pool(step)
                                and hasattr(parent.layer, "takes_max_pool_gradient"))
            # in inference, the conv output the pool alone reads need not exist
            if (_plain_2x2_max_pool(step) and read_once(parent)
                    and hasattr(parent.layer, "forward_pooled")):
                parent.pooled_by = index
        # An output's gradient may start from its loss's logits gradient only when nothing
        # else adds to that output's gradient (no layer reads it, no other output is it, no
        # activity penalty of its layer).
        self.fused_outputs = tuple(
            value >= first and consumers[value] == 0 and self.output_values.count(value) == 1
            and fuses_with_loss(self.steps[value - first].layer, loss)
            and not self.steps[value - first].activity
            for value, loss in zip(self.output_values, losses))
        self.fused_output = self.fused_outputs[0]
        self.penalized_layers = weight_penalties.penalized(layer for layer, _ in graph)
        self.activity_steps = tuple(
            index for index, step in enumerate(self.steps)
            if step.activity or getattr(step.layer, "_graph", None) is not None)


_plans_lock = threading.Lock()


def _trainable_key(layer):
    """The trainable flags a plan depends on: the layer's, and a nested model's layers'."""
    graph = getattr(layer, "_graph", None)
    if graph is None:
        if layer._runs_user_call():  # its sublayers' and Variables' flags count too
            return tuple(map(id, layer.trainable_weights))
        return layer.trainable
    return layer.trainable, tuple(_trainable_key(inner) for inner, _ in graph)


def plan_for(model, signature, loss, input_grad=False):
    """The model's plan for inputs of `signature` (sample shape, dtype), built once.

    The plans live on the model (cleared when it is rebuilt) under a key that also holds the
    trainable flags of the model and its layers (nested models' included), which layers have
    an activity regularizer, the loss and `input_grad`, so freezing a layer, giving one an
    activity regularizer or recompiling takes effect at the next call.

    Args:
        model: the model (its `_graph`, `_output_values`, `_call_training`,
            `_input_dtypes()`).
        signature: `(sample shape, dtype)`, a tuple of them for several inputs.
        loss: the compiled loss, a tuple of one per output for several outputs, or None.
        input_grad: whether the plan's backward pass returns the inputs' gradient.
    """
    key = (signature, _trainable_key(model),
           tuple(_has_activity_penalty(layer) for layer, _ in model._graph), loss, input_grad)
    plans = model._plans
    plan = plans.get(key)
    if plan is None:
        with _plans_lock:
            plan = plans.get(key)
            if plan is None:
                outputs = model._output_values
                losses = loss if isinstance(loss, tuple) else (loss,) * len(outputs or (0,))
                plan = plans[key] = Plan(model._graph, model._input_dtypes(), model.trainable,
                                         losses, outputs, input_grad, model._call_training)
    return plan
