"""Layer weights and optimizer state in Keras 3's two HDF5 layouts.

The weights store (`model.weights.h5` inside a .keras zip, and `.weights.h5`
files): each layer of `model.layers` (a Sequential's without its InputLayer) at
`layers/<snake_case(class name)>[_<k>]/vars/<i>` (k counts earlier layers of the
same class; the `vars` group carries the layer name as attribute "name"), the
model's own (empty) `vars` at the root, and the optimizer at `optimizer/vars/<i>`.
A layer's variables are its weights in order (trainable first, as Keras).

The legacy .h5 layout: group `model_weights` (attributes `layer_names`,
`backend`, `keras_version`) with one group per layer whose `weight_names`
attribute lists datasets below it, and `optimizer_weights` likewise.

Keras's optimizer variables are `[iterations, learning_rate]` (no learning-rate
variable with a schedule), then the slots: for each group of slot names the
optimizer creates together (`_KERAS_SLOT_GROUPS`), each trainable variable's
slots of that group in turn; then any extra state (Nadam's `u_product`).
"""

import numpy as np

from fastconv.layers.core import InputLayer
from fastconv.saving import keras_names, serialization

__all__ = ["keras_layers", "write_store", "read_store", "write_legacy_weights",
           "read_legacy_weights", "keras_optimizer_state", "restore_keras_optimizer_state",
           "KERAS_VERSION", "numbered_arrays", "write_legacy_optimizer", "read_legacy_optimizer"]

KERAS_VERSION = "3.15.1"  # the Keras release whose file layout this follows (checked live in CI)

_KERAS_SLOT_GROUPS = {
    "SGD": (("momentum",),),
    "Adam": (("momentum", "velocity"), ("velocity_hat",)),
    "AdamW": (("momentum", "velocity"), ("velocity_hat",)),
    "Nadam": (("momentum", "velocity"),),
    "RMSprop": (("velocity",), ("momentum",), ("average_gradient",)),
    "Adagrad": (("accumulator",),),
}


# --------------------------------------------------------------------------- layers
def keras_layers(model, prefix=""):
    """`[(store path, layer)]` of the model's `layers`, in Keras's order and naming."""
    layers = model.layers
    if type(model).__name__ == "Sequential":
        layers = [layer for layer in layers if not isinstance(layer, InputLayer)]
    used, paths = {}, []
    for layer in layers:
        base = keras_names.to_snake_case(keras_names.keras_class_name(type(layer).__name__))
        count = used.get(base)
        used[base] = 0 if count is None else count + 1
        name = base if count is None else f"{base}_{count + 1}"
        paths.append((f"{prefix}layers/{name}", layer))
    return paths


def write_store(h5, model, optimizer_state=None, prefix=""):
    """Writes the weights (and `optimizer_state`: (name, arrays)) in the store layout; a
    nested model's layers go below its own group, as Keras walks them."""
    h5.create_group(f"{prefix}vars").attrs["name"] = model.name
    for path, layer in keras_layers(model, prefix):
        if serialization.is_model(layer):
            write_store(h5, layer, prefix=path + "/")
            continue
        group = h5.create_group(path).create_group("vars")
        group.attrs["name"] = layer.name
        for index, weight in enumerate(layer.weights):
            group.create_dataset(str(index), data=np.asarray(weight))
    if optimizer_state is not None:
        name, values = optimizer_state
        group = h5.create_group("optimizer").create_group("vars")
        group.attrs["name"] = name
        for index, value in enumerate(values):
            group.create_dataset(str(index), data=np.asarray(value))


def _check_values(reader, layer, params, values, where):
    if len(values) != len(params):
        raise reader.fail(f"layer '{layer.name}' ({type(layer).__name__}) has "
                          f"{len(params)} weights, but {where} holds {len(values)}")
    for index, (param, value) in enumerate(zip(params, values)):
        if value.shape != param.shape:
            raise reader.fail(f"shape mismatch for layer '{layer.name}' weight {index}: the "
                              f"model expects {param.shape}, {where} holds {value.shape}")
        if value.dtype.kind != "f":
            raise reader.fail(f"{where} holds {value.dtype} for layer '{layer.name}'; weights "
                              "must be floats")


def numbered_arrays(reader, path):
    """The datasets "0", "1", ... of a `vars` group, in order."""
    keys = reader.keys(path)
    expected = [str(i) for i in range(len(keys))]
    if sorted(keys, key=lambda k: (len(k), k)) != expected:
        raise reader.fail(f"{path!r} must hold datasets named 0..{len(keys) - 1}; found "
                          f"{sorted(keys)[:20]}")
    return [reader.array(f"{path}/{key}") for key in expected]


def read_store(reader, model, prefix=""):
    """`[(layer, arrays)]` for every layer with weights (those of nested models included),
    checked against the model."""
    result = []
    for path, layer in keras_layers(model, prefix):
        if serialization.is_model(layer):
            result.extend(read_store(reader, layer, prefix=path + "/"))
            continue
        if not layer.weights:
            continue
        if reader.group(path + "/vars", required=False) is None:
            raise reader.fail(f"no weights for layer '{layer.name}' ({type(layer).__name__}): "
                              f"the file has no group {path + '/vars'!r} (is it a model of "
                              "the same architecture?)")
        values = numbered_arrays(reader, path + "/vars")
        _check_values(reader, layer, layer.weights, values, f"{path}/vars")
        result.append((layer, values))
    return result


# --------------------------------------------------------------------------- legacy .h5
def _names_attribute(values):
    encoded = [value.encode("utf-8") for value in values]
    return np.array(encoded) if encoded else np.array([], dtype=np.float64)


def _legacy_weights(layer):
    """(names, arrays) of a layer's weights in Keras's legacy order: trainable first (a
    nested model's are its layers' weights, so its BatchNormalization statistics come last)."""
    names = dict(zip(map(id, layer.weights), serialization.weight_names(layer)))
    arrays = list(layer.trainable_weights) + [
        w for w in layer.non_trainable_weights if id(w) not in
        {id(t) for t in layer.trainable_weights}]
    return [f"{layer.name}/{names[id(array)]}" for array in arrays], arrays


def write_legacy_weights(group, model, backend_name="numpy"):
    """Writes `model_weights` as Keras's legacy .h5 format does."""
    layers = [layer for _, layer in keras_layers(model)] \
        if type(model).__name__ == "Sequential" else list(model.layers)
    group.attrs["layer_names"] = _names_attribute([layer.name for layer in layers])
    group.attrs["backend"] = backend_name.encode("utf-8")
    group.attrs["keras_version"] = KERAS_VERSION.encode("utf-8")
    for layer in sorted(layers, key=lambda layer: layer.name):
        layer_group = group.create_group(layer.name)
        names, arrays = _legacy_weights(layer)
        layer_group.attrs["weight_names"] = _names_attribute(names)
        for name, array in zip(names, arrays):
            layer_group.create_dataset(name, data=np.asarray(array))
    group.create_group("top_level_model_weights").attrs["weight_names"] = _names_attribute([])


def _join(*parts):
    return "/".join(part for part in parts if part)


def read_legacy_weights(reader, model, path="model_weights"):
    """`[(layer, arrays in `layer.weights` order)]` from a legacy group ("" = the file's
    root, as a legacy `save_weights` file), matched by order as Keras does."""
    layers = [layer for layer in ([layer for _, layer in keras_layers(model)]
                                  if type(model).__name__ == "Sequential" else model.layers)
              if layer.weights]
    saved = []
    for name in reader.name_list(path, "layer_names"):
        if "/" in name or name in (".", ".."):
            raise reader.fail(f"invalid layer name {name!r:.100} in {path!r}")
        weight_names = reader.name_list(_join(path, name), "weight_names")
        if weight_names:
            saved.append((name, weight_names))
    if len(saved) != len(layers):
        raise reader.fail(f"the file holds weights for {len(saved)} layers "
                          f"({[name for name, _ in saved][:20]}), but model '{model.name}' has "
                          f"{len(layers)} layers with weights "
                          f"({[layer.name for layer in layers][:20]})")
    result = []
    for layer, (name, weight_names) in zip(layers, saved):
        values = [reader.array(_join(path, name, weight)) for weight in weight_names]
        _, params = _legacy_weights(layer)
        _check_values(reader, layer, params, values, f"the file's layer {name!r}")
        by_id = {id(param): value for param, value in zip(params, values)}
        result.append((layer, [by_id[id(weight)] for weight in layer.weights]))
    top_path = _join(path, "top_level_model_weights")
    top = reader.name_list(top_path, "weight_names") if reader.has(top_path) else []
    if top:
        raise reader.fail("the file holds top-level model weights; fastconv models have none")
    return result


def write_legacy_optimizer(h5, optimizer_state):
    name, values, names = optimizer_state
    group = h5.create_group("optimizer_weights")
    full = [f"{name}/{weight}" for weight in names]
    group.attrs["weight_names"] = _names_attribute(full)
    for weight, value in zip(full, values):
        group.create_dataset(weight, data=np.asarray(value))


def read_legacy_optimizer(reader):
    if not reader.has("optimizer_weights"):
        return []
    return [reader.array(f"optimizer_weights/{name}")
            for name in reader.name_list("optimizer_weights", "weight_names")]


# --------------------------------------------------------------------------- optimizer
def _slot_order(optimizer):
    """[(variable index, slot name)] in Keras's order, or None for an unknown optimizer."""
    groups = _KERAS_SLOT_GROUPS.get(type(optimizer).__name__)
    if groups is None:
        return None
    active = optimizer._active_slots()
    count = len(optimizer._slots or ())
    order = []
    for group in groups:
        names = [name for name in group if name in active]
        order.extend((index, name) for index in range(count) for name in names)
    return order


def keras_optimizer_state(model):
    """(name, arrays, dataset names) of the optimizer in Keras's variable order, or None
    when fastconv does not know Keras's order for this optimizer."""
    optimizer = model.optimizer
    order = _slot_order(optimizer)
    if order is None:
        return None
    variables = optimizer.variables()
    active = optimizer._active_slots()
    slots = variables[1:1 + len(active) * len(optimizer._slots or ())]
    extra = variables[1 + len(slots):]
    values = [np.array(optimizer.iterations, dtype=np.int64)]
    names = ["iteration"]
    if optimizer._schedule is None:
        values.append(np.array(optimizer.learning_rate, dtype=np.float32))
        names.append("learning_rate")
    for index, slot in order:
        values.append(slots[index * len(active) + active.index(slot)])
        names.append(f"{slot}_{index}")  # of trainable weight `index`
    for position, value in enumerate(extra):
        values.append(value)
        names.append(f"extra_{position}")
    return optimizer.name, values, names


def restore_keras_optimizer_state(reader, model, values):
    """Sets the optimizer state from Keras's variables (after compile)."""
    optimizer = model.optimizer
    order = _slot_order(optimizer)
    if order is None or not values:
        return
    iterations = values[0]
    if iterations.shape != () or iterations.dtype.kind not in "iu" or int(iterations) < 0:
        raise reader.fail("the optimizer's first variable must be its step count (a 0-d "
                          f"integer >= 0); found shape {iterations.shape}, {iterations.dtype}")
    rest = list(values[1:])
    if optimizer._schedule is None and rest:
        rate = rest.pop(0)
        if rate.shape != () or rate.dtype.kind != "f":
            raise reader.fail("the optimizer's second variable must be its learning rate")
        optimizer.learning_rate = float(rate)
    if not rest:  # Keras saved an optimizer that never stepped: no slots yet
        optimizer.iterations = int(iterations)
        return
    extra = len(optimizer._extra_state())
    if not optimizer.built:
        optimizer.build(model.trainable_weights)
    order = _slot_order(optimizer)
    if len(rest) != len(order) + extra:
        raise reader.fail(f"the file holds {len(rest)} optimizer slot arrays; "
                          f"{type(optimizer).__name__} on this model has {len(order) + extra}")
    active = optimizer._active_slots()
    slots = [None] * len(order)
    for value, (index, slot) in zip(rest, order):
        slots[index * len(active) + active.index(slot)] = value
    try:
        optimizer.set_variables([iterations] + slots + rest[len(order):])
    except (ValueError, TypeError, IndexError, OverflowError) as error:
        raise reader.fail(f"the optimizer state does not fit the model: {error}") from None
