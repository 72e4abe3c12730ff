"""Configs of layers, models and `compile()` arguments, and the class registries.

Deserialization only ever looks class names up in explicit registries (the
Layer subclasses that `fastconv.layers` exports, the model classes that
`fastconv.models` registers, plus what the caller registers or passes as
`custom_objects`); an unknown name is a `ValueError`. Nothing is imported,
evaluated or called by name.

This module knows no model class: a model's config and its constructor from a
config are the model's own `get_config` / `from_config`, and the model classes
register themselves with `register_model_class` (models import saving, never
the reverse).
"""

import copy
import inspect

__all__ = [
    "register_layer", "layer_registry", "serialize_layer", "deserialize_layer",
    "serialize_model", "deserialize_model", "register_model_class", "is_model",
    "compile_config", "compile_from_config",
]

_CUSTOM_LAYERS = {}
_MODEL_CLASSES = {}  # class name -> model class, filled by fastconv.models


def register_layer(cls, name=None):
    """Registers a Layer subclass so saved models that use it can be loaded.

    Args:
        cls: a subclass of `fastconv.layers.Layer`.
        name: the class name to register it under (default `cls.__name__`).

    Returns:
        `cls`, so it can be used as a decorator.
    """
    from fastconv.layers.base import Layer
    if not (isinstance(cls, type) and issubclass(cls, Layer)):
        raise TypeError(f"Only Layer subclasses can be registered. Received: {cls!r}")
    _CUSTOM_LAYERS[name or cls.__name__] = cls
    return cls


def layer_registry(custom_objects=None):
    """`{class name: class}` of every layer a saved model may use."""
    from fastconv import layers
    from fastconv.layers.base import Layer
    registry = {name: value for name, value in vars(layers).items()
                if isinstance(value, type) and issubclass(value, Layer) and value is not Layer
                and not name.startswith("_")}
    registry.update(_CUSTOM_LAYERS)
    for name, value in (custom_objects or {}).items():
        if isinstance(value, type) and issubclass(value, Layer):
            registry[name] = value
    return registry


def register_model_class(cls):
    """Registers a model class (by its `__name__`) so saved models of that class load.

    `fastconv.models` registers `Model`, `Sequential` and `Functional`.

    Returns:
        `cls`, so it can be used as a decorator.
    """
    _MODEL_CLASSES[cls.__name__] = cls
    return cls


def is_model(value):
    """Whether `value` is an instance of a registered model class."""
    return isinstance(value, tuple(_MODEL_CLASSES.values()))


def _model_registry(custom_objects=None):
    registry = dict(_MODEL_CLASSES)
    for name, value in (custom_objects or {}).items():
        if isinstance(value, type) and issubclass(value, tuple(_MODEL_CLASSES.values())):
            registry[name] = value
    return registry


def _require(condition, message):
    if not condition:
        raise ValueError(message)


def _check_entry(entry, what):
    _require(isinstance(entry, dict), f"{what} must be a JSON object. Received: {entry!r:.200}")
    class_name = entry.get("class_name")
    _require(isinstance(class_name, str), f"{what} needs a string 'class_name'. "
                                          f"Received: {class_name!r:.200}")
    config = entry.get("config")
    _require(isinstance(config, dict), f"{what} ({class_name}) needs a 'config' object. "
                                       f"Received: {config!r:.200}")
    _require(all(isinstance(key, str) for key in config),
             f"{what} ({class_name}) config keys must be strings")
    return class_name, config


# --------------------------------------------------------------------------- layers
def serialize_layer(layer):
    """`{"class_name", "config"}` of a layer."""
    return {"class_name": type(layer).__name__, "config": layer.get_config()}


def deserialize_layer(entry, custom_objects=None):
    """A new layer from `serialize_layer`'s output.

    Raises:
        ValueError: unknown class name, or a config the class rejects.
    """
    class_name, config = _check_entry(entry, "A layer entry")
    if class_name in _model_registry(custom_objects):  # a model nested in another one
        return deserialize_model(entry, custom_objects)
    registry = layer_registry(custom_objects)
    cls = registry.get(class_name)
    if cls is None:
        raise ValueError(
            f"Unknown layer class {class_name!r:.100}. Known layers: "
            f"{', '.join(sorted(registry))}. "
            "Register custom layers with fastconv.saving.register_layer or pass "
            "custom_objects={name: class}."
        )
    # A layer whose config names a function (Lambda) finds it in `custom_objects`.
    accepts_custom = "custom_objects" in inspect.signature(cls.from_config).parameters
    kwargs = {"custom_objects": custom_objects} if accepts_custom else {}
    try:
        return cls.from_config(dict(config), **kwargs)
    except (TypeError, ValueError, KeyError, AttributeError, OverflowError) as error:
        raise ValueError(f"Invalid config for layer class {class_name}: "
                         f"{type(error).__name__}: {error}") from None


# --------------------------------------------------------------------------- models
def serialize_model(model):
    """`{"class_name", "config"}` of a model (`Model(inputs, outputs)` is a "Functional")."""
    return {"class_name": type(model).__name__, "config": model.get_config()}


def deserialize_model(entry, custom_objects=None):
    """A new (built, uncompiled) model from `serialize_model`'s output.

    Raises:
        ValueError: unknown class name or invalid config.
    """
    class_name, config = _check_entry(entry, "The model entry")
    registry = _model_registry(custom_objects)
    cls = registry.get(class_name)
    if cls is None:
        raise ValueError(f"Unknown model class {class_name!r:.100}. Known models: "
                         f"{', '.join(sorted(registry)) or 'none'} (fastconv's model classes "
                         "register when `fastconv.models` is imported, as "
                         "`keras.models.load_model` does).")
    layers = config.get("layers")
    _require(isinstance(layers, list), f"The {class_name} config needs a 'layers' list. "
                                       f"Received: {layers!r:.200}")
    for index, layer_entry in enumerate(layers):
        _check_entry(layer_entry, f"Layer entry {index}")
    name = config.get("name")
    _require(name is None or isinstance(name, str), f"Model name must be a string. "
                                                    f"Received: {name!r:.200}")
    try:
        accepts_custom = "custom_objects" in inspect.signature(cls.from_config).parameters
    except (TypeError, ValueError):
        accepts_custom = False
    kwargs = {"custom_objects": custom_objects} if accepts_custom else {}
    try:
        return cls.from_config(dict(config), **kwargs)
    except (TypeError, KeyError, AttributeError, IndexError, OverflowError) as error:
        raise ValueError(f"Invalid {class_name} config: {type(error).__name__}: {error}") from None


# --------------------------------------------------------------------------- compile
def _serialize_metric(metric, loss):
    from fastconv import metrics
    name = getattr(metric, "name", None)
    if name in ("accuracy", "acc"):
        return name  # resolved again against the loss, as compile() did
    entry = {"class_name": type(metric).__name__, "config": metric.get_config()}
    try:
        rebuilt = metrics.get(entry, loss=loss)
    except (ValueError, TypeError):
        rebuilt = None
    if type(rebuilt) is type(metric):
        return entry
    if isinstance(name, str) and type(metrics.get(name, loss=loss)) is type(metric):
        return name
    raise ValueError(f"The metric {metric!r} cannot be saved: it is not one of fastconv's "
                     "metrics. Save with include_optimizer=False, or compile after loading.")


def compile_config(model):
    """The `compile()` arguments of `model` (None if it is not compiled); for several
    outputs, `loss`, `loss_weights` and `metrics` are lists in output order."""
    from fastconv import losses, optimizers
    if not model.compiled:
        return None
    optimizer = optimizers.serialize(model.optimizer)
    if callable(optimizer["config"].get("learning_rate")):
        raise ValueError("The optimizer's learning-rate schedule cannot be saved. Save with "
                         "include_optimizer=False.")
    output_names = model._loss_output_names()
    if output_names is None:
        return {
            "optimizer": optimizer,
            "loss": None if model.loss is None else losses.serialize(model.loss),
            "loss_weights": model._loss_weight,
            "metrics": [_serialize_metric(m, model.loss) for m in model._metrics],
            "weighted_metrics": [_serialize_metric(m, model.loss)
                                 for m in getattr(model, "_weighted_metrics", [])],
        }
    per_output = model.loss or (None,) * len(output_names)
    tracker = model._tracker
    return {
        "optimizer": optimizer,
        "loss": None if model.loss is None else
        [None if loss is None else losses.serialize(loss) for loss in per_output],
        "loss_weights": list(model._loss_weight),
        "metrics": _metrics_per_output(model._metrics, tracker.metric_outputs, output_names,
                                       per_output),
        "weighted_metrics": _metrics_per_output(model._weighted_metrics,
                                                tracker.weighted_outputs, output_names,
                                                per_output),
    }


def _metrics_per_output(metrics, outputs, output_names, per_output_loss):
    """One list of serialized metrics per output, named as compile() was given them (without
    the "{output}_" prefix compile() added)."""
    entries = [[] for _ in output_names]
    for metric, index in zip(metrics, outputs):
        given = copy.copy(metric)
        given.name = metric.name[len(output_names[index]) + 1:]
        entries[index].append(_serialize_metric(given, per_output_loss[index]))
    return entries


def _check_identifier(value, what):
    if isinstance(value, str):
        return value
    _check_entry(value, what)
    return value


def compile_from_config(model, config):
    """Compiles `model` with `compile_config`'s output.

    Raises:
        ValueError: malformed config or unknown identifiers.
    """
    from fastconv import losses, metrics, optimizers
    _require(isinstance(config, dict), "The compile config must be a JSON object.")
    optimizer = optimizers.deserialize(_check_identifier(config.get("optimizer"), "The optimizer"))
    loss = config.get("loss")
    output_names = model._loss_output_names()
    if isinstance(loss, list):
        loss = [None if entry is None else losses.get(_check_identifier(entry, "A loss"))
                for entry in loss]
    elif loss is not None:
        loss = losses.get(_check_identifier(loss, "The loss"))
    loss_weights = config.get("loss_weights")
    _require(loss_weights is None or _is_number(loss_weights)
             or (isinstance(loss_weights, list) and all(_is_number(w) for w in loss_weights)),
             f"'loss_weights' must be a number or a list of them. "
             f"Received: {loss_weights!r:.100}")
    lists = {}
    for key in ("metrics", "weighted_metrics"):
        value = config.get(key) or []
        _require(isinstance(value, list), f"'{key}' must be a list. Received: {value!r:.200}")
        if output_names is not None:
            per_output_loss = loss if isinstance(loss, list) else [loss] * len(output_names)
            _require(all(isinstance(entry, list) for entry in value),
                     f"'{key}' must hold one list per output. Received: {value!r:.200}")
            lists[key] = [[metrics.get(_check_identifier(v, f"A {key} entry"), loss=output_loss)
                           for v in entry] for entry, output_loss in zip(value, per_output_loss)]
        else:
            lists[key] = [metrics.get(_check_identifier(v, f"A {key} entry"), loss=loss)
                          for v in value]
    model.compile(optimizer=optimizer, loss=loss, loss_weights=loss_weights,
                  metrics=lists["metrics"], weighted_metrics=lists["weighted_metrics"])


def _is_number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def weight_names(layer):
    """The names of `layer.weights`, in that order (a nested model's as "layer/name")."""
    if is_model(layer):
        by_id = {id(array): f"{inner.name}/{name}" for inner in layer._chain
                 for array, name in zip(inner.weights, weight_names(inner))}
        return [by_id[id(array)] for array in layer.weights]
    by_id = {id(array): name for array, _, name in layer._weight_records}
    # A custom layer's sublayer weights are named by their path ("dense/kernel").
    return [by_id.get(id(array)) or getattr(array, "path", None) or f"weight_{i}"
            for i, array in enumerate(layer.weights)]

