"""Functional models: `Model(inputs, outputs)` over any directed acyclic graph of layers.

Calling a layer on a KerasTensor records an edge (the output tensor keeps the
tensors it was computed from). `Functional` walks those edges back from the
output, orders the layers as Keras does (by decreasing depth, i.e. longest
path to the output, ties broken by first visit in a depth-first walk from
the output), and hands that order to the executor as its graph: the executor
runs it forward, and backward in reverse, summing the gradients of a tensor
that feeds several layers.

Each layer appears once in the graph (shared layers, i.e. one layer called at
two places of the same model, are refused), and a model has one input and one
output.
"""

import numpy as np

from fastconv.layers.base import KerasTensor
from fastconv.layers.core import InputLayer
from fastconv.models.model import Model
from fastconv.saving import serialization

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
        self._batch_input_shape = self._input_shape  # a built model fixes a Sequential's input
        self.dtype = self._input_dtype().name  # ... and its dtype
        position = {id(node): index for index, node in enumerate(self._nodes)}
        self._set_graph([(node.layer, tuple(position[id(parent)] for parent in node.parents))
                         for node in self._nodes[1:]])
        self.built = True

    def _input_dtype(self):
        return np.dtype(self.inputs[0].dtype)

    def _output_dtype(self):
        return np.dtype(self.outputs[0].dtype)

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

    # ----------------------------------------------------------------- config
    def get_config(self):
        """The layers in topological order, each with the names of the layers that feed it
        (`inbound_layers`), and the names of the input and output layers."""
        entries = []
        for node in self._nodes:
            entry = serialization.serialize_layer(node.layer)
            entry["name"] = node.layer.name
            entry["inbound_layers"] = [parent.layer.name for parent in node.parents]
            entries.append(entry)
        return {
            "name": self.name,
            "trainable": self.trainable,
            "layers": entries,
            "input_layers": [tensor.layer.name for tensor in self.inputs],
            "output_layers": [tensor.layer.name for tensor in self.outputs],
        }

    @classmethod
    def from_config(cls, config, custom_objects=None):
        """A new functional model from `get_config()`'s output.

        Raises:
            ValueError: unknown layer classes or an inconsistent config.
        """
        entries = config.get("layers")
        _require(isinstance(entries, list), "The functional config needs a 'layers' list.")
        tensors = {}
        for index, entry in enumerate(entries):
            layer = serialization.deserialize_layer(entry, custom_objects)
            inbound = entry.get("inbound_layers", [])
            _require(isinstance(inbound, list) and all(isinstance(n, str) for n in inbound),
                     f"Layer entry {index}: 'inbound_layers' must be a list of layer names.")
            # The entry's name, as Keras: a custom layer's get_config may leave "name" out.
            key = entry.get("name", layer.name)
            _require(key not in tensors, f"Duplicate layer name {key!r:.100}.")
            if isinstance(layer, InputLayer):
                _require(not inbound,
                         f"Input layer {key!r:.100} cannot have inbound layers.")
                tensors[key] = layer.output
                continue
            missing = [name for name in inbound if name not in tensors]
            _require(inbound and not missing,
                     f"Layer {key!r:.100} is fed by unknown or later layers: "
                     f"{missing or inbound}")
            inputs = [tensors[name] for name in inbound]
            tensors[key] = layer(inputs[0] if len(inputs) == 1 else inputs)
        names = {}
        for key in ("input_layers", "output_layers"):
            value = config.get(key)
            _require(isinstance(value, list) and value
                     and all(isinstance(n, str) and n in tensors for n in value),
                     f"'{key}' must be a non-empty list of names of layers in the config. "
                     f"Received: {value!r:.200}")
            names[key] = [tensors[n] for n in value]
        inputs, outputs = names["input_layers"], names["output_layers"]
        trainable = config.get("trainable", True)
        _require(isinstance(trainable, bool), "'trainable' must be true or false.")
        return cls(inputs=inputs[0] if len(inputs) == 1 else inputs,
                   outputs=outputs[0] if len(outputs) == 1 else outputs,
                   name=config.get("name"), trainable=trainable)


def _require(condition, message):
    if not condition:
        raise ValueError(message)


serialization.register_model_class(Functional)
