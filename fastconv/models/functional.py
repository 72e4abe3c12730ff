"""Functional models: `Model(inputs, outputs)` over any directed acyclic graph of layers.

Calling a layer on a KerasTensor records an edge (the output tensor keeps the
tensors it was computed from). `Functional` walks those edges back from the
outputs, orders the layer calls as Keras does (by decreasing depth, i.e. longest
path to an output, ties broken by first visit in a depth-first walk from the
outputs), and hands that order to the executor as its graph, the inputs first:
the executor runs it forward, and backward in reverse, summing the gradients of a
tensor that feeds several layers.

Inputs and outputs are one KerasTensor, a list, or a dict (flattened in sorted key
order, as Keras's `tree.flatten`); data for them is matched by position or by name
(the dict keys, else the Input names for inputs and the output layer names for
outputs). A layer called at several places (a shared layer) is one layer with one
set of weights and one executor step per call; the gradients of its calls add up.
A model called on KerasTensors is one such layer; a model with several outputs gives one
tensor per output, all from one call (one executor step, whose outputs `_OutputOf` steps
read).
"""

import numpy as np

from fastconv.layers.base import KerasTensor, Layer
from fastconv.layers.core import InputLayer
from fastconv.models.model import Model
from fastconv.saving import serialization
from fastconv.trainers.data_adapters import (
    DataAdapter,
    as_array,
    class_weights_to_sample_weights,
    split_validation,
)
from fastconv.trainers.data_adapters.structured_data import (
    Columns,
    StructuredArrayAdapter,
    by_name,
    unpack,
)

__all__ = ["Functional"]


def _flatten(value, name):
    """(the KerasTensors of `value` in Keras's flat order, the dict keys or None)."""
    if isinstance(value, dict):
        keys = sorted(value)
        tensors = [value[k] for k in keys]
    else:
        keys = None
        tensors = list(value) if isinstance(value, (list, tuple)) else [value]
    if not tensors:
        raise ValueError(f"`{name}` must hold at least one KerasTensor. Received: {name}={value!r}")
    for tensor in tensors:
        if not isinstance(tensor, KerasTensor):
            raise ValueError(
                f"`{name}` must be KerasTensors (from `fastconv.Input` and layer calls), as one "
                f"tensor, a list or a dict. Received: {name}={value!r}"
            )
    return tensors, keys


def _call_outputs(tensor):
    """The tensors made by the call that made `tensor` (several for a model with several
    outputs), in output order."""
    return getattr(tensor, "call_outputs", None) or [tensor]


class _OutputOf(Layer):
    """One output of a model with several outputs called in the graph: an executor step
    that reads it from the call's list of outputs (not one of the model's layers).

    Args:
        index: the output's position.
    """

    def __init__(self, index):
        super().__init__(name=f"output_of_{index}")
        self.index = index

    def forward(self, state, inputs, training):
        state.count = len(inputs)
        return inputs[self.index]

    def grad(self, state, dy):
        grads = [None] * state.count
        grads[self.index] = dy
        return grads

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[self.index])


def _map_graph(inputs, outputs):
    """The graph's tensors (one per layer call), ordered inputs -> outputs as Keras orders them.

    Raises:
        ValueError: disconnected graph, or two layers with one name.
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

    names = {}
    for tensor in post_order:
        names.setdefault(id(tensor.layer), tensor.layer.name)
    names = list(names.values())
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
        inputs: the KerasTensor from `fastconv.Input(...)`, or a list or dict of them.
        outputs: the KerasTensor computed from them, or a list or dict of them.
        name: the model's name (default "functional", made unique).
        trainable: whether `fit` updates the weights.

    Raises:
        ValueError: if `outputs` cannot be computed from `inputs`, or two layers
            share a name.

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
        self.inputs, self._input_keys = _flatten(inputs, "inputs")
        self.outputs, self._output_keys = _flatten(outputs, "outputs")
        self._inputs_struct = inputs if isinstance(inputs, dict) else (
            list(inputs) if isinstance(inputs, (list, tuple)) else inputs)
        self._outputs_struct = outputs if isinstance(outputs, dict) else (
            list(outputs) if isinstance(outputs, (list, tuple)) else outputs)
        for tensor in self.inputs:
            if not isinstance(tensor.layer, InputLayer):
                raise ValueError(f"`inputs` must be tensors returned by `fastconv.Input`. "
                                 f"Received {tensor!r} (made by layer '{tensor.layer.name}').")
        self._nodes = _map_graph(self.inputs, self.outputs)
        # Keras's node index: which call of its layer, within this model, made a tensor (the
        # tensors of one call of a model with several outputs share it).
        self._node_index, calls = {}, {}
        for tensor in self.inputs + self._nodes:
            if id(tensor) not in self._node_index:
                index = calls.get(id(tensor.layer), 0)
                for t in _call_outputs(tensor):
                    self._node_index[id(t)] = index
                calls[id(tensor.layer)] = index + 1
        reached = {id(node) for node in self._nodes}
        layers = {id(t.layer): t.layer for t in self.inputs if id(t) not in reached}
        layers.update((id(node.layer), node.layer) for node in self._nodes)
        self._layers = list(layers.values())
        self.multiple_inputs = len(self.inputs) > 1
        # Data is matched by position or by name: dict keys, else Input and output layer names.
        self.input_names = [t.layer.name for t in self.inputs]
        self.output_names = [t.layer.name for t in self.outputs]
        self._structured = (len(self.inputs) > 1 or len(self.outputs) > 1
                            or self._input_keys is not None or self._output_keys is not None)
        self.build(None)

    def build(self, input_shape=None):
        """The layers were built when they were called on the graph's tensors."""
        inputs = [(None,) + tuple(t.shape[1:]) for t in self.inputs]
        outputs = [(None,) + tuple(t.shape[1:]) for t in self.outputs]
        self._input_shape = inputs[0] if len(inputs) == 1 else inputs  # Keras: a list for several
        self._output_shape = outputs[0] if len(outputs) == 1 else outputs
        if len(inputs) == 1:  # a built single-input model fixes a Sequential's input
            self._batch_input_shape = self._input_shape
        self.dtype = self._input_dtype().name  # ... and its dtype
        # The executor's graph: the inputs are values 0 .. k - 1, then one step per call; a
        # call of a model with several outputs is one step whose value is their list, and
        # an `_OutputOf` step per output tensor the graph reads.
        position = {id(t): index for index, t in enumerate(self.inputs)}
        graph, fixed, call_values = [], [], {}
        for node in self._nodes:
            if id(node) in position:
                continue
            first = _call_outputs(node)[0]
            if id(first) not in call_values:
                graph.append((node.layer, tuple(position[id(p)] for p in node.parents)))
                fixed.append(getattr(node, "call_training", None))
                call_values[id(first)] = len(self.inputs) + len(graph) - 1
            if hasattr(node, "call_outputs"):
                graph.append((_OutputOf(node.output_index), (call_values[id(first)],)))
                fixed.append(None)
            position[id(node)] = len(self.inputs) + len(graph) - 1
        self._set_graph(graph)
        self._output_values = tuple(position[id(t)] for t in self.outputs)
        self._call_training = tuple(fixed) if any(t is not None for t in fixed) else None
        self.built = True

    @property
    def input(self):
        """The model's inputs as given: one KerasTensor, a list or a dict."""
        return self._inputs_struct

    @property
    def output(self):
        """The model's outputs as given: one KerasTensor, a list or a dict."""
        return self._outputs_struct

    def _input_dtype(self):
        return np.dtype(self.inputs[0].dtype)

    def _input_dtypes(self):
        return [np.dtype(t.dtype) for t in self.inputs]

    def _output_dtype(self):
        return np.dtype(self.outputs[0].dtype)

    # ----------------------------------------------------------- structures
    def _loss_output_names(self):
        """What per-output losses and metrics are keyed and logged by (dict keys, else the
        output layer names); None for one output."""
        if len(self.outputs) == 1:
            return None
        return list(self._output_keys or self.output_names)

    def _flat_inputs(self, x, argument="x"):
        """`x` (one array or KerasTensor, a list, or a dict keyed by input names) as the
        model takes it: one value, or a list in input order."""
        values = by_name(x, self.input_names, argument, keys=self._input_keys or self.input_names,
                         convert=False)
        return values[0] if len(values) == 1 else values

    def _pack_outputs(self, arrays):
        """The executor's outputs (one array or a list) in the structure of `outputs`."""
        if self._output_keys is not None:
            return dict(zip(self._output_keys, arrays if len(self.outputs) > 1 else [arrays]))
        return arrays

    def _check_input(self, x):
        arrays = x if isinstance(x, list) else [x]
        for index, (array, tensor) in enumerate(zip(arrays, self.inputs)):
            expected = (None,) + tuple(tensor.shape[1:])
            if len(expected) != array.ndim or any(
                    e is not None and e != d for e, d in zip(expected[1:], array.shape[1:])):
                raise ValueError(
                    f'Input {index} ("{self.input_names[index]}") of model "{self.name}" is '
                    f"incompatible with the layer: expected shape={expected}, found "
                    f"shape={array.shape}"
                )

    # A model with several inputs or outputs reads lists or dicts: array data becomes
    # `Columns` (batched together by a `StructuredArrayAdapter`), and each batch, from those
    # or from a generator, lists in input and output order (`_structured_batch`).
    def _flat_x(self, x):
        """`x` as one array, or a list of arrays in input order."""
        x = self._flat_inputs(x)
        if isinstance(x, list):
            return [as_array(array, f"x[{name!r}]") for array, name in zip(x, self.input_names)]
        return as_array(x, "x")

    def _flat_targets(self, value, argument):
        """`y` or `sample_weight` as one array (one output), or one array or None per output
        (a single `sample_weight` array weighs every output)."""
        if value is None:
            return None
        names = self._loss_output_names()
        if names is None:
            if isinstance(value, dict):
                value = by_name(value, self.output_names, argument,
                                keys=self._output_keys or self.output_names, convert=False)[0]
            return as_array(value, argument)
        if argument == "y":
            return self._targets_by_output(value, names)
        if not isinstance(value, (list, tuple, dict)):
            return [as_array(value, argument)] * len(names)
        return by_name(value, names, argument, allow_missing=True)

    def _targets_by_output(self, y, names):
        """`y` as one array (or None) per output. As Keras, when only some outputs have a
        loss, a list (or one array) may hold the targets of those outputs only."""
        active = self._compiled_loss.active
        if len(active) < len(names) and not isinstance(y, dict) and (
                not isinstance(y, (list, tuple)) or len(y) == len(active)):
            given = by_name(y, [names[i] for i in active], "y")
            targets = [None] * len(names)
            for i, array in zip(active, given):
                targets[i] = array
            return targets
        return by_name(y, names, "y", allow_missing=True)

    def _structured_batch(self, x, y, sample_weight):
        """One batch as the executor and the losses take it: lists in input and output order
        (a `Columns` batch of array data is that already)."""
        if isinstance(x, Columns) or isinstance(y, Columns):
            return unpack(x), unpack(y), unpack(sample_weight)
        return (self._flat_x(x), self._flat_targets(y, "y"),
                self._flat_targets(sample_weight, "sample_weight"))

    def _check_structured_batch(self, batch, method, need_targets):
        """Checks a generator's first batch against the inputs (and the outputs' losses)."""
        x, y, _ = self._structured_batch(*batch)
        self._check_input(x)
        if need_targets:
            self._check_targets(y, len(x[0] if isinstance(x, list) else x), method)

    def _check_targets(self, y, count, method):
        if self.loss is None:  # trained on `model.losses` (add_loss) alone: no targets needed
            return
        if y is None:
            raise ValueError(f"`{method}` needs targets: pass `y`.")
        if self._loss_output_names() is None:
            self.loss.check_targets(y, (count,) + self._output_shape[1:])
        else:
            self._compiled_loss.check_targets(
                y, [(count,) + tuple(t.shape[1:]) for t in self.outputs])

    def _structured_data(self, x, y, sample_weight, method, need_targets=True):
        """Array data as the loops batch it: `Columns` of the inputs (or one array), of the
        targets and sample weights per output (or one array for one output).

        Raises:
            ValueError: data that does not match the inputs or outputs (named).
        """
        x = self._flat_x(x)
        y = self._flat_targets(y, "y")
        sample_weight = self._flat_targets(sample_weight, "sample_weight")
        parts = [Columns(v) if isinstance(v, list) else v for v in (x, y, sample_weight)]
        sizes = {name: len(value) for name, value in zip(("x", "y", "sample_weight"), parts)
                 if value is not None}
        if len(set(sizes.values())) > 1:
            raise ValueError("Data cardinality is ambiguous. Make sure all arrays contain the "
                             "same number of samples.\n"
                             + "\n".join(f"'{k}' sizes: {v}" for k, v in sizes.items()))
        if sizes["x"] == 0:
            raise ValueError("Expected input data to be non-empty. Received 0 samples.")
        self._check_input(x)
        if need_targets:
            self._check_targets(y, sizes["x"], method)
        return tuple(parts)

    def _structured_adapter(self, x, y, sample_weight, batch_size, method, shuffle=False):
        """Array data (lists or dicts) as one adapter of `Columns` batches."""
        if isinstance(x, DataAdapter):
            return x
        parts = self._structured_data(x, y, sample_weight, method, need_targets=method != "predict")
        return StructuredArrayAdapter(*parts, batch_size=batch_size, shuffle=shuffle)

    def _structured_fit_data(self, x, y, sample_weight, batch_size, shuffle, class_weight,
                             validation_split, validation_data):
        """`fit`'s array data as adapters: (training adapter, None, None, validation data),
        after the validation split and the class weights (on the training part only)."""
        parts = self._structured_data(x, y, sample_weight, "fit")
        if validation_split and validation_data is None:
            parts, val = split_validation(validation_split, *parts)
            validation_data = StructuredArrayAdapter(*val, batch_size=batch_size)
        if class_weight:
            if self._loss_output_names() is not None:
                raise ValueError("`class_weight` is only supported for models with a single "
                                 "output, as in Keras; pass `sample_weight` per output instead.")
            weights = class_weights_to_sample_weights(parts[1], class_weight)
            parts = (parts[0], parts[1], weights if parts[2] is None else parts[2] * weights)
        adapter = StructuredArrayAdapter(*parts, batch_size=batch_size, shuffle=shuffle)
        return adapter, None, None, validation_data

    # ---------------------------------------------------------------- summary
    def _summary_connections(self, chains_too=False):
        """{layer name: "parent[node][0], ..."} (Keras's "Connected to" column) when the
        graph is not a chain or `chains_too`, else None."""
        chain = all(len(node.parents) <= 1 for node in self._nodes)
        consumers = {}
        for node in self._nodes:
            for parent in node.parents:
                consumers[id(parent)] = consumers.get(id(parent), 0) + 1
        if chain and all(count == 1 for count in consumers.values()) and not chains_too:
            return None
        connections, listed = {}, set()
        for node in self._nodes:
            if id(_call_outputs(node)[0]) in listed:
                continue  # another output of a call already listed
            listed.add(id(_call_outputs(node)[0]))
            inbound = ", ".join(f"{p.layer.name}[{self._node_index[id(p)]}]"
                                f"[{getattr(p, 'output_index', 0)}]" for p in node.parents)
            if inbound:
                previous = connections.get(node.layer.name)
                connections[node.layer.name] = f"{previous}, {inbound}" if previous else inbound
        return connections

    # ----------------------------------------------------------------- config
    def get_config(self):
        """Each layer once, in graph order, with `inbound_nodes`: for each of its calls, the
        `[layer name, node index, tensor index]` of the tensors it read (and
        `call_training`, the `training` fixed at each call, when one was); the inputs and
        outputs as such references (and their dict keys, if they were dicts)."""
        entries, listed = {}, set()
        for node in self._nodes:
            if id(_call_outputs(node)[0]) in listed:
                continue  # another output of a call already listed
            listed.add(id(_call_outputs(node)[0]))
            entry = entries.get(id(node.layer))
            if entry is None:
                entry = entries[id(node.layer)] = serialization.serialize_layer(node.layer)
                entry["name"] = node.layer.name
                entry["inbound_nodes"] = []
            if node.parents:
                entry["inbound_nodes"].append([self._reference(p) for p in node.parents])
                training = getattr(node, "call_training", None)
                if training is not None or "call_training" in entry:
                    fixed = entry.setdefault("call_training", [None] * (
                        len(entry["inbound_nodes"]) - 1))
                    fixed.append(training)
        config = {
            "name": self.name,
            "trainable": self.trainable,
            "layers": list(entries.values()),
            "input_layers": [self._reference(t) for t in self.inputs],
            "output_layers": [self._reference(t) for t in self.outputs],
        }
        if self._input_keys is not None:
            config["input_keys"] = list(self._input_keys)
        if self._output_keys is not None:
            config["output_keys"] = list(self._output_keys)
        return config

    def _reference(self, tensor):
        return [tensor.layer.name, self._node_index[id(tensor)],
                getattr(tensor, "output_index", 0)]

    @classmethod
    def from_config(cls, config, custom_objects=None):
        """A new functional model from `get_config()`'s output (or fastconv 0.1's, whose
        layers name their `inbound_layers`).

        Raises:
            ValueError: unknown layer classes or an inconsistent config.
        """
        entries = config.get("layers")
        _require(isinstance(entries, list), "The functional config needs a 'layers' list.")
        calls = {}    # layer name -> the KerasTensors of its calls, in node order
        pending = []  # (layer, its calls' references) of the layers that are not inputs
        for index, entry in enumerate(entries):
            layer = serialization.deserialize_layer(entry, custom_objects)
            # The entry's name, as Keras: a custom layer's get_config may leave "name" out.
            key = entry.get("name", layer.name)
            _require(key not in calls, f"Duplicate layer name {key!r:.100}.")
            calls[key] = []
            if isinstance(layer, InputLayer):
                _require(not entry.get("inbound_nodes") and not entry.get("inbound_layers"),
                         f"Input layer {key!r:.100} cannot have inbound layers.")
                calls[key].append(layer.output)
            else:
                nodes = _inbound_nodes(entry, index)
                training = entry.get("call_training", [None] * len(nodes))
                _require(isinstance(training, list) and len(training) == len(nodes)
                         and all(t is None or isinstance(t, bool) for t in training),
                         f"Layer entry {index}: 'call_training' must hold true, false or null "
                         "per call.")
                pending.append((key, layer, list(zip(nodes, training))))
        # A shared layer's later call may read a layer listed after it: call each layer's
        # next node as soon as the tensors it reads exist, until every node is made.
        while pending:
            waiting = []
            for key, layer, nodes in pending:
                made = calls[key]
                while len(made) < len(nodes) and all(
                        _available(calls, ref) for ref in nodes[len(made)][0]):
                    node, training = nodes[len(made)]
                    inputs = [_resolve(calls, ref, f"Layer {key!r:.100}") for ref in node]
                    inputs = inputs[0] if len(inputs) == 1 else inputs
                    result = (layer(inputs) if training is None else
                              layer(inputs, training=training))
                    # A model with several outputs returns their list (or dict, in flat order).
                    made.append(list(result.values()) if isinstance(result, dict) else result)
                if len(made) < len(nodes):
                    waiting.append((key, layer, nodes))
            _require(len(waiting) < len(pending), "Layers "
                     f"{[key for key, _, _ in waiting][:10]} read unknown tensors or "
                     "each other in a cycle.")
            pending = waiting
        ends = {}
        for key in ("input_layers", "output_layers"):
            value = config.get(key)
            _require(isinstance(value, list) and value,
                     f"'{key}' must be a non-empty list of layer references. "
                     f"Received: {value!r:.200}")
            ends[key] = [_resolve(calls, ref, f"'{key}'") for ref in value]
        structures = []
        for key, tensors in (("input_keys", ends["input_layers"]),
                             ("output_keys", ends["output_layers"])):
            keys = config.get(key)
            if keys is None:
                structures.append(tensors[0] if len(tensors) == 1 else tensors)
                continue
            _require(isinstance(keys, list) and len(keys) == len(tensors)
                     and all(isinstance(k, str) for k in keys),
                     f"'{key}' must be a list of {len(tensors)} strings. Received: {keys!r:.200}")
            structures.append(dict(zip(keys, tensors)))
        trainable = config.get("trainable", True)
        _require(isinstance(trainable, bool), "'trainable' must be true or false.")
        return cls(inputs=structures[0], outputs=structures[1], name=config.get("name"),
                   trainable=trainable)


def _inbound_nodes(entry, index):
    """The entry's calls, each a list of `[layer name, node index, tensor index]` references."""
    if "inbound_nodes" in entry:
        nodes = entry["inbound_nodes"]
        _require(isinstance(nodes, list) and nodes and all(
            isinstance(node, list) and node for node in nodes),
            f"Layer entry {index}: 'inbound_nodes' must be a non-empty list of calls.")
        return nodes
    inbound = entry.get("inbound_layers")  # fastconv 0.1: one call, by layer names
    _require(isinstance(inbound, list) and inbound and all(isinstance(n, str) for n in inbound),
             f"Layer entry {index}: 'inbound_layers' must be a list of layer names.")
    return [[[name, 0, 0] for name in inbound]]


def _available(calls, reference):
    """Whether the tensor a well-formed reference means exists yet (malformed: True, so
    `_resolve` reports it)."""
    if isinstance(reference, str):
        reference = [reference, 0, 0]
    if not (isinstance(reference, list) and len(reference) == 3
            and isinstance(reference[1], int) and reference[0] in calls):
        return True
    return reference[1] < len(calls[reference[0]])


def _resolve(calls, reference, where):
    """The KerasTensor a `[layer name, node index, tensor index]` reference (or a bare name)
    means (the tensor index picks an output of a model with several)."""
    if isinstance(reference, str):
        reference = [reference, 0, 0]
    _require(isinstance(reference, list) and len(reference) == 3
             and isinstance(reference[0], str)
             and all(isinstance(i, int) and not isinstance(i, bool) for i in reference[1:]),
             f"{where}: a tensor reference must be [layer name, node index, tensor index]. "
             f"Received: {reference!r:.200}")
    name, node, index = reference
    tensors = calls.get(name, [])
    _require(0 <= node < len(tensors),
             f"{where} reads {name!r:.100} call {node}, which is unknown or comes later.")
    made = tensors[node]
    outputs = made if isinstance(made, list) else [made]
    _require(0 <= index < len(outputs),
             f"{where} reads output {index} of {name!r:.100} call {node}, which has "
             f"{len(outputs)}.")
    return outputs[index]


def _require(condition, message):
    if not condition:
        raise ValueError(message)


serialization.register_model_class(Functional)
