"""Keras 3's files: the .keras zip, .weights.h5, and the legacy .h5 model file.

`.keras`: a zip of `metadata.json` (`{"keras_version", "date_saved"}`),
`config.json` (the model in Keras's serialization layout, with
`compile_config`) and `model.weights.h5` (the weights store of
`keras_weights`, with the optimizer state). `.weights.h5`: that store alone.
`.h5`: root attributes `model_config` and `training_config` (JSON),
`keras_version`, `backend`; groups `model_weights` and `optimizer_weights`.

Loading builds the model through `keras_config.model_from_keras`, reads every
array (bounded, checked against the model) before assigning any, and restores
the global random state afterwards, as fastconv's own format does.
"""

import contextlib
import datetime
import json
import math
import os
import warnings

from fastconv import backend
from fastconv._version import __version__
from fastconv.layers.base import weight_allocation_check
from fastconv.saving import keras_config, keras_weights
from fastconv.saving.archive import ModelFileError, write_archive
from fastconv.saving.h5_io import H5Reader, h5_bytes, write_h5

__all__ = ["save_keras", "load_keras", "save_weights_h5", "load_weights_h5", "save_legacy_h5",
           "load_legacy_h5", "load_weights_from_keras_zip"]

_BACKEND = "numpy"


def _weight_budget(path, nbytes):
    """A check for `add_weight` that refuses more weight values than the file has bytes (a
    crafted config must not allocate beyond what its file could hold)."""
    remaining = [nbytes]

    def charge(layer_name, shape, dtype):
        size = math.prod(shape)
        if size > remaining[0]:
            raise ModelFileError(path, f"layer {layer_name!r:.100} would create a weight of "
                                       f"shape {shape}, more values than the file holds")
        remaining[0] -= size
    return charge


@contextlib.contextmanager
def _building(path, nbytes):
    """Builds a model from a file: keeps the global random state, bounds the weights by the
    file's size and turns a rejected config into a ModelFileError."""
    generator = backend.random_generator()
    state = generator.bit_generator.state
    token = weight_allocation_check.set(_weight_budget(path, nbytes))
    try:
        yield
    except ModelFileError:
        raise
    except (RecursionError, MemoryError) as error:
        raise ModelFileError(path, f"invalid model config ({type(error).__name__})") from None
    except ImportError:
        raise
    except Exception as error:  # any rejection of an untrusted config is a file problem
        raise ModelFileError(path, f"invalid model config: {type(error).__name__}: "
                                   f"{str(error)[:500]}") from None
    finally:
        weight_allocation_check.reset(token)
        generator.bit_generator.state = state


def _assign(values):
    for layer, arrays in values:
        layer.set_weights(arrays)


def _compile(path, model, compile_doc, legacy):
    try:
        if legacy:
            compile_doc = keras_config.training_config_to_compile(compile_doc)
        keras_config.compile_from_keras(model, compile_doc)
    except (ValueError, TypeError, KeyError, AttributeError) as error:
        raise ModelFileError(path, f"invalid compile config: {type(error).__name__}: "
                                   f"{str(error)[:500]} (load_model(..., compile=False) loads "
                                   "the model without it)") from None


def _optimizer_state(model, include_optimizer):
    if not include_optimizer or not model.compiled or model.optimizer is None:
        return None
    return keras_weights.keras_optimizer_state(model)


# --------------------------------------------------------------------------- .keras
def save_keras(model, filepath, overwrite=True, include_optimizer=True):
    """Writes a Keras 3 .keras file (needs h5py)."""
    document = keras_config.model_to_keras(model)
    compile_doc = keras_config.compile_to_keras(model) if include_optimizer else None
    if compile_doc is not None:
        document["compile_config"] = compile_doc
    state = _optimizer_state(model, include_optimizer)
    weights = h5_bytes(lambda h5: keras_weights.write_store(
        h5, model, None if state is None else state[:2]))
    metadata = {"keras_version": keras_weights.KERAS_VERSION, "fastconv_version": __version__,
                "date_saved": datetime.datetime.now().strftime("%Y-%m-%d@%H:%M:%S")}
    write_archive(filepath, {"metadata.json": metadata, "config.json": document}, {},
                  overwrite=overwrite, blobs={"model.weights.h5": weights})


def load_keras(reader, custom_objects=None, compile=True):
    """A model from an open `ArchiveReader` of a .keras file."""
    if not reader.has("config.json"):
        raise ModelFileError(reader.path, "missing zip entry 'config.json'")
    document = reader.read_json("config.json")
    with _building(reader.path, reader.entry_size("model.weights.h5")):
        model = keras_config.model_from_keras(document, custom_objects)
    data = reader.read_bytes("model.weights.h5")
    with H5Reader(reader.path, data=data, limits=reader.limits,
                  what="the .keras file's model.weights.h5") as h5:
        values = keras_weights.read_store(h5, model)
        state = _store_optimizer(h5)
        _assign(values)
        compile_doc = document.get("compile_config") if isinstance(document, dict) else None
        if compile and compile_doc is not None:
            _compile(reader.path, model, compile_doc, legacy=False)
            keras_weights.restore_keras_optimizer_state(h5, model, state)
    return model


def _store_optimizer(h5):
    if h5.group("optimizer/vars", required=False) is None:
        return []
    return keras_weights.numbered_arrays(h5, "optimizer/vars")


def load_weights_from_keras_zip(model, reader):
    """Loads the weights of a .keras file (open `ArchiveReader`) into `model`."""
    data = reader.read_bytes("model.weights.h5")
    with H5Reader(reader.path, data=data, limits=reader.limits,
                  what="the .keras file's model.weights.h5") as h5:
        _assign(keras_weights.read_store(h5, model))


# --------------------------------------------------------------------------- .weights.h5
def save_weights_h5(model, filepath, overwrite=True, legacy=False):
    """Writes the weights as Keras 3's .weights.h5 (or, `legacy=True`, Keras's legacy
    .h5 weights layout)."""
    if legacy:
        write_h5(filepath, lambda h5: keras_weights.write_legacy_weights(h5, model, _BACKEND),
                 overwrite=overwrite)
    else:
        write_h5(filepath, lambda h5: keras_weights.write_store(h5, model), overwrite=overwrite)


def load_weights_h5(model, filepath, limits=None):
    """Loads an HDF5 weights file of either layout (or a legacy .h5 model file) into `model`."""
    with H5Reader(filepath, limits=limits) as h5:
        if h5.has("model_weights"):
            values = keras_weights.read_legacy_weights(h5, model, "model_weights")
        elif h5.attribute("", "layer_names") is not None or h5.attribute(
                "", "layer_names0") is not None:
            values = keras_weights.read_legacy_weights(h5, model, "")
        elif h5.has("layers") or h5.has("vars"):
            values = keras_weights.read_store(h5, model)
        else:
            raise h5.fail("an HDF5 file without Keras weights (no 'layers' group, no "
                          "'model_weights' group, no 'layer_names' attribute)")
        _assign(values)


# --------------------------------------------------------------------------- legacy .h5
def save_legacy_h5(model, filepath, overwrite=True, include_optimizer=True):
    """Writes Keras's legacy .h5 model file."""
    model_config = keras_config.model_to_keras(model, legacy=True)
    training = keras_config.compile_to_keras(model, legacy=True) if include_optimizer else None
    state = _optimizer_state(model, include_optimizer)

    def fill(h5):
        h5.attrs["backend"] = _BACKEND
        h5.attrs["keras_version"] = keras_weights.KERAS_VERSION
        h5.attrs["model_config"] = json.dumps(model_config).encode("utf-8")
        if training is not None:
            h5.attrs["training_config"] = json.dumps(training).encode("utf-8")
        keras_weights.write_legacy_weights(h5.create_group("model_weights"), model, _BACKEND)
        if state is not None:
            keras_weights.write_legacy_optimizer(h5, state)
    write_h5(filepath, fill, overwrite=overwrite)


def load_legacy_h5(filepath, custom_objects=None, compile=True, limits=None):
    """A model from Keras's legacy .h5 model file."""
    with H5Reader(filepath, limits=limits) as h5:
        model_config = h5.json_attribute("", "model_config")
        if model_config is None:
            raise h5.fail("no model_config attribute: this .h5 file holds only weights; load "
                          "it with `model.load_weights(path)` into a model of the same "
                          "architecture")
        with _building(h5.path, os.path.getsize(h5.path)):
            model = keras_config.model_from_keras(model_config, custom_objects)
        _assign(keras_weights.read_legacy_weights(h5, model, "model_weights"))
        training = h5.json_attribute("", "training_config")
        if compile and training is not None:
            _compile(h5.path, model, training, legacy=True)
            version = h5.text_attribute("", "keras_version") or ""
            if version.startswith("3."):
                keras_weights.restore_keras_optimizer_state(
                    h5, model, keras_weights.read_legacy_optimizer(h5))
            elif h5.has("optimizer_weights"):
                warnings.warn(f"{h5.path!r} was written by Keras {version[:20] or '2'}, whose "
                              "optimizer variables fastconv does not map: the model is "
                              "compiled with a fresh optimizer state.", stacklevel=3)
    return model
