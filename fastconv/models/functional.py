"""Functional models: `Model(inputs, outputs)` over any directed acyclic graph of layers.

Calling a layer on a KerasTensor records an edge (the output tensor keeps the
tensors it was computed from). `Functional` walks those edges back from the
output, orders the layers as Keras does (by decreasing depth, i.e. longest
path to the output, ties broken by first visit in a depth-first walk from
the output), runs them forward in that order, and backward in reverse,
summing the gradients of a tensor that feeds several layers.

Each layer appears once in the graph (shared layers, i.e. one layer called at
two places of the same model, are refused), and a model has one input and one
output.
"""

import numpy as np

from fastconv.layers.base import KerasTensor
from fastconv.models.model import Model

__all__ = ["Functional"]


def _tensor_list(value, name):
    values = list(value) if isinstance(value, (list, tuple)) else [value]
    if isinstance(value, dict):
        raise ValueError(f"`{name}` as a dict is not supported; pass a KerasTensor.")
    for v in values:
        if not isinstance(v, KerasTensor):
            raise ValueError(
                f"`{name}` must be KerasTensors (from `fastconv.Input` and layer calls). "
                f"Received: {name}={value!r}"
            )
    if len(values) != 1:
        raise ValueError(
            f"fastconv functional models have one input and one output. Received "
            f"{len(values)} tensors for `{name}`."
        )
    return values


def _map_graph(inputs, outputs):
    """The graph's tensors (one per layer), ordered inputs -> outputs as Keras orders them.

    Raises:
        ValueError: disconnected graph, shared layer, or duplicate layer names.
    """
    input_ids = {id(t) for t in inputs}
    visit_index = {}  # id(layer) -> first visit in the depth-first walk from the outputs
    post_order = []   # every reached tensor, parents before children
    done, in_progress = set(), set()

    def visit(tensor):
        if id(tensor) in done:
            return
        if id(tensor) in in_progress:  # impossible through layer calls; kept as a guard
            raise ValueError(f"Tensor {tensor!r} is part of a cycle.")
        visit_index.setdefault(id(tensor.layer), len(visit_index))
        in_progress.add(id(tensor))
        if id(tensor) not in input_ids:
            if not tensor.parents:
                raise ValueError(
                    "Graph disconnected: `outputs` are not connected to `inputs`; cannot reach "
                    f"{tensor!r} (layer '{tensor.layer.name}') from the model's `inputs`. "
                    "Pass the `Input` the outputs were built from."
                )
            for parent in tensor.parents:
                visit(parent)
        in_progress.discard(id(tensor))
        done.add(id(tensor))
        post_order.append(tensor)

    for output in outputs:
        visit(output)

    depth = {}
    for tensor in reversed(post_order):
        d = depth.setdefault(id(tensor), 0)
        if id(tensor) not in input_ids:
            for parent in tensor.parents:
                depth[id(parent)] = max(depth.get(id(parent), 0), d + 1)

    seen_layers = {}
    for tensor in post_order:
        other = seen_layers.setdefault(id(tensor.layer), tensor)
        if other is not tensor:
            raise ValueError(
                f"Layer '{tensor.layer.name}' is used at more than one place in the model; "
                "shared layers are not supported by fastconv. Create one layer per use."
            )
    names = [t.layer.name for t in post_order]
    for name in names:
        if names.count(name) > 1:
            raise ValueError(
                f'The name "{name}" is used {names.count(name)} times in the model. '
                "All layer names should be unique."
            )
    return sorted(post_order, key=lambda t: (-depth[id(t)], visit_index[id(t.layer)]))


class Functional(Model):
    """A model defined by `Model(inputs, outputs)`: the layers between them, as a graph.

    `fastconv.Model(inputs, outputs)` returns an instance of this class; it
    trains, evaluates, predicts, saves its weights and prints its summary as
    any `Model`.

    Args:
        inputs: the KerasTensor from `fastconv.Input(...)` (or a one-element list).
        outputs: the KerasTensor computed from it (or a one-element list).
        name: the model's name (default "functional", made unique).
        trainable: whether `fit` updates the weights.

    Raises:
        ValueError: if `outputs` cannot be computed from `inputs`, a layer is
            used twice, or two layers share a name.

    Example:
        >>> import numpy as np
        >>> from fastconv import layers
        >>> inputs = layers.Input(shape=(4,))
        >>> x = layers.Dense(3, activation="relu")(inputs)
        >>> outputs = layers.Add()([layers.Dense(2)(x), layers.Dense(2)(x)])
        >>> model = Model(inputs, outputs)
        >>> model.predict(np.zeros((5, 4))).shape
        (5, 2)
    """

    def __init__(self, inputs=None, outputs=None, name=None, trainable=True, **kwargs):
        super().__init__(name=name, trainable=trainable, **kwargs)
        if inputs is None or outputs is None:
            raise ValueError("A functional model needs both `inputs` and `outputs`.")
        self.inputs = _tensor_list(inputs, "inputs")
        self.outputs = _tensor_list(outputs, "outputs")
        self._nodes = _map_graph(self.inputs, self.outputs)
        if self._nodes[0] is not self.inputs[0]:
            raise ValueError(f"`outputs` {self.outputs[0]!r} do not depend on `inputs`.")
        self._layers = [node.layer for node in self._nodes]
        self.build(self.inputs[0].shape)

    def build(self, input_shape=None):
        """The layers were built when they were called on the graph's tensors."""
        self._input_shape = (None,) + tuple(self.inputs[0].shape[1:])
        self._output_shape = (None,) + tuple(self.outputs[0].shape[1:])
        self.built = True

    def _cast(self, x):
        return np.asarray(x, dtype=self.inputs[0].dtype)

    def __call__(self, inputs, training=False):
        """Runs the model eagerly on an array batch (calling it on a KerasTensor is not supported)."""
        if isinstance(inputs, KerasTensor) or (
                isinstance(inputs, (list, tuple)) and any(isinstance(x, KerasTensor) for x in inputs)):
            raise NotImplementedError(
                f"Calling model '{self.name}' on a KerasTensor (nesting models) is not "
                "supported by fastconv; call its layers instead."
            )
        return super().__call__(inputs, training=training)

    # ---------------------------------------------------------------- compute
    def _forward(self, x, training):
        values = {id(self.inputs[0]): self._cast(x)}
        for node in self._nodes:
            if not node.parents:
                continue
            args = [values[id(parent)] for parent in node.parents]
            layer = node.layer
            values[id(node)] = layer.call(
                args if getattr(layer, "multiple_inputs", False) else args[0], training=training)
        return values[id(self.outputs[0])]

    def _backward(self, y_true, y_pred, sample_weight):
        if not self.trainable:
            return
        # A tensor needs its gradient when its layer or one upstream has trainable weights.
        active = {}
        for node in self._nodes:
            upstream = any(active[id(parent)] for parent in node.parents)
            node.layer.compute_input_gradient = upstream
            active[id(node)] = upstream or bool(node.layer.trainable_weights)
        output = self.outputs[0]
        if not active[id(output)]:
            return
        if self._fused:
            loss_grad = self.loss.logits_gradient(y_true, y_pred, sample_weight=sample_weight)
        else:
            loss_grad = self.loss.gradient(y_true, y_pred, sample_weight=sample_weight)
        grads = {id(output): self._scaled(loss_grad)}
        for node in reversed(self._nodes):
            if not node.parents or not active[id(node)]:
                continue
            layer = node.layer
            dy = grads.pop(id(node), None)
            if dy is None:  # cannot happen in a graph that ends at the output; kept safe
                dy = np.zeros((len(y_pred),) + tuple(node.shape[1:]), dtype=y_pred.dtype)
            if node is output and self._fused:
                dx = layer.backward_logits(dy)
            else:
                dx = layer.backward(dy)
            if not layer.compute_input_gradient:
                continue
            dxs = dx if getattr(layer, "multiple_inputs", False) else [dx]
            for parent, grad in zip(node.parents, dxs):
                if not active[id(parent)] or grad is None:
                    continue
                key = id(parent)
                grads[key] = grad if key not in grads else grads[key] + grad

    # ---------------------------------------------------------------- summary
    def _summary_connections(self):
        """{layer name: "parent[0][0], ..."} when the graph is not a chain (Keras's
        "Connected to" column), else None."""
        chain = all(len(node.parents) <= 1 for node in self._nodes)
        consumers = {}
        for node in self._nodes:
            for parent in node.parents:
                consumers[id(parent)] = consumers.get(id(parent), 0) + 1
        if chain and all(count == 1 for count in consumers.values()):
            return None
        return {node.layer.name: ", ".join(f"{p.layer.name}[0][0]" for p in node.parents) or "-"
                for node in self._nodes}
