"""`plot_model` / `model_to_dot`: a model's layer graph drawn by Graphviz through pydot, as
Keras does (both are optional: `pip install pydot` and Graphviz's `dot` program)."""

import os

from fastconv.layers.core import InputLayer
from fastconv.saving.keras_config import tensor_specs

__all__ = ["model_to_dot", "plot_model"]


def _pydot():
    try:
        import pydot
    except ImportError:
        raise ImportError("You must install pydot (`pip install pydot`, or "
                          "`pip install fastconv[graph]`) for `plot_model` to work.") from None
    return pydot


def _edges(config):
    """[(parent layer name, layer name)] from the model's config, each once."""
    entries = config["layers"]
    if "input_layers" not in config:  # a Sequential: a chain
        names = [entry["config"]["name"] for entry in entries]
        return list(zip(names, names[1:]))
    edges = []
    for entry in entries:
        for node in entry.get("inbound_nodes", []):
            for reference in node:
                edge = (reference[0], entry["name"])
                if edge not in edges:
                    edges.append(edge)
    return edges


def _output_shapes(specs):
    """{layer name: its first call's output shape (a list of them for several outputs)}."""
    shapes = {}
    for (name, node, index), (shape, _) in sorted(specs.items()):
        if node == 0:
            shapes.setdefault(name, []).append(shape)
    return {name: found[0] if len(found) == 1 else found for name, found in shapes.items()}


def _label(layer, output_shape, show_shapes, show_dtype, show_layer_names,
           show_layer_activations, show_trainable):
    class_name = type(layer).__name__
    parts = [f"{layer.name} ({class_name})" if show_layer_names else class_name]
    activation = layer.get_config().get("activation")
    if show_layer_activations and isinstance(activation, str):
        parts.append(f"activation: {activation}")
    if show_dtype:
        parts.append(f"dtype: {layer.dtype}")
    if show_shapes and output_shape is not None:
        parts.append(f"output: {output_shape}")
    if show_trainable:
        parts.append(f"trainable: {'Y' if layer.trainable else 'N'}")
    return "\n".join(parts)


def model_to_dot(model, show_shapes=False, show_dtype=False, show_layer_names=True,
                 rankdir="TB", expand_nested=False, dpi=200, subgraph=False,
                 show_layer_activations=False, show_trainable=False, **kwargs):
    """The model's layer graph as a `pydot.Dot` (one box per layer, arrows along the data).

    Raises:
        ImportError: pydot is not installed.
        ValueError: the model is not built.
    """
    del expand_nested, subgraph, kwargs
    pydot = _pydot()
    if not model.built:
        raise ValueError("This model has not yet been built. Build the model first by calling "
                         "`build()` or by calling the model on a batch of data.")
    if rankdir not in ("TB", "LR"):
        raise ValueError(f"`rankdir` must be 'TB' or 'LR'. Received: rankdir={rankdir!r}")
    dot = pydot.Dot()
    dot.set("rankdir", rankdir)
    dot.set("concentrate", True)
    dot.set("dpi", dpi)
    dot.set_node_defaults(shape="record")
    config = model.get_config()
    edges = _edges(config)
    shapes = _output_shapes(tensor_specs(model))
    layers = {layer.name: layer for layer in model.layers}
    for entry in config["layers"]:
        name = entry.get("name", entry["config"]["name"])
        layer = layers.get(name)
        if layer is None:  # a Sequential's InputLayer, which `layers` does not list
            layer = InputLayer(batch_shape=entry["config"]["batch_shape"], name=name)
        label = _label(layer, shapes.get(name), show_shapes, show_dtype, show_layer_names,
                       show_layer_activations, show_trainable)
        dot.add_node(pydot.Node(name, label=label.replace("\n", "\\n")))
    for parent, child in edges:
        dot.add_edge(pydot.Edge(parent, child))
    return dot


def plot_model(model, to_file="model.png", show_shapes=False, show_dtype=False,
               show_layer_names=True, rankdir="TB", expand_nested=False, dpi=200,
               show_layer_activations=False, show_trainable=False, **kwargs):
    """Draws the model's layer graph to `to_file` (format from its extension: png, svg,
    pdf, ..., or "dot" for the Graphviz source, which needs no Graphviz).

    Raises:
        ImportError: pydot, or Graphviz's `dot` program for a rendered format, is missing.

    Example:
        >>> import fastconv as keras
        >>> model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)])
        >>> keras.utils.plot_model(model, "model.png", show_shapes=True)  # doctest: +SKIP
    """
    dot = model_to_dot(model, show_shapes=show_shapes, show_dtype=show_dtype,
                       show_layer_names=show_layer_names, rankdir=rankdir,
                       expand_nested=expand_nested, dpi=dpi,
                       show_layer_activations=show_layer_activations,
                       show_trainable=show_trainable, **kwargs)
    extension = os.path.splitext(os.fspath(to_file))[1][1:].lower() or "png"
    if extension in ("dot", "gv"):
        dot.write(to_file, format="raw")
        return None
    try:
        dot.create(prog="dot", format="png")
    except (OSError, AssertionError) as error:  # pydot's "program not found" / "dot failed"
        raise ImportError("You must install Graphviz (its `dot` program; see "
                          "https://graphviz.gitlab.io/download/) for `plot_model` to work. "
                          f"({error})") from None
    dot.write(to_file, format=extension)
    return None
