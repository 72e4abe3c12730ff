"""What every data adapter shares: a batch's `(x, y, sample_weight)` form, its conversion to
NumPy, its checks, and the error for arguments that the kind of input does not take."""

import numpy as np

from fastconv.trainers.data_adapters.array_data_adapter import as_array


def unpack_x_y_sample_weight(data):
    """`(x, y, sample_weight)` from a batch `x`, `(x,)`, `(x, y)` or `(x, y, sample_weight)`
    (a list counts as a tuple; missing parts are None), as `keras.utils.unpack_x_y_sample_weight`.

    Raises:
        ValueError: for a tuple of another length.
    """
    if isinstance(data, list):
        data = tuple(data)
    if not isinstance(data, tuple):
        return data, None, None
    if len(data) in (1, 2, 3):
        return (data + (None, None))[:3]
    raise ValueError("Data is expected to be in format `x`, `(x,)`, `(x, y)`, or "
                     f"`(x, y, sample_weight)`, found a tuple of {len(data)} elements: "
                     f"{_short(data)}")


def _short(value, limit=100):
    text = str(value)
    return text if len(text) <= limit else text[:limit] + "..."


def is_torch_tensor(value):
    return any(cls.__name__ == "Tensor" and cls.__module__.startswith("torch")
               for cls in type(value).__mro__)


def is_torch_dataloader(value):
    """Whether `value` is a `torch.utils.data.DataLoader` (without importing torch)."""
    return any(cls.__name__ == "DataLoader" and cls.__module__.startswith("torch.utils.data")
               for cls in type(value).__mro__)


def map_structure(function, structure):
    """`function` applied to each leaf of nested tuples, lists and dicts (None stays None)."""
    if structure is None:
        return None
    if isinstance(structure, dict):
        return {key: map_structure(function, value) for key, value in structure.items()}
    if isinstance(structure, (list, tuple)):
        return type(structure)(map_structure(function, value) for value in structure)
    return function(structure)


def leaves(structure):
    """The leaves of nested tuples, lists and dicts, in order (None left out)."""
    if structure is None:
        return []
    if isinstance(structure, dict):
        return [leaf for value in structure.values() for leaf in leaves(value)]
    if isinstance(structure, (list, tuple)):
        return [leaf for value in structure for leaf in leaves(value)]
    return [structure]


def _leaf_to_numpy(name):
    def convert(value):
        if is_torch_tensor(value):  # a tensor that requires grad refuses np.asarray
            value = value.detach().cpu().numpy()
        return as_array(value, name)
    return convert


def standardize_batch(batch, index, source):
    """One batch as `(x, y, sample_weight)` of NumPy arrays (x may be a list or dict of them),
    checked to hold numbers with one number of samples.

    Args:
        batch: what the source yielded, already unpacked to `(x, y, sample_weight)`.
        index: the batch's position in the pass (for messages).
        source: a description of the source for messages ("generator", "PyDataset", ...).

    Raises:
        ValueError / TypeError: naming the batch, the part, and the shapes.
    """
    parts = []
    for name, part in zip(("x", "y", "sample_weight"), batch):
        try:
            parts.append(map_structure(_leaf_to_numpy(name), part))
        except (ValueError, TypeError) as exc:
            raise type(exc)(f"Batch {index} of the {source}: {exc}") from None
    sizes = {name: [leaf.shape[0] for leaf in leaves(part)]
             for name, part in zip(("x", "y", "sample_weight"), parts) if part is not None}
    if len({size for part_sizes in sizes.values() for size in part_sizes}) > 1:
        detail = ", ".join(f"'{name}' sizes: {part_sizes}" for name, part_sizes in sizes.items())
        raise ValueError(f"Batch {index} of the {source}: data cardinality is ambiguous. Make "
                         f"sure all arrays of a batch contain the same number of samples. {detail}")
    return tuple(parts)


def batch_signature(x):
    """The per-sample shapes and dtypes of a batch's inputs: a new signature needs a new run."""
    if isinstance(x, np.ndarray):
        return x.shape[1:], x.dtype
    if isinstance(x, dict):
        return tuple((key, batch_signature(value)) for key, value in x.items())
    return tuple(batch_signature(value) for value in x)


def raise_unsupported_arg(arg_name, arg_description, input_type):
    """Keras's error for `y` / `sample_weight` given beside an `x` that carries its own."""
    raise ValueError(
        f"When providing `x` as a {input_type}, `{arg_name}` should not be passed. Instead, "
        f"{arg_description} should be included as part of the {input_type}.")
