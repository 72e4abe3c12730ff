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

__all__ = ["layer_shapes", "model_to_keras", "model_from_keras", "compile_to_keras",
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


def _layer_out(layer, entry, input_shape):
    """`layer` is None for an InputLayer entry (a Sequential does not list it in `layers`)."""
    cls = InputLayer if layer is None else type(layer)
    from fastconv import layers as builtin
    if getattr(builtin, cls.__name__, None) is cls:
        module, class_name, registered = ("keras.layers", keras_names.keras_class_name(
            cls.__name__), None)
    else:
        module, class_name, registered = cls.__module__, cls.__name__, get_registered_name(cls)
    is_input = cls is InputLayer
    out = {"module": module, "class_name": class_name,
           "config": _layer_config_out(entry["config"], is_input), "registered_name": registered}
    if not is_input and input_shape is not None:
        out["build_config"] = {"input_shape": _shape_json(input_shape)}
    return out


def _shape_json(shape):
    if isinstance(shape, list):
        return [_shape_json(s) for s in shape]
    return list(shape)


def layer_shapes(model, entries, inbound_of):
    """{layer name: (layer or None for an input, input shape or shapes, output shape,
    output dtype)} through the graph."""
    shapes, by_name = {}, {layer.name: layer for layer in model.layers}
    for entry in entries:
        config = entry["config"]
        if entry["class_name"] == "InputLayer":
            shapes[config["name"]] = (None, None, tuple(config["batch_shape"]), config["dtype"])
            continue
        layer = by_name[config["name"]]
        inputs = [shapes[parent][2] for parent in inbound_of(entry)]
        input_shape = inputs[0] if len(inputs) == 1 else inputs
        shapes[config["name"]] = (layer, input_shape,
                                  tuple(layer.compute_output_shape(input_shape)), layer.dtype)
    return shapes


def model_to_keras(model, legacy=False):
    """The model's config as Keras 3 writes it in config.json (or, with `legacy=True`, in
    a legacy .h5 file's `model_config`)."""
    kind = type(model).__name__
    config = model.get_config()
    entries = config["layers"]
    if kind == "Sequential":
        names = [entry["config"]["name"] for entry in entries]
        previous = dict(zip(names[1:], names[:-1]))
        shapes = layer_shapes(model, entries, lambda e: [previous[e["config"]["name"]]])
    else:
        shapes = layer_shapes(model, entries, lambda e: e["inbound_layers"])
    layers = []
    for entry in entries:
        layer, input_shape, _, _ = shapes[entry["config"]["name"]]
        out = _layer_out(layer, entry, input_shape)
        if kind != "Sequential":
            out["name"] = entry["config"]["name"]
            out["inbound_nodes"] = _inbound_nodes(entry["inbound_layers"], shapes)
        if legacy:
            out = {key: value for key, value in out.items()
                   if key not in ("module", "registered_name", "build_config")}
        layers.append(out)
    input_shape = _shape_json(model.input_shape)
    if kind == "Sequential":
        inner = {"name": model.name, "trainable": model.trainable,
                 "dtype": _dtype_policy(model._input_dtype().name), "layers": layers,
                 "build_input_shape": input_shape}
        document = {"module": "keras", "class_name": "Sequential", "config": inner,
                    "registered_name": None}
    else:
        def endpoints(names):
            points = [[name, 0, 0] for name in names]
            return points[0] if len(points) == 1 else points
        inner = {"name": model.name, "trainable": model.trainable, "layers": layers,
                 "input_layers": endpoints(config["input_layers"]),
                 "output_layers": endpoints(config["output_layers"])}
        document = {"module": "keras.src.models.functional", "class_name": "Functional",
                    "config": inner, "registered_name": "Functional"}
    if legacy:
        return {"class_name": document["class_name"], "config": inner}
    document["build_config"] = {"input_shape": input_shape if kind == "Sequential" else None}
    return document


def _inbound_nodes(parents, shapes):
    if not parents:
        return []
    tensors = []
    for parent in parents:
        _, _, shape, dtype = shapes[parent]
        tensors.append({"class_name": "__keras_tensor__",
                        "config": {"shape": list(shape), "dtype": dtype,
                                   "keras_history": [parent, 0, 0]}})
    return [{"args": [tensors[0] if len(tensors) == 1 else tensors], "kwargs": {}}]


def compile_to_keras(model, legacy=False):
    """The compile arguments as Keras 3's `compile_config` (None if not compiled); with
    `legacy=True`, as a legacy .h5 file's `training_config`."""
    config = serialization.compile_config(model)
    if config is None:
        return None
    optimizer = _keras_object("keras.optimizers", config["optimizer"])

    def metric(entry):
        return entry if isinstance(entry, str) else _keras_object("keras.metrics", entry)
    out = {
        "loss": None if config["loss"] is None else _keras_object("keras.losses", config["loss"]),
        "loss_weights": None if config["loss_weights"] in (None, 1.0) else config["loss_weights"],
        "metrics": [metric(m) for m in config["metrics"]] or None,
        "weighted_metrics": [metric(m) for m in config["weighted_metrics"]] or None,
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
        elif _is_keras_object(value):
            family = next((f for suffix, f in families.items() if key.endswith(suffix)), None)
            value = _strip_object(value, family)
        out[key] = value
    if keras_names.fastconv_class_name(keras_class) == cls.__name__:  # built-in: drop Keras-only
        out = _drop_keras_only(out, cls, keras_names.neutral_keys(keras_class),
                               f"Keras layer {name!r:.100} ({keras_class})")
    return out


def _resolve_layer(entry, registry, custom):
    """(fastconv registry key, class) for a Keras layer entry."""
    keras_class = entry.get("class_name")
    _require(isinstance(keras_class, str), f"A layer entry needs a string 'class_name'. "
                                           f"Received: {entry!r:.200}")
    registered = entry.get("registered_name")
    for key in (registered, keras_class):
        if isinstance(key, str) and key in custom and isinstance(custom[key], type):
            return key, custom[key]
    _require(keras_class not in _MODEL_CLASSES,
             f"The file nests a {keras_class} model inside another; fastconv cannot load "
             "nested models yet.")
    name = keras_names.fastconv_class_name(keras_class)
    cls = registry.get(name)
    if cls is None:
        raise ValueError(
            f"Unknown layer class {keras_class!r:.100}: fastconv has no such layer. Known "
            f"layers: {', '.join(sorted(registry))}. Custom layers load when registered with "
            "`fastconv.saving.register_keras_serializable` or passed as custom_objects.")
    return name, cls


def _layer_in(entry, registry, custom):
    _require(isinstance(entry, dict), f"A layer entry must be a JSON object. "
                                      f"Received: {entry!r:.200}")
    key, cls = _resolve_layer(entry, registry, custom)
    config = entry.get("config")
    _require(isinstance(config, dict), f"Layer entry {key!r:.100} needs a 'config' object.")
    name = config.get("name", entry.get("name"))
    return {"class_name": key, "config": _layer_config_in(config, cls, entry["class_name"], name)}


def _history_name(tensor, layer_name):
    _require(isinstance(tensor, dict) and tensor.get("class_name") == "__keras_tensor__",
             f"Layer {layer_name!r:.100}: an inbound node argument is not a Keras tensor "
             f"(fastconv layers take tensors only). Received: {tensor!r:.200}")
    history = (tensor.get("config") or {}).get("keras_history")
    _require(isinstance(history, list) and len(history) == 3 and isinstance(history[0], str),
             f"Layer {layer_name!r:.100}: invalid keras_history {history!r:.100}")
    _require(history[1:] == [0, 0], f"Layer {layer_name!r:.100} reads output {history[1:]} of "
                                    f"layer {history[0]!r:.100}; fastconv supports layers "
                                    "called once, with one output.")
    return history[0]


def _inbound_in(entry, name):
    nodes = entry.get("inbound_nodes", [])
    _require(isinstance(nodes, list), f"Layer {name!r:.100}: 'inbound_nodes' must be a list.")
    if not nodes:
        return []
    _require(len(nodes) == 1, f"Layer {name!r:.100} is called {len(nodes)} times (a shared "
                              "layer); fastconv supports each layer called once.")
    node = nodes[0]
    if isinstance(node, list):  # Keras 2: [[layer name, node index, tensor index, kwargs], ...]
        _require(node and all(isinstance(item, list) and len(item) in (3, 4)
                              and isinstance(item[0], str) for item in node),
                 f"Layer {name!r:.100}: invalid inbound node {node!r:.200}")
        return [_history_name({"class_name": "__keras_tensor__",
                               "config": {"keras_history": item[:3]}}, name) for item in node]
    _require(isinstance(node, dict) and isinstance(node.get("args"), list)
             and len(node["args"]) == 1,
             f"Layer {name!r:.100}: expected one positional argument in its inbound node. "
             f"Received: {node!r:.200}")
    kwargs = node.get("kwargs") or {}
    _require(isinstance(kwargs, dict) and all(v is None or isinstance(v, bool)
                                              for v in kwargs.values()),
             f"Layer {name!r:.100} is called with keyword arguments {kwargs!r:.200}, which "
             "fastconv does not support.")
    argument = node["args"][0]
    tensors = argument if isinstance(argument, list) else [argument]
    return [_history_name(tensor, name) for tensor in tensors]


def _endpoints(value, what):
    if isinstance(value, list) and len(value) == 3 and isinstance(value[0], str):
        value = [value]
    _require(isinstance(value, list) and value and all(
        isinstance(v, list) and len(v) == 3 and isinstance(v[0], str) and v[1:] == [0, 0]
        for v in value), f"'{what}' must list [layer name, 0, 0] entries. "
                         f"Received: {value!r:.200}")
    return [v[0] for v in value]


def model_from_keras(document, custom_objects=None):
    """A new fastconv model from a Keras 3 model config (config.json, or a legacy .h5
    file's `model_config`).

    Raises:
        ValueError: an unknown class, a feature fastconv lacks, or an invalid config.
    """
    _require(isinstance(document, dict), "The model config must be a JSON object.")
    kind = document.get("class_name")
    config = document.get("config")
    _require(kind in _MODEL_CLASSES, f"The file holds a {kind!r:.100}, not a Sequential or "
                                     "functional model; subclassed Keras models cannot be "
                                     "loaded by fastconv (their code is not in the file).")
    _require(isinstance(config, dict) and isinstance(config.get("layers"), list),
             f"The {kind} config needs a 'layers' list.")
    custom = custom_objects_in_scope(custom_objects)
    registry = serialization.layer_registry(custom)
    layers, name = config["layers"], config.get("name")
    trainable = config.get("trainable", True)
    if kind == "Sequential":
        entries = [_layer_in(entry, registry, custom) for entry in layers]
        if not entries or entries[0]["class_name"] != "InputLayer":
            shape = config.get("build_input_shape") or (document.get("build_config") or {}).get(
                "input_shape")
            _require(isinstance(shape, list), "The Sequential model has no input shape "
                                              "(it was saved unbuilt), so it cannot be built.")
            entries.insert(0, {"class_name": "InputLayer", "config": {"batch_shape": shape}})
        fastconv_config = {"name": name, "trainable": trainable, "layers": entries}
        return serialization.deserialize_model(
            {"class_name": "Sequential", "config": fastconv_config}, custom)
    entries = []
    for entry in layers:
        converted = _layer_in(entry, registry, custom)
        layer_name = converted["config"].get("name")
        _require(isinstance(layer_name, str), "Every functional layer config needs a 'name'.")
        converted["name"] = layer_name
        converted["inbound_layers"] = _inbound_in(entry, layer_name)
        entries.append(converted)
    fastconv_config = {"name": name, "trainable": trainable, "layers": entries,
                       "input_layers": _endpoints(config.get("input_layers"), "input_layers"),
                       "output_layers": _endpoints(config.get("output_layers"), "output_layers")}
    return serialization.deserialize_model({"class_name": "Functional", "config": fastconv_config},
                                           custom)


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
    if value is None or isinstance(value, str):
        return value
    _require(_is_keras_object(value), f"The {what} {value!r:.200} is not one fastconv can "
                                      "load (one loss and flat metric lists only).")
    return {"class_name": value["class_name"], "config": value["config"]}


def compile_from_keras(model, config):
    """Compiles `model` as Keras 3's `compile_config` describes.

    Raises:
        ValueError: a structure fastconv does not support (several losses) or unknown names.
    """
    _require(isinstance(config, dict), "The compile config must be a JSON object.")
    loss_weights = config.get("loss_weights")
    lists = {}
    for key in ("metrics", "weighted_metrics"):
        value = config.get(key) or []
        _require(isinstance(value, list), f"'{key}' must be a list. Received: {value!r:.200}")
        lists[key] = [_identifier_in(v, "metric") for v in value]
    serialization.compile_from_config(model, {
        "optimizer": _optimizer_in(config.get("optimizer")),
        "loss": _identifier_in(config.get("loss"), "loss"),
        "loss_weights": 1.0 if loss_weights is None else loss_weights,
        "metrics": lists["metrics"], "weighted_metrics": lists["weighted_metrics"],
    })


def training_config_to_compile(training_config):
    """A legacy .h5 `training_config` in `compile_config`'s form."""
    _require(isinstance(training_config, dict), "training_config must be a JSON object.")
    return {**{k: v for k, v in training_config.items() if k != "optimizer_config"},
            "optimizer": training_config.get("optimizer_config")}
