"""`clone_model`, `model_from_json`: new models with the architecture of another.

Both go through configs only (`get_config`, the layers' `from_config`), so a
clone shares nothing with the original: its weights are freshly initialized, as
in Keras.
"""

import json

from fastconv.layers.core import Input, InputLayer
from fastconv.saving import keras_config

__all__ = ["clone_model", "model_from_json"]


def _default_clone(layer):
    return type(layer).from_config(layer.get_config())


def clone_model(model, input_tensors=None, clone_function=None, call_function=None,
                recursive=False, **kwargs):
    """A new model with the same layers (by config) and connections; new weights.

    Args:
        model: a Sequential or functional model.
        input_tensors: optional `Input` tensor (or a list of one per model input)
            to build the clone on.
        clone_function: `layer -> new layer` (default: `from_config(get_config())`).
        call_function: not supported (must be None).
        recursive: accepted for Keras compatibility (fastconv models do not nest).

    Returns:
        The clone, uncompiled, with freshly initialized weights.

    Raises:
        ValueError: `call_function` given, or `input_tensors` that do not match.

    Example:
        >>> import fastconv as keras
        >>> model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)])
        >>> clone = keras.models.clone_model(model)
        >>> [type(layer).__name__ for layer in clone.layers], clone.count_params()
        (['Dense'], 10)
    """
    from fastconv.models.functional import Functional
    from fastconv.models.model import Model
    from fastconv.models.sequential import Sequential
    if kwargs:
        raise TypeError(f"clone_model() got unexpected keyword arguments {sorted(kwargs)}")
    if call_function is not None:
        raise ValueError("clone_model(call_function=...) is not supported by fastconv.")
    del recursive
    clone_function = clone_function or _default_clone
    if not callable(clone_function):
        raise ValueError(f"`clone_function` must be callable. Received: {clone_function!r}")
    if isinstance(input_tensors, (list, tuple)):
        input_tensors = list(input_tensors)
    elif input_tensors is not None:
        input_tensors = [input_tensors]
    if isinstance(model, Sequential):
        layers = [clone_function(layer) for layer in model.layers]
        if input_tensors is not None:
            if len(input_tensors) != 1:
                raise ValueError(f"A Sequential model has one input; received "
                                 f"{len(input_tensors)} input_tensors.")
            first = input_tensors[0]
        elif model.built:  # the InputLayer, as the config describes it (same name)
            first = Input(**model.get_config()["layers"][0]["config"])
        else:
            first = None
        clone = Sequential(([first] if first is not None else []) + layers,
                           name=model.name, trainable=model.trainable)
        return clone
    if not isinstance(model, Functional):
        raise ValueError(f"clone_model expects a Sequential or functional model. "
                         f"Received: {model!r}")
    config = model.get_config()
    tensors, inputs = {}, []
    provided = list(input_tensors or [])
    if input_tensors is not None and len(provided) != len(config["input_layers"]):
        raise ValueError(f"The model has {len(config['input_layers'])} inputs; received "
                         f"{len(provided)} input_tensors.")
    for entry in config["layers"]:
        layer = model.get_layer(entry["name"])
        if isinstance(layer, InputLayer):
            if input_tensors is not None:
                tensor = provided[config["input_layers"].index(entry["name"])]
            else:
                tensor = Input(batch_shape=layer.batch_shape, dtype=layer.dtype, name=layer.name)
            tensors[entry["name"]] = tensor
            continue
        parents = [tensors[name] for name in entry["inbound_layers"]]
        tensors[entry["name"]] = clone_function(layer)(parents[0] if len(parents) == 1
                                                       else parents)
    inputs = [tensors[name] for name in config["input_layers"]]
    outputs = [tensors[name] for name in config["output_layers"]]
    return Model(inputs[0] if len(inputs) == 1 else inputs,
                 outputs[0] if len(outputs) == 1 else outputs,
                 name=model.name, trainable=model.trainable)


def model_from_json(json_string, custom_objects=None):
    """A new model (fresh weights) from `model.to_json()`, by fastconv or by Keras 3.

    Args:
        json_string: the JSON text.
        custom_objects: optional `{name: class}` for custom layers.

    Raises:
        ValueError: invalid JSON, an unknown layer, or a feature fastconv lacks.

    Example:
        >>> import fastconv as keras
        >>> model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2, name="d")])
        >>> keras.models.model_from_json(model.to_json()).get_layer("d").units
        2
    """
    try:
        document = json.loads(json_string)
    except (TypeError, ValueError) as error:
        raise ValueError(f"model_from_json needs the JSON text of a model config: {error}") \
            from None
    return keras_config.model_from_keras(document, custom_objects)


def model_to_json(model, **kwargs):
    """The model's config in Keras 3's layout as JSON text (`json.dumps` keyword arguments
    pass through)."""
    return json.dumps(keras_config.model_to_keras(model), **kwargs)
