"""Argument checking and normalization: the one module the ops and the layers share.

Everything the C kernels assume is established here (or in the Cython layer):
native-endian, aligned, C-contiguous float32/float64 arrays, positive integer
hyper-parameters, and explicit per-side padding that leaves a non-empty window.
The layers take their checks from here too (through `fastconv/layers/_args.py`), and
the one output-size rule (`output_size`) and result-dtype rule (`result_dtype`) of both.
"""

import operator

import numpy as np

from fastconv.ops import _aligned

# The kernels index with int64 and size workspaces in size_t; anything larger
# than this many elements is refused before it reaches them.
MAX_ELEMENTS = 2**48

_DATA_FORMATS = ("channels_last", "channels_first")


def as_float_array(value, name):
    """Converts an array-like to an ndarray and checks that its dtype is numeric."""
    try:
        array = np.asarray(value)
    except Exception as exc:
        raise TypeError(f"`{name}` must be array-like. Received: {name}={value!r:.80}") from exc
    if array.dtype.kind not in "fiub":
        raise TypeError(
            f"`{name}` must hold real numbers (float, int or bool); dtype {array.dtype} "
            f"is not supported. Received: {name} with dtype={array.dtype}"
        )
    return array


def result_dtype(*arrays):
    """The dtype of the ops' results, and so of the layers' buffers: float64 if any floating
    input is float64 (or wider), else float32 (ints, bools and float16 give float32)."""
    for array in arrays:
        if array is not None and array.dtype.kind == "f" and array.dtype.itemsize >= 8:
            return np.dtype(np.float64)
    return np.dtype(np.float32)


def to_kernel_layout(array, dtype):
    """C-contiguous, aligned, native-endian copy of `array` in `dtype` (no copy if already so)."""
    # The usual case first, cheaply: a plain array already so (`is`: the native dtype itself;
    # carray: C-contiguous, aligned and writeable; ndim: as ascontiguousarray's result).
    if type(array) is np.ndarray and array.dtype is dtype and array.flags.carray and array.ndim:
        return array
    out = np.ascontiguousarray(array, dtype=dtype)
    if not out.flags.aligned or not out.dtype.isnative:
        out = out.copy()
    return out


def check_ndim(array, ndim, name, layout):
    if array.ndim != ndim:
        raise ValueError(
            f"`{name}` must be a {ndim}-D array {layout}. "
            f"Received: {name}.shape={array.shape}"
        )


def normalize_data_format(data_format, allow_none=False):
    """'channels_last' or 'channels_first' (case-insensitive).

    None means 'channels_last' (Keras's image_data_format default) where `allow_none` (the
    layers); the ops refuse it.
    """
    if data_format is None and allow_none:
        return "channels_last"
    fmt = data_format.lower() if isinstance(data_format, str) else data_format
    if fmt not in _DATA_FORMATS:
        raise ValueError(
            "The `data_format` argument must be one of 'channels_first', 'channels_last'. "
            f"Received: data_format={data_format!r}"
        )
    return fmt


def positive_int(value, name):
    """`value` as an int > 0 (TypeError for a non-int, ValueError otherwise), Keras's form."""
    if isinstance(value, bool) or not isinstance(value, int) and not hasattr(value, "__index__"):
        raise TypeError(f"Argument `{name}` must be an int. Received: {name}={value!r}")
    if int(value) <= 0:
        raise ValueError(
            f"Invalid value for argument `{name}`. Expected a strictly positive value. "
            f"Received {name}={value}."
        )
    return int(value)


def normalize_pair(value, name, minimum=1):
    """An int or a pair of ints, each >= minimum, as a tuple (h, w)."""
    if isinstance(value, (list, tuple)):
        if len(value) != 2:
            raise ValueError(f"`{name}` must be an int or a pair of ints. Received: {name}={value!r}")
        pair = value
    else:
        pair = (value, value)
    result = []
    for item in pair:
        if isinstance(item, (bool, np.bool_)):
            raise TypeError(f"`{name}` must be an int or a pair of ints. Received: {name}={value!r}")
        try:
            number = operator.index(item)
        except TypeError:
            raise TypeError(
                f"`{name}` must be an int or a pair of ints. Received: {name}={value!r}"
            ) from None
        if number < minimum:
            raise ValueError(f"`{name}` values must be >= {minimum}. Received: {name}={value!r}")
        result.append(number)
    return tuple(result)


def normalize_padding(padding, explicit=True):
    """'valid', 'same', or (where `explicit`, the ops) ((top, bottom), (left, right)) of
    ints >= 0, also given as an int or a pair. The layers take the two strings only."""
    if isinstance(padding, str):
        mode = padding.lower()
        if mode in ("valid", "same"):
            return mode
    if not explicit:
        raise ValueError(
            "The `padding` argument must be a string, one of 'valid' or 'same'. "
            f"Received: padding={padding!r}"
        )
    if isinstance(padding, str):
        raise ValueError(
            "`padding` must be 'valid', 'same', an int, a pair or "
            f"((top, bottom), (left, right)). Received: padding={padding!r}"
        )
    if isinstance(padding, (list, tuple)) and len(padding) == 2 and all(
        isinstance(p, (list, tuple)) for p in padding
    ):
        top_bottom = normalize_pair(padding[0], "padding", minimum=0)
        left_right = normalize_pair(padding[1], "padding", minimum=0)
        return (top_bottom, left_right)
    ph, pw = normalize_pair(padding, "padding", minimum=0)
    return ((ph, ph), (pw, pw))


def output_size(size, window, stride, padding, dilation=1):
    """One spatial axis of a conv/pool output, for the ops and the layers (None stays None).

    "same": ceil(size / stride). "valid" (or already padded): floor((size - effective) /
    stride) + 1 with effective = (window - 1) * dilation + 1, and 0 when the window does
    not fit (the ops refuse that case before, with a message).
    """
    if size is None:
        return None
    if padding == "same":
        return -(-size // stride)
    effective = (window - 1) * dilation + 1
    return (size - effective) // stride + 1 if size >= effective else 0


def resolve_axis(padding_mode, axis, size, window, stride, dilation, what):
    """Output size and (before, after) padding of one spatial axis.

    `padding_mode` is a normalized padding; `axis` is 0 (height) or 1 (width).
    "same" follows TensorFlow: out = ceil(size / stride), the odd padded cell
    goes after (bottom/right).
    """
    effective = (window - 1) * dilation + 1
    if padding_mode == "valid":
        before = after = 0
    elif padding_mode == "same":
        out = output_size(size, window, stride, "same", dilation)
        total = max((out - 1) * stride + effective - size, 0)
        before, after = total // 2, total - total // 2
    else:
        before, after = padding_mode[axis]
    padded = size + before + after
    if max(effective, padded) > MAX_ELEMENTS:
        side = "height" if axis == 0 else "width"
        raise ValueError(
            f"The {what}'s effective {side} ({effective}) or the padded input {side} "
            f"({padded}) is too large: dilation_rate and padding must keep them below "
            f"{MAX_ELEMENTS}."
        )
    if padded < effective:
        side = "height" if axis == 0 else "width"
        raise ValueError(
            f"The {what} (effective {side} {effective}) is larger than the padded input "
            f"{side} {padded} (input {size} + padding {before}+{after})."
        )
    # on the padded size, "valid" arithmetic gives "same"'s ceil(size / stride) too
    return output_size(padded, window, stride, "valid", dilation), before, after


def plain_key(*values):
    """`values` as a hashable key if they hold only exact ints, strs and None (in tuples or
    lists), else None. Keys of validated arguments let callers skip re-validating; anything else
    (bools, NumPy scalars, floats) must take the full checks every time."""
    key = []
    for value in values:
        kind = type(value)
        if kind is int or kind is str or value is None:
            key.append(value)
        elif kind is tuple or kind is list:
            inner = plain_key(*value)
            if inner is None:
                return None
            key.append(inner)
        else:
            return None
    return tuple(key)


class ValidatedCache:
    """A bounded memo of `compute(*args)` for arguments `plain_key` accepts. Only successful
    results are kept (a call that raises stores nothing), so a hit means "valid, and this"."""

    def __init__(self, compute, size=256):
        self._compute, self._size, self._memo = compute, size, {}

    def __call__(self, *args):
        key = plain_key(*args)
        if key is None:
            return self._compute(*args)
        result = self._memo.get(key)
        if result is None:
            result = self._compute(*args)
            if len(self._memo) >= self._size:
                self._memo.clear()
            self._memo[key] = result
        return result


def check_size(shape, name):
    count = 1
    for dim in shape:
        count *= int(dim)
    if count > MAX_ELEMENTS:
        raise ValueError(f"`{name}` would have {count} elements (shape {tuple(shape)}): too large.")
    return count


def to_channels_last(array, data_format):
    return array if data_format == "channels_last" else array.transpose(0, 2, 3, 1)


def from_channels_last(array, data_format):
    if data_format == "channels_last":
        return array
    return np.ascontiguousarray(array.transpose(0, 3, 1, 2))


def normalize_activation(activation):
    """True for a fused ReLU, False for none; anything else is refused."""
    name = activation.lower() if isinstance(activation, str) else activation
    if name in (None, "linear"):
        return False
    if name == "relu":
        return True
    raise ValueError(
        f"`activation` must be None, 'linear' or 'relu'. Received: activation={activation!r}"
    )


def output_buffer(out, shape, dtype, data_format="channels_last", inputs=()):
    """A new array of `shape`/`dtype`, or `out` after checking it can take the result.

    `out` must not overlap any of `inputs`: the kernels read those while writing it.
    """
    if out is None:
        return _aligned.empty(shape, dtype)
    if data_format != "channels_last":
        raise ValueError("`out` is supported with data_format='channels_last' only.")
    if (not isinstance(out, np.ndarray) or out.shape != tuple(shape) or out.dtype != dtype
            or not out.flags.c_contiguous or not out.flags.writeable):
        raise ValueError(
            f"`out` must be a writeable C-contiguous {dtype} array of shape {tuple(shape)}. "
            f"Received: out with shape={getattr(out, 'shape', None)}, "
            f"dtype={getattr(out, 'dtype', type(out).__name__)}"
        )
    for name, array in inputs:
        if array is None or (array.flags.owndata and out.flags.owndata and array is not out):
            continue  # two arrays that each own their memory never overlap
        if np.may_share_memory(out, array):
            raise ValueError(f"`out` must not overlap `{name}`: the result would overwrite "
                             "the input it is computed from.")
    return out
