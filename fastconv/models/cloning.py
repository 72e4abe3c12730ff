"""`clone_model`, `model_from_json`: new models with the architecture of another.

Both go through configs only (`get_config`, the layers' `from_config`), so a
clone shares nothing with the original: its weights are freshly initialized, as
in Keras.
"""

import json

from fastconv.layers.core import Input
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
        recursive: accepted for Keras compatibility (a nested model is cloned by
            `clone_function` like any layer).

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
    from fastconv.models.functional import Functional, _call_outputs
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
    if input_tensors is not None and len(input_tensors) != len(model.inputs):
        raise ValueError(f"The model has {len(model.inputs)} inputs; received "
                         f"{len(input_tensors)} input_tensors.")
    new_inputs = input_tensors or [
        Input(batch_shape=t.layer.batch_shape, dtype=t.layer.dtype, name=t.layer.name)
        for t in model.inputs]
    # Walk the graph's calls in order, calling each layer's clone (made once, so a shared
    # layer stays shared) on the tensors that stand for the originals.
    mapping = {id(old): new for old, new in zip(model.inputs, new_inputs)}
    clones = {}
    for node in model._nodes:
        if id(node) in mapping:
            continue
        layer = node.layer
        if id(layer) not in clones:
            clones[id(layer)] = clone_function(layer)
        parents = [mapping[id(parent)] for parent in node.parents]
        arguments = parents[0] if len(parents) == 1 else parents
        training = getattr(node, "call_training", None)
        result = (clones[id(layer)](arguments) if training is None
                  else clones[id(layer)](arguments, training=training))
        results = list(result.values()) if isinstance(result, dict) else (
            result if isinstance(result, list) else [result])
        for old, new in zip(_call_outputs(node), results):
            mapping[id(old)] = new

    def structure(value, tensors):
        if isinstance(value, dict):
            return {key: mapping[id(tensor)] for key, tensor in value.items()}
        if isinstance(value, list):
            return [mapping[id(tensor)] for tensor in value]
        return mapping[id(tensors[0])]
    return Model(structure(model._inputs_struct, model.inputs),
                 structure(model._outputs_struct, model.outputs),
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
