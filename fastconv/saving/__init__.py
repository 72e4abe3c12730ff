"""Saving and loading models and weights: Keras 3's files and fastconv's own.

The file name picks the format when saving, as in Keras 3: "x.keras" is Keras
3's zip (config.json, metadata.json, model.weights.h5), "x.weights.h5" Keras
3's weights file, "x.h5" Keras's legacy HDF5 model file; Keras loads all three
(`keras_format`, `keras_config`, `keras_weights`; they need h5py). Any other
name, `save_format="fastconv"`, or a missing h5py (with a warning) writes
fastconv's own format below. Loading reads all of them, whatever the name.

fastconv's own format ("fastconv-model", format_version 1)
-----------------------------------------------------------
One zip archive (fastconv 0.1 wrote it under every name: `model.keras`,
`best-cnn-model.h5`, `x.hdf5`; those files still load). It never contains
pickles and loading never executes or imports anything named in the file.

Entries (no others are allowed):

``metadata.json`` (always)
    ``{"format": "fastconv-model", "format_version": 1,
    "fastconv_version": "0.1.0", "kind": "model" | "weights",
    "date_saved": ISO-8601 UTC, "contents": {"config": bool, "compile": bool,
    "weights": <number of weight arrays>, "optimizer_state": <number of arrays>}}``.
    A reader refuses a higher ``format_version`` than it knows.

``config.json`` (kind "model")
    ``{"model": {"class_name": "Sequential" | "Functional", "config": ...},
    "compile": null | {"optimizer": {"class_name", "config"},
    "loss": null | {"class_name", "config"}, "loss_weights": float,
    "metrics": [name or {"class_name", "config"}], "weighted_metrics": [...]}}``.
    A Sequential config is ``{"name", "trainable", "layers": [{"class_name",
    "config"}]}`` (InputLayer first); a functional config lists each layer
    once and adds, per layer, ``"name"`` and ``"inbound_nodes"`` (for each call
    of the layer, the ``[layer name, node index, tensor index]`` of the tensors it read;
    files of fastconv 0.1 give ``"inbound_layers"``, names, instead), and
    ``"input_layers"`` / ``"output_layers"`` (such references; with
    ``"input_keys"`` / ``"output_keys"`` when they were dicts). A nested model
    is a layer entry whose config is a model config. Layer configs are each
    layer's ``get_config()``.

``weights.json`` (always)
    ``{"layers": [{"name", "class_name", "weights": [{"name", "shape",
    "dtype", "file"}]}], "optimizer_state": [file, ...]}``: the layers that
    have weights, in model order, each weight in ``layer.weights`` order.

``weights/NNNNN.npy``, ``optimizer/NNNNN.npy``
    Arrays written by ``np.save(allow_pickle=False)`` (stored, not deflated).
    The optimizer state is ``optimizer.variables()``: the step count (0-d
    int64), then the slots of each variable, then any extra state.

Writes go to a temporary file in the target directory, are flushed and
fsync'ed, then renamed over the target with ``os.replace``: an interrupted
save leaves the previous file as it was. Reads check the zip directory
against `archive.Limits` before decompressing anything and raise
`ModelFileError` (a ValueError) naming the file and the problem.
"""

from fastconv.saving.archive import (
    DEFAULT_LIMITS, FORMAT_NAME, FORMAT_VERSION, Limits, ModelFileError,
)
from fastconv.saving.object_registration import (
    CustomObjectScope, custom_object_scope, get_custom_objects, get_registered_name,
    get_registered_object, register_keras_serializable,
)
from fastconv.saving.saving_api import load_model, load_weights, save_model, save_weights
from fastconv.saving.serialization import (
    deserialize_layer, deserialize_model, layer_registry, register_layer, serialize_layer,
    serialize_model,
)

__all__ = [
    "save_model", "load_model", "save_weights", "load_weights", "ModelFileError", "Limits",
    "DEFAULT_LIMITS", "FORMAT_NAME", "FORMAT_VERSION", "register_layer", "layer_registry",
    "serialize_layer", "deserialize_layer", "serialize_model", "deserialize_model",
    "register_keras_serializable", "get_custom_objects", "custom_object_scope",
    "CustomObjectScope", "get_registered_name", "get_registered_object",
]
