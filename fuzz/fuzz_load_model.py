"""Coverage-guided fuzzing of fastconv's model loader (atheris / libFuzzer).

Every input is written to a temporary file and handed to
`fastconv.models.load_model` and `Model.load_weights`. The only acceptable
outcomes are a loaded model or a clean `ValueError` / `OSError`; any other
exception (or a hang, crash or memory blow-up, which libFuzzer reports) is a
finding.

The seed corpus holds valid saved files (see `make_seeds`): fastconv's own zip
and, when h5py is installed, Keras's .keras, .weights.h5 and .h5 files, so
mutations explore the zip, JSON, .npy and HDF5 readers past their first checks.

Usage:
    python fuzz/fuzz_load_model.py -max_total_time=60 fuzz/corpus   # see fuzz/run.sh
    python fuzz/fuzz_load_model.py --make-seeds fuzz/corpus          # only write seeds
"""

import importlib.util
import io
import os
import sys
import tempfile
import zipfile

import atheris

with atheris.instrument_imports(include=["fastconv.saving"]):
    import fastconv as keras
    from fastconv import layers

import numpy as np

_DIR = tempfile.mkdtemp(prefix="fastconv-fuzz-")
_PATH = os.path.join(_DIR, "input.keras")
_TARGET = None


def _seed_models():
    keras.utils.set_random_seed(0)
    cnn = keras.Sequential([
        layers.Input(shape=(6, 6, 1)), layers.Conv2D(2, 3, activation="relu"),
        layers.MaxPooling2D(), layers.Flatten(), layers.Dropout(0.1),
        layers.Dense(3, activation="softmax"),
    ])
    cnn.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    x = np.random.default_rng(0).random((4, 6, 6, 1), dtype=np.float32)
    cnn.fit(x, np.array([0, 1, 2, 0]), epochs=1, verbose=0)
    inputs = keras.Input(shape=(3,))
    dense = keras.Model(inputs, layers.Dense(2)(layers.Dense(4, activation="relu")(inputs)))
    return {"cnn.fastconv": (cnn, "save"), "cnn-weights.fastconv": (cnn, "save_weights"),
            "functional.fastconv": (dense, "save"), "cnn.keras": (cnn, "save"),
            "cnn.h5": (cnn, "save"), "cnn.weights.h5": (cnn, "save_weights"),
            "functional.keras": (dense, "save")}


def make_seeds(directory):
    """Writes valid model files into `directory` (the seed corpus): fastconv's zip, and
    Keras's formats when h5py is installed (the names pick the format)."""
    os.makedirs(directory, exist_ok=True)
    have_h5py = importlib.util.find_spec("h5py") is not None
    for name, (model, method) in _seed_models().items():
        if have_h5py or name.endswith(".fastconv"):
            getattr(model, method)(os.path.join(directory, name))


def _target_model():
    global _TARGET
    if _TARGET is None:
        _TARGET = _seed_models()["cnn.keras"][0]
    return _TARGET


_SEEDS = []


def _seed_entries():
    """The entries of every seed file, for the structure-aware mode."""
    if not _SEEDS:
        directory = tempfile.mkdtemp(prefix="fastconv-fuzz-seeds-")
        make_seeds(directory)
        for name in sorted(os.listdir(directory)):
            if not zipfile.is_zipfile(os.path.join(directory, name)):
                continue  # an HDF5 seed: raw-byte mutations only
            with zipfile.ZipFile(os.path.join(directory, name)) as archive:
                _SEEDS.append({info.filename: archive.read(info) for info in archive.infolist()})
    return _SEEDS


def _structured(data):
    """A well-formed zip (valid CRCs) built from a seed, with one entry mutated by `data`.

    Byte mutations of a whole zip mostly die at the CRC check; this mode
    reaches the JSON, manifest, config and .npy validation behind it.
    """
    provider = atheris.FuzzedDataProvider(data)
    seeds = _seed_entries()
    entries = dict(seeds[provider.ConsumeIntInRange(0, len(seeds) - 1)])
    names = sorted(entries)
    name = names[provider.ConsumeIntInRange(0, len(names) - 1)]
    action = provider.ConsumeIntInRange(0, 3)
    if action == 0:  # overwrite part of the entry, keeping the rest of its structure
        original = entries[name]
        offset = provider.ConsumeIntInRange(0, len(original))
        patch = provider.ConsumeBytes(provider.remaining_bytes())
        entries[name] = original[:offset] + patch + original[offset + len(patch):]
    elif action == 1:  # replace the entry
        entries[name] = provider.ConsumeBytes(provider.remaining_bytes())
    elif action == 2:  # drop it
        del entries[name]
    else:  # add an entry with a fuzzed name
        extra = provider.ConsumeUnicodeNoSurrogates(40)
        entries[extra] = provider.ConsumeBytes(provider.remaining_bytes())
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for entry_name, content in entries.items():
            archive.writestr(entry_name, content)
    return buffer.getvalue()


def TestOneInput(data):
    # Inputs starting with an odd byte are structure-aware; the others are raw file bytes.
    if data[:1] and data[0] & 1:
        try:
            data = _structured(data[1:])
        except (ValueError, UnicodeEncodeError, IndexError):
            return  # a fuzzed entry name zipfile cannot store: not a loader input
    with open(_PATH, "wb") as handle:
        handle.write(data)
    for load in (keras.models.load_model, _target_model().load_weights):
        try:
            load(_PATH)
        except (ValueError, OSError):
            pass
    leftovers = set(os.listdir(_DIR)) - {"input.keras"}
    if leftovers:
        raise AssertionError(f"loading wrote files: {sorted(leftovers)}")


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "--make-seeds":
        make_seeds(sys.argv[2])
        return
    _target_model()
    _seed_entries()
    atheris.Setup(sys.argv, TestOneInput)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
