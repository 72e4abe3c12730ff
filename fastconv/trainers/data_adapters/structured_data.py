"""Data of models with several inputs or outputs: lists and dicts of arrays.

Keras matches `x` to a model's inputs and `y` / `sample_weight` to its outputs by position
(a list or tuple) or by name (a dict). Here each becomes a list in the model's order, and
`Columns` batches such a list as one: `columns[index]` takes the same samples of every
array (as `Columns` again), so the epoch loop, shuffling and validation split treat it as
one array; `unpack` turns a batch back into the list the executor and losses take.
"""

import numpy as np

from fastconv.trainers.data_adapters.array_data_adapter import (
    ArrayDataAdapter,
    as_array,
    check_batch_size,
    num_batches,
)

__all__ = ["Columns", "StructuredArrayAdapter", "by_name", "signature", "unpack"]


class Columns:
    """Arrays with one sample axis, batched together (None entries stay None).

    Args:
        arrays: the arrays, in the model's input or output order.

    Raises:
        ValueError: if the arrays hold different numbers of samples.
    """

    def __init__(self, arrays):
        self.arrays = list(arrays)
        sizes = {len(a) for a in self.arrays if a is not None}
        if len(sizes) > 1:
            raise ValueError("Data cardinality is ambiguous. Make sure all arrays contain the "
                             f"same number of samples. Received sizes: "
                             f"{[None if a is None else len(a) for a in self.arrays]}")
        self._length = sizes.pop() if sizes else 0

    def __len__(self):
        return self._length

    @property
    def shape(self):
        """(samples,): what the loops read of an array."""
        return (self._length,)

    def __getitem__(self, index):
        return Columns([None if a is None else a[index] for a in self.arrays])


class StructuredArrayAdapter(ArrayDataAdapter):
    """Batches of a model with several inputs or outputs, sliced from `Columns` (and arrays).

    Args:
        x, y, sample_weight: `Columns` or arrays with one number of samples (y and
            sample_weight may be None), already matched to the model's inputs and outputs.
        batch_size: samples per batch (None: 32).
        shuffle: whether each pass visits the samples in a new random order.
    """

    def __init__(self, x, y=None, sample_weight=None, batch_size=None, shuffle=False):
        # The arrays are checked and matched already: only the batching is ArrayDataAdapter's.
        self.arrays = (x, y, sample_weight)
        self.batch_size = check_batch_size(batch_size)
        self.shuffle = shuffle
        self.num_batches = num_batches(len(x), self.batch_size)


def unpack(value):
    """A `Columns` batch as its list of arrays; anything else as it is."""
    return value.arrays if isinstance(value, Columns) else value


def by_name(value, names, argument, keys=None, allow_missing=False, convert=True):
    """`value` as one array per name, in `names` order.

    Args:
        value: one array (a model with one entry), a list or tuple in order, or a dict
            keyed by `keys` (default `names`).
        names: what the entries are called in messages (input or output names).
        argument: the argument's name in messages ("x", "y", "sample_weight").
        keys: the dict keys that address the entries, if not `names`.
        allow_missing: whether a dict may leave entries out (None for them).
        convert: whether to turn the entries into arrays (not for KerasTensors).

    Raises:
        ValueError: a list of another length, unknown or missing dict keys.
        TypeError: an entry that is not numeric.
    """
    keys = list(keys or names)
    if isinstance(value, dict):
        unknown = [k for k in value if k not in keys]
        missing = [k for k in keys if k not in value]
        if unknown or (missing and not allow_missing):
            raise ValueError(f"`{argument}` is a dict whose keys {sorted(map(str, value))} do "
                             f"not match the model's {keys}"
                             + (f" (unknown: {unknown})" if unknown else "")
                             + (f" (missing: {missing})" if missing and not allow_missing
                                else "") + ".")
        values = [value.get(k) for k in keys]
    elif isinstance(value, (list, tuple)) and (
            len(names) > 1 or (len(value) == 1 and isinstance(value[0], np.ndarray))):
        if len(value) != len(names):
            raise ValueError(f"`{argument}` must hold {len(names)} arrays, one for each of "
                             f"{names} (a list in that order or a dict). Received "
                             f"{len(value)}.")
        values = list(value)
    elif len(names) == 1:
        values = [value]
    else:
        raise ValueError(f"The model expects {len(names)} arrays in `{argument}`, one for "
                         f"each of {names}: pass a list in that order or a dict. Received a "
                         f"single {type(value).__name__}.")
    if not convert:
        return values
    return [None if v is None else as_array(v, f"{argument}[{name!r}]")
            for v, name in zip(values, names)]


def signature(x):
    """The executor's input signature of a batch: (sample shape, dtype), a tuple of them
    for several inputs."""
    if isinstance(x, Columns):
        x = x.arrays
    if isinstance(x, list):
        return tuple((a.shape[1:], a.dtype) for a in x)
    return (x.shape[1:], x.dtype)
