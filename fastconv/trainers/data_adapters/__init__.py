"""Data adapters: how fit / evaluate / predict read their inputs, one adapter per kind of input
(arrays, generators and iterables, PyDataset, torch DataLoader) behind `get_data_adapter`."""

import collections.abc
import warnings

from fastconv.trainers.data_adapters.array_data_adapter import (
    ArrayDataAdapter,
    as_array,
    batch_orders,
    check_batch_size,
    check_data,
    check_positive_int,
    class_weights_to_sample_weights,
    num_batches,
    split_validation,
    take,
)
from fastconv.trainers.data_adapters.data_adapter import DataAdapter
from fastconv.trainers.data_adapters.data_adapter_utils import (
    batch_signature,
    is_torch_dataloader,
    raise_unsupported_arg,
    unpack_x_y_sample_weight,
)
from fastconv.trainers.data_adapters.generator_data_adapter import GeneratorDataAdapter
from fastconv.trainers.data_adapters.py_dataset_adapter import PyDatasetAdapter
from fastconv.trainers.data_adapters.torch_data_loader_adapter import TorchDataLoaderAdapter
from fastconv.utils.py_dataset import PyDataset

__all__ = [
    "ArrayDataAdapter", "DataAdapter", "GeneratorDataAdapter", "PyDatasetAdapter",
    "TorchDataLoaderAdapter", "as_array", "batch_orders", "batch_signature", "check_batch_size",
    "check_data", "check_positive_int", "class_weights_to_sample_weights", "get_data_adapter",
    "is_array_input", "num_batches", "split_validation", "take", "train_validation_split",
    "unpack_x_y_sample_weight",
]


def is_array_input(x):
    """Whether `x` is read as arrays (ndarray, nested lists, numbers, array-likes, dicts)
    rather than as a source of batches."""
    if isinstance(x, (PyDataset, collections.abc.Iterator)) or is_torch_dataloader(x):
        return False
    if isinstance(x, (list, tuple, dict, str, bytes)) or hasattr(x, "__array__"):
        return True
    return not isinstance(x, collections.abc.Iterable)


def train_validation_split(validation_split, x, y, sample_weight):
    """`((x, y, sample_weight), (x_val, y_val, sample_weight_val))`: Keras's
    `validation_split`, the last fraction of the samples (arrays only).

    Raises:
        ValueError: for a source of batches, or as `check_data` and `split_validation`.
    """
    if not is_array_input(x):
        raise ValueError("Argument `validation_split` is only supported for tensors or NumPy "
                         f"arrays. Found incompatible type in the input: {[type(x)]}")
    return split_validation(validation_split, *check_data(x, y, sample_weight))


def get_data_adapter(x, y=None, sample_weight=None, batch_size=None, steps=None, shuffle=False,
                     class_weight=None):
    """The adapter that reads `x` (with `y`, `sample_weight` for arrays).

    Args:
        x: arrays, a generator / iterator / iterable of batches, a `PyDataset`, or a torch
            `DataLoader`.
        y, sample_weight: arrays beside array `x`; other inputs carry them in their batches.
        batch_size: batch size of array `x` (None: 32); other inputs make their own batches.
        steps: the caller's `steps_per_epoch` / `steps`, or None.
        shuffle: reshuffle each pass (arrays: the samples; PyDataset: the batch order).
        class_weight: `{class index: weight}` (arrays and PyDataset only).

    Raises:
        ValueError: arguments that the kind of input does not take, with Keras's messages.
    """
    if isinstance(x, DataAdapter):
        return x
    if is_array_input(x):
        return ArrayDataAdapter(x, y, sample_weight, batch_size, shuffle, class_weight)
    kind = ("PyDataset" if isinstance(x, PyDataset) else
            "torch DataLoader" if is_torch_dataloader(x) else "generator")
    if y is not None:
        raise_unsupported_arg("y", "the targets", kind)
    if sample_weight is not None:
        raise_unsupported_arg("sample_weights", "the sample weights", kind)
    if batch_size is not None:
        # Keras 3 ignores it silently; a warning keeps its programs running and says so.
        warnings.warn(
            f"`batch_size={batch_size!r}` is ignored: a {kind} makes its own batches "
            f"(x of type {type(x).__name__}).", stacklevel=3)
    if kind == "PyDataset":
        return PyDatasetAdapter(x, shuffle=shuffle, class_weight=class_weight, steps=steps)
    if class_weight is not None:
        raise ValueError(f"Argument `class_weight` is not supported for {kind} inputs. "
                         f"Received: class_weight={class_weight}")
    if shuffle:
        warnings.warn(
            f"`shuffle=True` was passed, but will be ignored since the data `x` was provided "
            f"as a {kind}. The {kind} is expected to yield already-shuffled data.",
            UserWarning, stacklevel=3)
    if kind == "torch DataLoader":
        return TorchDataLoaderAdapter(x)
    return GeneratorDataAdapter(x)
