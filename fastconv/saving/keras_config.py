"""Model and compile configs in Keras 3's serialization layout, both ways.

Keras 3 writes every object as `{"module", "class_name", "config",
"registered_name"}` (layers add "build_config"; functional layers add "name" and
"inbound_nodes"; the model adds "compile_config"). Going out, fastconv's own
configs (`get_config`) are wrapped in that layout; coming in, a Keras config is
translated to fastconv's config and built by `serialization.deserialize_model`,
the same checked path that loads fastconv's own files. Class names resolve only
through fastconv's registries and the caller's custom objects; a Keras-only
config key is dropped only when it holds Keras's "off" value (`keras_names`).
"""

import inspect

from fastconv.layers.core import InputLayer
from fastconv.saving import keras_names, serialization
from fastconv.saving.object_registration import custom_objects_in_scope, get_registered_name

__all__ = ["tensor_specs", "model_to_keras", "model_from_keras", "compile_to_keras",
           "compile_from_keras", "training_config_to_compile"]

_NESTED_MODULES = {"_initializer": "keras.initializers", "_regularizer": "keras.regularizers",
                   "_constraint": "keras.constraints"}
_MODEL_CLASSES = ("Sequential", "Functional", "Model")


def _require(condition, message):
    if not condition:
        raise ValueError(message)


# --------------------------------------------------------------------------- out
def _dtype_policy(name):
    return {"module": "keras", "class_name": "DTypePolicy", "config": {"name": name},
            "registered_name": None}


def _keras_object(module, entry):
    return {"module": module, "class_name": entry["class_name"], "config": entry["config"],
            "registered_name": None}


def _layer_config_out(config, is_input):
    out = {}
    for key, value in config.items():
        if key == "dtype" and isinstance(value, str) and not is_input:
            value = _dtype_policy(value)
        elif isinstance(value, dict) and "class_name" in value and "module" not in value:
            module = next((m for suffix, m in _NESTED_MODULES.items() if key.endswith(suffix)),
                          None)
            if module is not None:
                value = _keras_object(module, value)
        elif isinstance(value, tuple):
            value = list(value)
        out[key] = value
    return out


def _layer_out(layer, entry, input_shape, legacy):
    """A layer (or nested model) entry in Keras's layout; `layer` is None for a
    Sequential's InputLayer (its `layers` do not list it)."""
    if layer is not None and serialization.is_model(layer):
        out = _model_out(layer, legacy)
    else:
        cls = InputLayer if layer is None else type(layer)
        from fastconv import layers as builtin
        if getattr(builtin, cls.__name__, None) is cls:
            module, class_name, registered = ("keras.layers", keras_names.keras_class_name(
                cls.__name__), None)
        else:
            module, class_name, registered = cls.__module__, cls.__name__, \
                get_registered_name(cls)
        config = {key: value for key, value in entry["config"].items()
                  if key not in keras_names.not_in_keras(cls.__name__)}
        out = {"module": module, "class_name": class_name,
               "config": _layer_config_out(config, cls is InputLayer),
               "registered_name": registered}
    if legacy:  # the legacy layout names a custom class by its registered name alone
        return {"class_name": out.get("registered_name") or out["class_name"],
                "config": out["config"]}
    if input_shape is not None:
        out["build_config"] = {"input_shape": _shape_json(input_shape)}
    return out


def _shape_json(shape):
    if isinstance(shape, list):
        return [_shape_json(s) for s in shape]
    return list(shape)


def _dtype_name(dtype):
    import numpy as np
    return np.dtype(dtype).name


def tensor_specs(model):
    """`{(layer name, node index, tensor index): (shape, dtype name)}` of every tensor in
    the model's graph (a Sequential: each layer's output, the InputLayer's included)."""
    if type(model).__name__ == "Sequential":
        entries = model.get_config()["layers"]
        by_name = {layer.name: layer for layer in model.layers}
        specs, shape = {}, None
        for entry in entries:
            name = entry["config"]["name"]
            if entry["class_name"] == "InputLayer":
                shape, dtype = tuple(entry["config"]["batch_shape"]), entry["config"]["dtype"]
            else:
                layer = by_name[name]
                shape, dtype = tuple(layer.compute_output_shape(shape)), layer.dtype
            specs[(name, 0, 0)] = (shape, _dtype_name(dtype))
        return specs
    # A functional model's KerasTensors carry their shapes; `_node_index` numbers each
    # layer's calls as its config's references do.
    return {(tensor.layer.name, model._node_index[id(tensor)],
             getattr(tensor, "output_index", 0)): (tuple(tensor.shape), _dtype_name(tensor.dtype))
            for tensor in list(model.inputs) + list(model._nodes)}


def _keras_tensor(reference, specs):
    shape, dtype = specs[tuple(reference)]
    return {"class_name": "__keras_tensor__",
            "config": {"shape": list(shape), "dtype": dtype, "keras_history": list(reference)}}


def _sequential_out(model, config, legacy):
    specs = tensor_specs(model)
    by_name = {layer.name: layer for layer in model.layers}
    layers, previous = [], None
    for entry in config["layers"]:
        name = entry["config"]["name"]
        layer = None if entry["class_name"] == "InputLayer" else by_name[name]
        input_shape = None if previous is None else specs[(previous, 0, 0)][0]
        layers.append(_layer_out(layer, entry, input_shape, legacy))
        previous = name
    inner = {"name": model.name, "trainable": model.trainable, "layers": layers,
             "build_input_shape": _shape_json(model.input_shape)}
    if not legacy:
        inner["dtype"] = _dtype_policy(model._input_dtype().name)
    return inner


def _endpoints_out(references, keys):
    if keys is not None:
        return dict(zip(keys, references))
    return references[0] if len(references) == 1 else references


def _functional_out(model, config, legacy):
    specs = tensor_specs(model)
    by_name = {layer.name: layer for layer in model.layers}
    layers = []
    for entry in config["layers"]:
        calls = entry.get("inbound_nodes", [])
        training = entry.get("call_training", [None] * len(calls))
        nodes, input_shape = [], None
        for references, fixed in zip(calls, training):
            tensors = [_keras_tensor(reference, specs) for reference in references]
            nodes.append({"args": [tensors[0] if len(tensors) == 1 else tensors],
                          "kwargs": {} if fixed is None else {"training": fixed}})
            if input_shape is None:
                shapes = [specs[tuple(reference)][0] for reference in references]
                input_shape = shapes[0] if len(shapes) == 1 else shapes
        layer = by_name[entry["name"]]
        out = _layer_out(None if isinstance(layer, InputLayer) else layer, entry,
                         input_shape, legacy)
        out["name"] = entry["name"]
        out["inbound_nodes"] = nodes
        layers.append(out)
    return {"name": model.name, "trainable": model.trainable, "layers": layers,
            "input_layers": _endpoints_out(config["input_layers"], config.get("input_keys")),
            "output_layers": _endpoints_out(config["output_layers"], config.get("output_keys"))}


def _model_out(model, legacy):
    config = model.get_config()
    if type(model).__name__ == "Sequential":
        inner = _sequential_out(model, config, legacy)
        document = {"module": "keras", "class_name": "Sequential", "registered_name": None}
    else:
        inner = _functional_out(model, config, legacy)
        document = {"module": "keras.src.models.functional", "class_name": "Functional",
                    "registered_name": "Functional"}
    if legacy:
        return {"class_name": document["class_name"], "config": inner}
    return {**document, "config": inner}


def model_to_keras(model, legacy=False):
    """The model's config as Keras 3 writes it in config.json (or, with `legacy=True`, in
    a legacy .h5 file's `model_config`). Nested models are written inside, as Keras does."""
    document = _model_out(model, legacy)
    if not legacy:
        sequential = type(model).__name__ == "Sequential"
        document["build_config"] = {"input_shape": _shape_json(model.input_shape)
                                    if sequential else None}
    return document


def compile_to_keras(model, legacy=False):
    """The compile arguments as Keras 3's `compile_config` (None if not compiled); with
    `legacy=True`, as a legacy .h5 file's `training_config`."""
    config = serialization.compile_config(model)
    if config is None:
        return None
    optimizer = _keras_object("keras.optimizers", config["optimizer"])

    def each(value, module):  # a serialized object, a name, None, or a list of them
        if isinstance(value, list):
            return [each(item, module) for item in value]
        return value if value is None or isinstance(value, str) else _keras_object(module,
                                                                                    value)
    weights = config["loss_weights"]
    out = {
        "loss": each(config["loss"], "keras.losses"),
        "loss_weights": None if weights in (None, 1.0) else weights,
        "metrics": each(config["metrics"], "keras.metrics") or None,
        "weighted_metrics": each(config["weighted_metrics"], "keras.metrics") or None,
        "run_eagerly": False, "steps_per_execution": 1, "jit_compile": False,
    }
    if legacy:
        out["optimizer_config"] = {"class_name": optimizer["class_name"],
                                   "config": optimizer["config"]}
        return out
    return {"optimizer": optimizer, **out}


# --------------------------------------------------------------------------- in
def _accepted_keys(cls):
    """The keyword arguments `cls(...)` accepts, following `**kwargs` up the MRO."""
    keys = set()
    for klass in cls.__mro__[:-1]:  # not `object`, whose **kwargs accept nothing
        init = vars(klass).get("__init__")
        if init is None:
            continue
        try:
            parameters = inspect.signature(init).parameters.values()
        except (TypeError, ValueError):  # a C-level __init__: no keyword arguments to add
            break
        keys.update(p.name for p in parameters
                    if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY) and p.name != "self")
        if not any(p.kind is p.VAR_KEYWORD for p in parameters):
            break
    return keys


def _drop_keras_only(config, cls, neutral, what):
    """`config` without the keys `cls` does not take, each of which must hold Keras's
    neutral value."""
    accepted = _accepted_keys(cls)
    out = {}
    for key, value in config.items():
        if key in accepted:
            out[key] = value
            continue
        expected = neutral.get(key, None)
        if value is None or expected is keras_names.ANY or (
                key in neutral and value == expected):
            continue
        raise ValueError(f"{what} uses {key}={value!r:.200}, which fastconv does not "
                         "support (only Keras's default for it can be loaded).")
    return out


def _strip_object(value, family=None):
    """A Keras `{"module", "class_name", "config", ...}` as fastconv's `{"class_name",
    "config"}`, its config without None-valued keys the fastconv class does not take."""
    _require(isinstance(value.get("class_name"), str), f"An object entry needs a string "
                                                       f"'class_name'. Received: {value!r:.200}")
    config = value.get("config") or {}
    _require(isinstance(config, dict), f"The config of {value['class_name']!r:.100} must be "
                                       "a JSON object.")
    cls = getattr(family, value["class_name"], None) if family is not None else None
    if isinstance(cls, type):
        config = _drop_keras_only(config, cls, {}, f"{value['class_name']}")
    return {"class_name": value["class_name"], "config": config}


def _is_keras_object(value):
    return isinstance(value, dict) and "class_name" in value and "config" in value


def _layer_config_in(config, cls, keras_class, name):
    from fastconv import constraints, initializers, regularizers
    families = {"_initializer": initializers, "_regularizer": regularizers,
                "_constraint": constraints}
    out = {}
    for key, value in config.items():
        if key == "dtype" and _is_keras_object(value):
            policy = value.get("config") or {}
            value = policy.get("name") if isinstance(policy, dict) else None
            _require(isinstance(value, str), f"Layer {name!r:.100}: invalid dtype policy.")
        elif _is_keras_object(value) and any(key.endswith(suffix) for suffix in families):
            family = next(f for suffix, f in families.items() if key.endswith(suffix))
            value = _strip_object(value, family)
        out[key] = value
    return _drop_keras_only(out, cls, keras_names.neutral_keys(keras_class),
                            f"Keras layer {name!r:.100} ({keras_class})")


def _resolve_layer(entry, registry, custom):
    """(fastconv registry key, class) for a Keras layer entry."""
    keras_class = entry.get("class_name")
    registered = entry.get("registered_name")
    for key in (registered, keras_class):
        if isinstance(key, str) and key in custom and isinstance(custom[key], type):
            return key, custom[key]
    name = keras_names.fastconv_class_name(keras_class)
    cls = registry.get(name)
    if cls is None:
        raise ValueError(
            f"Unknown layer class {keras_class!r:.100}: fastconv has no such layer. Known "
            f"layers: {', '.join(sorted(registry))}. Custom layers load when registered with "
            "`fastconv.saving.register_keras_serializable` or passed as custom_objects.")
    return name, cls


def _layer_in(entry, registry, custom, depth):
    """fastconv's `{"class_name", "config"}` for a Keras layer (or nested model) entry."""
    _require(isinstance(entry, dict) and isinstance(entry.get("class_name"), str),
             f"A layer entry must be a JSON object with a string 'class_name'. "
             f"Received: {entry!r:.200}")
    if entry["class_name"] in _MODEL_CLASSES:  # a model nested in this one
        return _model_in(entry, registry, custom, depth + 1)
    key, cls = _resolve_layer(entry, registry, custom)
    config = entry.get("config")
    _require(isinstance(config, dict), f"Layer entry {key!r:.100} needs a 'config' object.")
    name = config.get("name", entry.get("name"))
    return {"class_name": key, "config": _layer_config_in(config, cls, entry["class_name"], name)}


def _reference_in(tensor, layer_name):
    """`[layer name, node index, tensor index]` of a Keras tensor argument."""
    _require(isinstance(tensor, dict) and tensor.get("class_name") == "__keras_tensor__",
             f"Layer {layer_name!r:.100}: an inbound node argument is not a Keras tensor "
             f"(fastconv layers take tensors only). Received: {tensor!r:.200}")
    history = (tensor.get("config") or {}).get("keras_history")
    _require(isinstance(history, list) and len(history) == 3 and isinstance(history[0], str),
             f"Layer {layer_name!r:.100}: invalid keras_history {history!r:.100}")
    return list(history)


def _call_in(node, name):
    """(references, training) of one Keras inbound node."""
    if isinstance(node, list):  # Keras 2: [[layer name, node index, tensor index, kwargs], ...]
        _require(node and all(isinstance(item, list) and len(item) in (3, 4)
                              and isinstance(item[0], str) for item in node),
                 f"Layer {name!r:.100}: invalid inbound node {node!r:.200}")
        return [list(item[:3]) for item in node], None
    _require(isinstance(node, dict) and isinstance(node.get("args"), list)
             and len(node["args"]) == 1,
             f"Layer {name!r:.100}: expected one positional argument in its inbound node. "
             f"Received: {node!r:.200}")
    kwargs = node.get("kwargs") or {}
    _require(isinstance(kwargs, dict) and set(kwargs) <= {"training", "mask"}
             and kwargs.get("mask") is None
             and (kwargs.get("training") is None or isinstance(kwargs["training"], bool)),
             f"Layer {name!r:.100} is called with keyword arguments {kwargs!r:.200}; fastconv "
             "supports `training` only.")
    argument = node["args"][0]
    tensors = argument if isinstance(argument, list) else [argument]
    return [_reference_in(tensor, name) for tensor in tensors], kwargs.get("training")


def _endpoints_in(value, what):
    """(references, keys or None) of Keras's input_layers / output_layers structure."""
    keys = None
    if isinstance(value, dict):
        keys, value = list(value), list(value.values())
    elif isinstance(value, list) and len(value) == 3 and isinstance(value[0], str):
        value = [value]
    _require(isinstance(value, list) and value and all(
        isinstance(v, list) and len(v) == 3 and isinstance(v[0], str) for v in value)
        and all(isinstance(k, str) for k in keys or ()),
        f"'{what}' must hold [layer name, node index, tensor index] entries. "
        f"Received: {value!r:.200}")
    return [list(v) for v in value], keys


_MAX_DEPTH = 32  # nested models; a crafted file must not recurse without end


def _model_in(document, registry, custom, depth=0):
    """fastconv's `{"class_name", "config"}` for a Keras model config."""
    _require(isinstance(document, dict), "The model config must be a JSON object.")
    _require(depth <= _MAX_DEPTH, f"Models are nested more than {_MAX_DEPTH} deep.")
    kind = document.get("class_name")
    config = document.get("config")
    _require(kind in _MODEL_CLASSES, f"The file holds a {kind!r:.100}, not a Sequential or "
                                     "functional model; subclassed Keras models cannot be "
                                     "loaded by fastconv (their code is not in the file).")
    _require(isinstance(config, dict) and isinstance(config.get("layers"), list),
             f"The {kind} config needs a 'layers' list.")
    header = {"name": config.get("name"), "trainable": config.get("trainable", True)}
    if kind == "Sequential":
        entries = [_layer_in(entry, registry, custom, depth) for entry in config["layers"]]
        if not entries or entries[0]["class_name"] != "InputLayer":
            shape = config.get("build_input_shape") or (document.get("build_config") or {}).get(
                "input_shape")
            _require(isinstance(shape, list), "The Sequential model has no input shape "
                                              "(it was saved unbuilt), so it cannot be built.")
            entries.insert(0, {"class_name": "InputLayer", "config": {"batch_shape": shape}})
        return {"class_name": "Sequential", "config": {**header, "layers": entries}}
    entries = []
    for entry in config["layers"]:
        converted = _layer_in(entry, registry, custom, depth)
        name = entry.get("name", converted["config"].get("name"))
        _require(isinstance(name, str), "Every functional layer entry needs a 'name'.")
        nodes = entry.get("inbound_nodes", [])
        _require(isinstance(nodes, list), f"Layer {name!r:.100}: 'inbound_nodes' must be a "
                                          "list.")
        calls = [_call_in(node, name) for node in nodes]
        converted["name"] = name
        converted["inbound_nodes"] = [references for references, _ in calls]
        if any(training is not None for _, training in calls):
            converted["call_training"] = [training for _, training in calls]
        entries.append(converted)
    inner = {**header, "layers": entries}
    for key, keys_key in (("input_layers", "input_keys"), ("output_layers", "output_keys")):
        inner[key], keys = _endpoints_in(config.get(key), key)
        if keys is not None:
            inner[keys_key] = keys
    return {"class_name": "Functional", "config": inner}


def model_from_keras(document, custom_objects=None):
    """A new fastconv model from a Keras 3 model config (config.json, or a legacy .h5
    file's `model_config`), nested models included.

    Raises:
        ValueError: an unknown class, a feature fastconv lacks, or an invalid config.
    """
    custom = custom_objects_in_scope(custom_objects)
    registry = serialization.layer_registry(custom)
    return serialization.deserialize_model(_model_in(document, registry, custom), custom)


def _optimizer_in(entry):
    from fastconv import optimizers
    if isinstance(entry, str):
        return entry
    _require(_is_keras_object(entry), f"Invalid optimizer entry {entry!r:.200}")
    stripped = {"class_name": entry["class_name"], "config": dict(entry["config"] or {})}
    known = getattr(optimizers, entry["class_name"], None)
    if isinstance(known, type):
        stripped["config"] = _drop_keras_only(stripped["config"], known,
                                              keras_names.neutral_keys("optimizer"),
                                              f"The optimizer {entry['class_name']}")
    return stripped


def _identifier_in(value, what):
    """A loss or metric identifier (or a list of them, per output) in fastconv's form."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, list):
        return [_identifier_in(item, what) for item in value]
    _require(_is_keras_object(value), f"The {what} {value!r:.200} is not one fastconv can "
                                      "load (a name, an object or a list of them per output).")
    return {"class_name": value["class_name"], "config": value["config"]}


def compile_from_keras(model, config):
    """Compiles `model` as Keras 3's `compile_config` describes.

    Raises:
        ValueError: a structure fastconv does not support (losses by output name) or
            unknown names.
    """
    _require(isinstance(config, dict), "The compile config must be a JSON object.")
    outputs = model._loss_output_names()
    none = [] if outputs is None else [[] for _ in outputs]  # Keras writes no metrics as null
    serialization.compile_from_config(model, {
        "optimizer": _optimizer_in(config.get("optimizer")),
        "loss": _identifier_in(config.get("loss"), "loss"),
        "loss_weights": config.get("loss_weights"),
        "metrics": _identifier_in(config.get("metrics") or none, "metric"),
        "weighted_metrics": _identifier_in(config.get("weighted_metrics") or none, "metric"),
    })


def training_config_to_compile(training_config):
    """A legacy .h5 `training_config` in `compile_config`'s form."""
    _require(isinstance(training_config, dict), "training_config must be a JSON object.")
    return {**{k: v for k, v in training_config.items() if k != "optimizer_config"},
            "optimizer": training_config.get("optimizer_config")}
