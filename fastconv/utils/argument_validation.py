"""`check_number`: the one check of a numeric argument, with Keras's error wording."""

import math
import numbers


def check_number(name, value, low=None, high=None, low_open=False, high_open=False):
    """`value` as a float, after checking it is a real number within the bounds.

    Args:
        name: the argument's name, for the message.
        value: the argument.
        low, high: the bounds (None for none).
        low_open, high_open: whether a bound itself is excluded.

    Raises:
        ValueError: naming the argument, for a non-number, NaN or a value
            out of bounds.
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or math.isnan(value):
        raise ValueError(f"Argument `{name}` must be a number. Received: {name}={value!r}")
    value = float(value)
    too_low = low is not None and (value <= low if low_open else value < low)
    too_high = high is not None and (value >= high if high_open else value > high)
    if too_low or too_high:
        left = "(" if low_open else "["
        right = ")" if high_open else "]"
        span = f"{left}{low if low is not None else '-inf'}, {high if high is not None else 'inf'}{right}"
        raise ValueError(f"Argument `{name}` must be in {span}. Received: {name}={value}")
    return value
