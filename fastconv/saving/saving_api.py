"""`save_model` / `load_model` / `save_weights` / `load_weights`.

The file name picks the format, as in Keras 3: ".keras" is Keras 3's zip,
".weights.h5" Keras 3's weights file, ".h5"/".hdf5" Keras's legacy HDF5
(`keras_format`; all need h5py). Any other name, or `save_format="fastconv"`,
writes fastconv's own zip (described in `fastconv/saving/__init__.py`), which is
also the fallback, with a warning, when h5py is not installed. Loading reads
each of these, whatever the name: the file's first bytes tell them apart.
"""

import contextlib
import datetime
import math
import os
import warnings

import numpy as np

from fastconv import backend
from fastconv._version import __version__
from fastconv.layers.base import weight_allocation_check
from fastconv.saving import keras_format, serialization
from fastconv.saving.archive import (
    _ARRAY_ENTRY, FORMAT_NAME, FORMAT_VERSION, ArchiveReader, ModelFileError, write_archive,
)
from fastconv.saving.h5_io import have_h5py, is_hdf5
from fastconv.saving.object_registration import custom_objects_in_scope

__all__ = ["save_model", "load_model", "save_weights", "load_weights"]

KIND_MODEL = "model"
KIND_WEIGHTS = "weights"


# --------------------------------------------------------------------------- saving
def _layers_with_weights(model):
    return [layer for layer in model._chain if layer.weights]


def _weights_document(model, arrays):
    """weights.json, and the arrays it names added to `arrays`."""
    layers = []
    for layer in _layers_with_weights(model):
        entries = []
        for name, array in zip(serialization.weight_names(layer), layer.weights):
            file = f"weights/{len(arrays):05d}.npy"
            arrays[file] = array
            entries.append({"name": name, "shape": list(array.shape), "dtype": array.dtype.name,
                            "file": file})
        layers.append({"name": layer.name, "class_name": type(layer).__name__,
                       "weights": entries})
    return {"layers": layers, "optimizer_state": []}


def _metadata(kind, contents):
    return {
        "format": FORMAT_NAME,
        "format_version": FORMAT_VERSION,
        "fastconv_version": __version__,
        "kind": kind,
        "date_saved": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "contents": contents,
    }


def _check_model(model, method):
    if not serialization.is_model(model):
        raise TypeError(f"`{method}` expects a fastconv Model. Received: {model!r}")
    if not model.built:
        raise ValueError(
            f"Model '{model.name}' is not built yet, so it has no weights to save. Build it "
            "(give the first layer an input shape, or call `fit`, `predict` or `build`) first."
        )


_FORMATS = {"keras": "a Keras 3 .keras file", "weights_h5": "a Keras 3 .weights.h5 file",
            "legacy_h5": "a Keras .h5 file"}


def _file_format(filepath, save_format, weights):
    """"keras", "weights_h5", "legacy_h5" or "fastconv" for a save to `filepath`."""
    if save_format not in (None, "keras", "h5", "fastconv"):
        raise ValueError(f"Unknown save_format {save_format!r}; expected 'keras', 'h5' or "
                         "'fastconv' (fastconv's own zip format).")
    if save_format == "fastconv":
        return "fastconv"
    name = os.fspath(filepath).lower()
    if weights and name.endswith(".weights.h5"):
        chosen = "weights_h5"
    elif name.endswith((".h5", ".hdf5")) or save_format == "h5":
        chosen = "legacy_h5"
    elif name.endswith(".keras") and not weights:
        chosen = "keras"
    else:
        return "fastconv"
    if not have_h5py():
        warnings.warn(
            f"h5py is not installed, so {os.fspath(filepath)!r} is written in fastconv's own zip "
            f"format (fastconv loads it; Keras cannot). Install h5py (`pip install h5py` or "
            f"`pip install fastconv[h5]`) to write {_FORMATS[chosen]}.", stacklevel=4)
        return "fastconv"
    return chosen


def save_model(model, filepath, overwrite=True, include_optimizer=True, **kwargs):
    """Saves the architecture, weights, compile arguments and optimizer state to one file.

    Args:
        model: a built fastconv model.
        filepath: where to write. "model.keras" writes Keras 3's format and
            "model.h5" Keras's legacy HDF5 format, both loadable by Keras
            (they need h5py; without it, fastconv's own zip is written with a
            warning). Any other name writes fastconv's own zip format.
        overwrite: whether to replace an existing file.
        include_optimizer: whether to store the compile arguments and the
            optimizer state (so `load_model` can resume training).
        **kwargs: `save_format` ("keras", "h5", or "fastconv" for fastconv's
            own zip whatever the name); `zipped`, `options` (Keras
            compatibility; ignored).

    Raises:
        ValueError: the model is not built, or holds something fastconv
            cannot store (a custom metric or a learning-rate schedule).
        OSError: the file cannot be written (the previous file is kept).
    """
    for key in kwargs:
        if key not in ("save_format", "zipped", "options", "signatures", "save_traces"):
            raise TypeError(f"save() got an unexpected keyword argument {key!r}")
    _check_model(model, "save")
    chosen = _file_format(filepath, kwargs.get("save_format"), weights=False)
    if chosen == "keras":
        keras_format.save_keras(model, filepath, overwrite, include_optimizer)
        return
    if chosen == "legacy_h5":
        keras_format.save_legacy_h5(model, filepath, overwrite, include_optimizer)
        return
    arrays = {}
    weights_doc = _weights_document(model, arrays)
    compile_doc = serialization.compile_config(model) if include_optimizer else None
    if compile_doc is not None and model.optimizer is not None:
        for value in model.optimizer.variables():
            file = f"optimizer/{len(weights_doc['optimizer_state']):05d}.npy"
            weights_doc["optimizer_state"].append(file)
            arrays[file] = np.asarray(value)
    config_doc = {"model": serialization.serialize_model(model), "compile": compile_doc}
    contents = {"config": True, "compile": compile_doc is not None,
                "weights": sum(len(layer["weights"]) for layer in weights_doc["layers"]),
                "optimizer_state": len(weights_doc["optimizer_state"])}
    documents = {"metadata.json": _metadata(KIND_MODEL, contents), "config.json": config_doc,
                 "weights.json": weights_doc}
    write_archive(filepath, documents, arrays, overwrite=overwrite)


def save_weights(model, filepath, overwrite=True, **kwargs):
    """Saves only the weights.

    "x.weights.h5" writes Keras 3's weights file, "x.h5" Keras's legacy HDF5
    weights layout (both need h5py; without it, fastconv's zip is written with
    a warning); any other name (or `save_format="fastconv"`) writes
    fastconv's own zip with `"kind": "weights"`.

    Raises:
        ValueError: the model is not built.
        OSError: the file cannot be written (the previous file is kept).
    """
    for key in kwargs:
        if key not in ("save_format", "options"):
            raise TypeError(f"save_weights() got an unexpected keyword argument {key!r}")
    _check_model(model, "save_weights")
    chosen = _file_format(filepath, kwargs.get("save_format"), weights=True)
    if chosen != "fastconv":
        keras_format.save_weights_h5(model, filepath, overwrite, legacy=chosen == "legacy_h5")
        return
    arrays = {}
    weights_doc = _weights_document(model, arrays)
    contents = {"config": False, "compile": False,
                "weights": sum(len(layer["weights"]) for layer in weights_doc["layers"]),
                "optimizer_state": 0}
    documents = {"metadata.json": _metadata(KIND_WEIGHTS, contents), "weights.json": weights_doc}
    write_archive(filepath, documents, arrays, overwrite=overwrite)


# --------------------------------------------------------------------------- loading
def _fail(reader, problem):
    return ModelFileError(reader.path, problem)


def _read_metadata(reader, kind):
    metadata = reader.read_json("metadata.json")
    if not isinstance(metadata, dict) or metadata.get("format") != FORMAT_NAME:
        raise _fail(reader, "not a fastconv file (metadata.json does not declare "
                            f"format {FORMAT_NAME!r})")
    version = metadata.get("format_version")
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise _fail(reader, f"invalid format_version {version!r:.50} in metadata.json")
    if version > FORMAT_VERSION:
        raise _fail(reader, f"written in format_version {version} by fastconv "
                            f"{str(metadata.get('fastconv_version'))[:40]}; this fastconv "
                            f"({__version__}) reads up to format_version {FORMAT_VERSION}. "
                            "Upgrade fastconv to load it.")
    found = metadata.get("kind")
    if found not in (KIND_MODEL, KIND_WEIGHTS):
        raise _fail(reader, f"unknown kind {found!r:.50} in metadata.json")
    if kind == KIND_MODEL and found == KIND_WEIGHTS:
        raise _fail(reader, "this file holds only weights (written by `save_weights`); load it "
                            "with `model.load_weights(path)` into a model of the same architecture")
    return metadata


def _shape(value):
    if not isinstance(value, list) or len(value) > 32 or not all(
            isinstance(d, int) and not isinstance(d, bool) and 0 <= d < 2 ** 48 for d in value):
        return None
    return tuple(value)


def _read_manifest(reader):
    """weights.json, validated: `[(layer name, class name, [(name, shape, file)])]`, state files."""
    document = reader.read_json("weights.json")
    if not isinstance(document, dict) or not isinstance(document.get("layers"), list):
        raise _fail(reader, "weights.json must be an object with a 'layers' list")
    files, layers = set(), []
    for index, layer in enumerate(document["layers"]):
        if not (isinstance(layer, dict) and isinstance(layer.get("name"), str)
                and isinstance(layer.get("weights"), list)):
            raise _fail(reader, f"weights.json layer entry {index} must have a string 'name' and "
                                "a 'weights' list")
        entries = []
        for weight in layer["weights"]:
            shape = _shape(weight.get("shape")) if isinstance(weight, dict) else None
            file = weight.get("file") if isinstance(weight, dict) else None
            if (shape is None or not isinstance(file, str)
                    or not isinstance(weight.get("name"), str) or not _ARRAY_ENTRY.match(file)
                    or not file.startswith("weights/")):
                raise _fail(reader, f"weights.json: invalid weight entry in layer "
                                    f"{layer['name']!r:.100}: {weight!r:.200}")
            if file in files:
                raise _fail(reader, f"weights.json names {file} twice")
            if not reader.has(file):
                raise _fail(reader, f"missing zip entry {file!r} (weight {weight['name']!r:.50} of "
                                    f"layer {layer['name']!r:.100})")
            if math.prod(shape) > reader.entry_size(file):
                raise _fail(reader, f"weights.json declares shape {shape} for {file}, which "
                                    f"holds only {reader.entry_size(file)} bytes")
            files.add(file)
            entries.append((weight["name"], shape, file))
        layers.append((layer["name"], str(layer.get("class_name", "?"))[:100], entries))
    state = document.get("optimizer_state", [])
    if not isinstance(state, list) or not all(
            isinstance(f, str) and _ARRAY_ENTRY.match(f) and f.startswith("optimizer/")
            for f in state) or len(set(state)) != len(state):
        raise _fail(reader, "weights.json: 'optimizer_state' must be a list of distinct "
                            "optimizer/NNNNN.npy entries")
    for file in state:
        if not reader.has(file):
            raise _fail(reader, f"missing zip entry {file!r} (optimizer state)")
    return layers, state


def _weight_budget(reader, manifest):
    """A check for `add_weight` that refuses weights beyond what the file's arrays hold."""
    total = 0
    for _, _, entries in manifest:
        for _, shape, file in entries:
            total += math.prod(shape)
    remaining = [total]

    def charge(layer_name, shape, dtype):
        size = math.prod(shape)
        if size > remaining[0]:
            raise _fail(reader, f"layer {layer_name!r:.100} would create a weight of shape "
                                f"{shape}, more values than the file's weights hold")
        remaining[0] -= size
    return charge


@contextlib.contextmanager
def _building_from_file(charge):
    """Rebuilds without touching the global random state (so training resumes identically)."""
    generator = backend.random_generator()
    state = generator.bit_generator.state
    token = weight_allocation_check.set(charge)
    try:
        yield
    finally:
        weight_allocation_check.reset(token)
        generator.bit_generator.state = state


def _assign_weights(reader, model, manifest):
    layers = _layers_with_weights(model)
    saved = [entry for entry in manifest if entry[2]]
    if len(saved) != len(layers):
        raise _fail(reader, f"the file holds weights for {len(saved)} layers "
                            f"({[name for name, _, _ in saved][:20]}), but model "
                            f"'{model.name}' has {len(layers)} layers with weights "
                            f"({[layer.name for layer in layers][:20]})")
    for layer, (saved_name, class_name, entries) in zip(layers, saved):
        params = layer.weights
        if len(entries) != len(params):
            raise _fail(reader, f"layer '{layer.name}' ({type(layer).__name__}) has "
                                f"{len(params)} weights, but the file's layer {saved_name!r} "
                                f"({class_name}) has {len(entries)}")
        values = []
        for param, (weight_name, shape, file) in zip(params, entries):
            array = reader.read_array(file)
            if array.shape != shape:
                raise _fail(reader, f"{file} has shape {array.shape}, but weights.json declares "
                                    f"{shape}")
            if array.shape != param.shape:
                raise _fail(reader, f"shape mismatch for layer '{layer.name}' weight "
                                    f"'{weight_name}': the model expects {param.shape}, the file "
                                    f"(layer {saved_name!r}) holds {array.shape}")
            if array.dtype.kind != "f":
                raise _fail(reader, f"{file} holds {array.dtype}; weights must be floats")
            values.append(array)
        layer.set_weights(values)


def _restore_optimizer(reader, model, state_files):
    values = [reader.read_array(file) for file in state_files]
    if not values:
        return
    iterations = values[0]
    if iterations.shape != () or iterations.dtype.kind not in "iu" or int(iterations) < 0:
        raise _fail(reader, f"{state_files[0]} must hold the optimizer's step count (a 0-d "
                            f"integer >= 0); found shape {iterations.shape}, {iterations.dtype}")
    for file, value in zip(state_files[1:], values[1:]):
        if value.dtype.kind != "f":
            raise _fail(reader, f"{file} holds {value.dtype}; optimizer state must be floats")
    optimizer = model.optimizer
    extra = len(optimizer._extra_state())
    try:
        if len(values) > 1 + extra and not optimizer.built:
            optimizer.build(model.trainable_weights)
        optimizer.set_variables(values)
    except (ValueError, TypeError, IndexError, OverflowError) as error:
        raise _fail(reader, f"the optimizer state does not fit the model: {error}") from None


def load_model(filepath, custom_objects=None, compile=True, safe_mode=True, **kwargs):
    """Loads a model saved by `model.save`, by Keras 3 (.keras, .h5) or by fastconv 0.1.

    The model is rebuilt from its config, its weights restored, and (with
    `compile=True`) it is compiled again with the saved optimizer, loss and
    metrics and the optimizer state is restored, so `fit` continues where it
    stopped. The global random state is left as it was.

    Args:
        filepath: a Keras 3 .keras file, a Keras .h5 model file (both need
            h5py), or a fastconv zip file, whatever its name.
        custom_objects: optional `{class name: Layer or Model subclass}` for
            custom classes in the file (added to the classes registered with
            `register_keras_serializable` and those of `custom_object_scope`).
        compile: whether to compile the model as it was when saved.
        safe_mode: accepted for Keras compatibility; loading is always safe
            (nothing in the file is executed or imported).
        **kwargs: `options` (Keras compatibility; ignored).

    Returns:
        The model.

    Raises:
        ModelFileError (a ValueError): the file is not a model file fastconv
            reads, is damaged, truncated, too large, crafted, or from a newer
            format, or uses a layer or feature fastconv does not have.
        ImportError: an HDF5-based file and h5py is not installed.
        OSError: the file cannot be opened.
    """
    del safe_mode
    for key in kwargs:
        if key != "options":
            raise TypeError(f"load_model() got an unexpected keyword argument {key!r}")
    if custom_objects is not None and not isinstance(custom_objects, dict):
        raise TypeError(f"`custom_objects` must be a dict. Received: {custom_objects!r}")
    custom_objects = custom_objects_in_scope(custom_objects)
    if is_hdf5(filepath):
        return keras_format.load_legacy_h5(filepath, custom_objects, compile)
    with ArchiveReader(filepath) as reader:
        if reader.is_keras:
            return keras_format.load_keras(reader, custom_objects, compile)
        _read_metadata(reader, KIND_MODEL)
        config = reader.read_json("config.json")
        if not isinstance(config, dict) or not isinstance(config.get("model"), dict):
            raise _fail(reader, "config.json must be an object with a 'model' entry")
        manifest, state_files = _read_manifest(reader)
        with _building_from_file(_weight_budget(reader, manifest)):
            try:
                model = serialization.deserialize_model(config["model"], custom_objects)
                if not model.built:
                    raise ValueError("the saved model has no input shape, so it cannot be built")
            except ModelFileError:
                raise
            except (RecursionError, MemoryError) as error:
                raise _fail(reader, f"invalid model config ({type(error).__name__})") from None
            except Exception as error:  # any rejection of untrusted config is a file problem
                raise _fail(reader, f"invalid model config: {type(error).__name__}: "
                                    f"{str(error)[:500]}") from None
        _assign_weights(reader, model, manifest)
        compile_doc = config.get("compile")
        if compile and compile_doc is not None:
            try:
                serialization.compile_from_config(model, compile_doc)
            except (ValueError, TypeError, KeyError, AttributeError) as error:
                raise _fail(reader, f"invalid compile config: {type(error).__name__}: "
                                    f"{str(error)[:500]}") from None
            _restore_optimizer(reader, model, state_files)
    return model


def load_weights(model, filepath, skip_mismatch=False, **kwargs):
    """Loads weights saved by `save_weights` or `save` into `model`, layer by layer in order.

    Args:
        model: a built model of the same architecture.
        filepath: a file written by `save_weights` or `save`, by fastconv or
            by Keras 3 (.weights.h5, .keras, legacy .h5).
        skip_mismatch: not supported (must be False).

    Raises:
        ModelFileError (a ValueError): a bad file, or a layer count or weight
            shape that does not match (the message names the layer).
    """
    for key in kwargs:
        if key not in ("by_name", "options"):
            raise TypeError(f"load_weights() got an unexpected keyword argument {key!r}")
    if kwargs.get("by_name"):
        raise ValueError("load_weights(by_name=True) is not supported; weights are matched by "
                         "layer order.")
    if skip_mismatch:
        raise ValueError("load_weights(skip_mismatch=True) is not supported.")
    _check_model(model, "load_weights")
    # Every loader reads and checks all arrays before assigning any; the backup covers a
    # failure while assigning, so the model is left as it was.
    backup = model.get_weights()
    try:
        if is_hdf5(filepath):
            keras_format.load_weights_h5(model, filepath)
            return
        with ArchiveReader(filepath) as reader:
            if reader.is_keras:
                keras_format.load_weights_from_keras_zip(model, reader)
                return
            _read_metadata(reader, KIND_WEIGHTS)
            manifest, _ = _read_manifest(reader)
            _assign_weights(reader, model, manifest)
    except BaseException:
        model.set_weights(backup)
        raise
