"""Shared argument forms of the 1-D/2-D padding, cropping and upsampling layers."""

import operator

__all__ = ["spatial_axes", "normalize_amounts"]


def spatial_axes(rank, data_format):
    """The spatial axes of inputs with `rank` spatial dimensions (batch axis 0)."""
    first = 1 if data_format == "channels_last" else 2
    return tuple(range(first, first + rank))


def _count(value, name, received):
    try:
        number = operator.index(value)
    except TypeError:
        number = -1
    if isinstance(value, bool) or number < 0:
        raise ValueError(f"`{name}` values must be ints >= 0. Received: {name}={received!r}")
    return number


def normalize_amounts(value, rank, name):
    """`((before, after),) * rank` from an int, `rank` ints (symmetric), or `rank` pairs.

    For rank 1, a pair of ints means `(before, after)` (Keras's 1-D form).
    """
    if not isinstance(value, (list, tuple)):
        amount = _count(value, name, value)
        return ((amount, amount),) * rank
    if rank == 1:
        if len(value) != 2:
            raise ValueError(f"`{name}` should be an int or a pair (before, after). "
                             f"Received: {name}={value!r}")
        return ((_count(value[0], name, value), _count(value[1], name, value)),)
    if len(value) != rank:
        raise ValueError(f"`{name}` should have {rank} elements. Received: {name}={value!r}")
    result = []
    for item in value:
        if isinstance(item, (list, tuple)):
            if len(item) != 2:
                raise ValueError(f"`{name}` entries should be ints or pairs (before, after). "
                                 f"Received: {name}={value!r}")
            result.append((_count(item[0], name, value), _count(item[1], name, value)))
        else:
            amount = _count(item, name, value)
            result.append((amount, amount))
    return tuple(result)
