"""NumPy array inputs of fit / evaluate / predict: checks, validation split, class weights,
and the sample order of each batch."""

import math

import numpy as np

from fastconv import backend
from fastconv.trainers.data_adapters.data_adapter import DataAdapter


class ArrayDataAdapter(DataAdapter):
    """Batches sliced from arrays, reshuffled each pass when `shuffle`.

    Args:
        x, y, sample_weight: arrays (or nested lists) with one number of samples.
        batch_size: samples per batch (None: 32); the last batch of a pass may be smaller.
        shuffle: whether each pass visits the samples in a new random order.
        class_weight: optional `{class index: weight}`, multiplied into the sample weights.

    Raises:
        ValueError / TypeError: as `check_data`, `check_batch_size` and
            `class_weights_to_sample_weights`.
    """

    def __init__(self, x, y=None, sample_weight=None, batch_size=None, shuffle=False,
                 class_weight=None):
        x, y, sample_weight = check_data(x, y, sample_weight)
        if class_weight:
            if y is None:
                raise ValueError("`class_weight` needs targets `y` to weigh.")
            weights = class_weights_to_sample_weights(y, class_weight)
            sample_weight = weights if sample_weight is None else sample_weight * weights
        self.arrays = (x, y, sample_weight)
        self.batch_size = check_batch_size(batch_size)
        self.shuffle = shuffle
        self.num_batches = num_batches(len(x), self.batch_size)

    def get_iterator(self):
        x, y, sample_weight = self.arrays
        for index in batch_orders(len(x), self.batch_size, self.shuffle):
            yield take(x, index), take(y, index), take(sample_weight, index)


def as_array(value, name):
    """`value` as an ndarray with a batch axis, or ValueError / TypeError."""
    if isinstance(value, (list, tuple)) and len(value) == 1 and isinstance(value[0], np.ndarray):
        value = value[0]
    if isinstance(value, dict):
        raise TypeError(f"`{name}` must be a NumPy array; dicts of inputs are not supported.")
    try:
        array = np.asarray(value)
    except (ValueError, TypeError) as exc:  # ragged nested lists, unconvertible objects
        raise ValueError(
            f"`{name}` must be an array of numbers with one shape (a NumPy array, or nested "
            f"lists of equal lengths); it could not be converted: {exc}"
        ) from None
    if array.dtype.kind not in "fiub":
        raise TypeError(
            f"`{name}` must hold numbers (float, int or bool). Received: {name} with "
            f"dtype={array.dtype}"
        )
    if array.ndim == 0:
        raise ValueError(f"`{name}` must have a batch axis. Received: {name}.shape=()")
    return array


def check_data(x, y=None, sample_weight=None):
    """Arrays for x (and y, sample_weight) with the same, non-zero number of samples.

    Raises:
        ValueError: if the numbers of samples differ or there are none.
    """
    x = as_array(x, "x")
    arrays = {"x": x}
    if y is not None:
        arrays["y"] = y = as_array(y, "y")
    if sample_weight is not None:
        arrays["sample_weight"] = sample_weight = as_array(sample_weight, "sample_weight")
    sizes = {name: array.shape[0] for name, array in arrays.items()}
    if len(set(sizes.values())) > 1:
        detail = "\n".join(f"'{name}' sizes: {size}" for name, size in sizes.items())
        raise ValueError(
            "Data cardinality is ambiguous. Make sure all arrays contain the same number of "
            f"samples.\n{detail}"
        )
    if x.shape[0] == 0:
        raise ValueError(
            f"Expected input data to be non-empty. Received: x.shape={x.shape}"
        )
    return x, y, sample_weight


def check_batch_size(batch_size, name="batch_size"):
    """`batch_size` as an int >= 1 (None means Keras's default, 32)."""
    if batch_size is None:
        return 32
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)):
        raise TypeError(f"`{name}` must be an int >= 1. Received: {name}={batch_size!r}")
    if batch_size <= 0:
        raise ValueError(f"`{name}` must be an int >= 1. Received: {name}={batch_size}")
    return int(batch_size)


def check_positive_int(value, name, minimum=1):
    """`value` as an int >= minimum, or TypeError / ValueError naming `name`."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"`{name}` must be an int >= {minimum}. Received: {name}={value!r}")
    if value < minimum:
        raise ValueError(f"`{name}` must be an int >= {minimum}. Received: {name}={value}")
    return int(value)


def split_validation(validation_split, *arrays):
    """Keras's `validation_split`: the last fraction of the samples, taken before shuffling.

    Returns:
        (training arrays, validation arrays), each a tuple aligned with `arrays`
        (None entries stay None).

    Raises:
        ValueError: if the fraction is outside [0, 1) or leaves either part empty.
    """
    if not 0 < validation_split < 1:
        raise ValueError(
            "`validation_split` must be a float between 0 and 1 (exclusive). "
            f"Received: validation_split={validation_split}"
        )
    total = arrays[0].shape[0]
    split_at = int(math.floor(total * (1.0 - validation_split)))
    if split_at == 0 or split_at == total:
        raise ValueError(
            f"Training data contains {total} samples, which is not sufficient to split it "
            "into a validation and training set as specified by "
            f"`validation_split={validation_split}`. Either provide more data, or a "
            "different value for the `validation_split` argument."
        )
    train = tuple(None if a is None else a[:split_at] for a in arrays)
    val = tuple(None if a is None else a[split_at:] for a in arrays)
    return train, val


def num_batches(num_samples, batch_size):
    return -(-num_samples // batch_size)


def class_weights_to_sample_weights(y, class_weight):
    """Per-sample weights from `{class index: weight}` (classes not listed weigh 1).

    The class of a sample is its label, or the argmax of a one-hot / probability row.

    Raises:
        ValueError: if `class_weight` is not a dict of class index -> number.
    """
    if not isinstance(class_weight, dict):
        raise ValueError("`class_weight` must be a dict mapping class indices to weights. "
                         f"Received: class_weight={class_weight!r}")
    labels = y.argmax(axis=-1) if y.ndim > 1 and y.shape[-1] > 1 else y.reshape(len(y))
    labels = labels.astype(np.intp)
    table = np.ones(int(labels.max()) + 1 if labels.size else 0)
    for label, weight in class_weight.items():
        if 0 <= int(label) < len(table):
            table[int(label)] = float(weight)
    return table[labels]


def batch_orders(num_samples, batch_size, shuffle):
    """One pass over the data: the sample indices of each batch, in order.

    Slices when in order (views, no copy), index arrays when shuffled (with fastconv's
    generator, so `set_random_seed` makes it reproducible, or with `shuffle` itself when it is
    a `np.random.Generator`); the last batch may be smaller.
    """
    if shuffle:
        generator = shuffle if isinstance(shuffle, np.random.Generator) \
            else backend.random_generator()
        order = generator.permutation(num_samples)
        return [order[i:i + batch_size] for i in range(0, num_samples, batch_size)]
    return [slice(i, min(i + batch_size, num_samples)) for i in range(0, num_samples, batch_size)]


def take(array, index):
    """array[index] (a slice view or a gathered copy); None stays None."""
    return None if array is None else array[index]
