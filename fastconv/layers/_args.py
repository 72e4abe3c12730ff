"""Argument checks shared by the layers (Keras's messages, the ops' normalizers)."""

from fastconv import activations
from fastconv.ops import _args as ops_args

normalize_pair = ops_args.normalize_pair


def positive_int(value, name):
    """`value` as an int > 0, or ValueError in Keras's form."""
    if isinstance(value, bool) or not isinstance(value, int) and not hasattr(value, "__index__"):
        raise TypeError(f"Argument `{name}` must be an int. Received: {name}={value!r}")
    if int(value) <= 0:
        raise ValueError(
            f"Invalid value for argument `{name}`. Expected a strictly positive value. "
            f"Received {name}={value}."
        )
    return int(value)


def padding(value):
    """'valid' or 'same' (case-insensitive), as a Keras layer accepts."""
    mode = value.lower() if isinstance(value, str) else value
    if mode not in ("valid", "same"):
        raise ValueError(
            "The `padding` argument must be a string, one of 'valid' or 'same'. "
            f"Received: padding={value!r}"
        )
    return mode


def data_format(value):
    """None means 'channels_last' (Keras's image_data_format default)."""
    if value is None:
        return "channels_last"
    fmt = value.lower() if isinstance(value, str) else value
    if fmt not in ("channels_last", "channels_first"):
        raise ValueError(
            "The `data_format` argument must be one of 'channels_first', 'channels_last'. "
            f"Received: data_format={value!r}"
        )
    return fmt


def activation(value):
    """The activation function for a Keras `activation=` argument."""
    return activations.get(value)
