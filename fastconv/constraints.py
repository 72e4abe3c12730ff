"""Weight constraints: projections applied to a weight after each optimizer step.

Names, arguments, defaults and formulas follow Keras 3
(`keras/src/constraints/constraints.py`). A constraint is called as
`constraint(w)` and returns a new array; Keras's optimizer assigns
`constraint(variable)` to each variable that has one right after its update,
and a fastconv layer does the same (`weight[...] = constraint(weight)`).

`axis` selects the axes a norm is taken over: the default 0 constrains each
column of a Dense kernel `(input_dim, units)`; for a Conv2D kernel
`(KH, KW, Cin, F)` use `axis=[0, 1, 2]` to constrain each filter.
"""

import numpy as np

from fastconv.utils.argument_validation import check_number

__all__ = [
    "Constraint", "MaxNorm", "NonNeg", "UnitNorm", "MinMaxNorm", "max_norm", "non_neg",
    "unit_norm", "min_max_norm", "get", "serialize", "deserialize",
]

_EPSILON = 1e-7  # keras.backend.epsilon(): keeps a zero norm from dividing by zero


def _float_array(w):
    w = np.asarray(w)
    if w.dtype.kind != "f":
        w = w.astype(np.float32)
    return w


def _axis(axis):
    """An int or a tuple of ints (a list, as Keras configs hold, is accepted)."""
    values = list(axis) if isinstance(axis, (list, tuple)) else [axis]
    if not values or not all(isinstance(a, (int, np.integer)) and not isinstance(a, bool)
                             for a in values):
        raise ValueError(f"Argument `axis` must be an int or a list of ints. Received: axis={axis!r}")
    return [int(a) for a in values] if isinstance(axis, (list, tuple)) else int(axis)


def _norms(w, axis):
    axes = axis if isinstance(axis, list) else [axis]
    if not all(-w.ndim <= a < w.ndim for a in axes):
        raise ValueError(f"Constraint axis={axis} is out of range for a weight of shape "
                         f"{w.shape}.")
    return np.sqrt(np.sum(np.square(w), axis=tuple(axes), keepdims=True))


class Constraint:
    """Base class: `__call__(w)` returns the projected weight (here, `w` unchanged).

    Example:
        >>> import numpy as np
        >>> class Clip(Constraint):
        ...     def __call__(self, w):
        ...         return np.clip(w, -1.0, 1.0)
        >>> Clip()(np.array([-3.0, 0.5]))
        array([-1. ,  0.5])
    """

    def __call__(self, w):
        return w

    def get_config(self):
        return {}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __repr__(self):
        return f"{type(self).__name__}({self.get_config()})"


class MaxNorm(Constraint):
    """Rescales each slice whose L2 norm over `axis` exceeds `max_value`.

    `w * clip(norm, 0, max_value) / (1e-7 + norm)`, the norm taken over `axis`.

    Args:
        max_value: the largest norm allowed, >= 0.
        axis: an int or a list of ints (see the module docstring).

    Example:
        >>> import numpy as np
        >>> MaxNorm(1.0)(np.array([[3.0, 0.1], [4.0, 0.0]])).round(4)
        array([[0.6, 0.1],
               [0.8, 0. ]])
    """

    def __init__(self, max_value=2, axis=0):
        check_number("max_value", max_value, 0)
        self.max_value = max_value
        self.axis = _axis(axis)

    def __call__(self, w):
        w = _float_array(w)
        norms = _norms(w, self.axis)
        return (w * (np.clip(norms, 0, self.max_value) / (_EPSILON + norms))).astype(w.dtype)

    def get_config(self):
        return {"max_value": self.max_value, "axis": self.axis}


class NonNeg(Constraint):
    """Sets the negative weights to zero: `maximum(w, 0)`.

    Example:
        >>> import numpy as np
        >>> NonNeg()(np.array([-1.0, 2.0]))
        array([0., 2.])
    """

    def __call__(self, w):
        return np.maximum(_float_array(w), 0)


class UnitNorm(Constraint):
    """Scales each slice to unit L2 norm over `axis`: `w / (1e-7 + norm)`.

    Args:
        axis: an int or a list of ints (see the module docstring).

    Example:
        >>> import numpy as np
        >>> UnitNorm()(np.array([[3.0], [4.0]])).round(4)
        array([[0.6],
               [0.8]])
    """

    def __init__(self, axis=0):
        self.axis = _axis(axis)

    def __call__(self, w):
        w = _float_array(w)
        return (w / (_EPSILON + _norms(w, self.axis))).astype(w.dtype)

    def get_config(self):
        return {"axis": self.axis}


class MinMaxNorm(Constraint):
    """Moves each slice's L2 norm over `axis` into `[min_value, max_value]`.

    The norm becomes `rate * clip(norm, min_value, max_value) + (1 - rate) *
    norm`: `rate=1` enforces the bounds, a smaller rate moves towards them.

    Args:
        min_value: the smallest norm, >= 0.
        max_value: the largest norm, >= `min_value`.
        rate: the enforcement rate, in [0, 1].
        axis: an int or a list of ints (see the module docstring).

    Raises:
        ValueError: for bounds out of order or a rate outside [0, 1].

    Example:
        >>> import numpy as np
        >>> MinMaxNorm(1.0, 2.0)(np.array([[0.3, 6.0], [0.4, 8.0]])).round(4)
        array([[0.6, 1.2],
               [0.8, 1.6]])
    """

    def __init__(self, min_value=0.0, max_value=1.0, rate=1.0, axis=0):
        check_number("min_value", min_value, 0)
        check_number("max_value", max_value, min_value)
        check_number("rate", rate, 0, 1)
        self.min_value = min_value
        self.max_value = max_value
        self.rate = rate
        self.axis = _axis(axis)

    def __call__(self, w):
        w = _float_array(w)
        norms = _norms(w, self.axis)
        desired = (self.rate * np.clip(norms, self.min_value, self.max_value)
                   + (1 - self.rate) * norms)
        return (w * (desired / (_EPSILON + norms))).astype(w.dtype)

    def get_config(self):
        return {"min_value": self.min_value, "max_value": self.max_value, "rate": self.rate,
                "axis": self.axis}


# Keras's lowercase aliases of the classes.
max_norm = MaxNorm
non_neg = NonNeg
unit_norm = UnitNorm
min_max_norm = MinMaxNorm

_CLASSES = {cls.__name__: cls for cls in (Constraint, MaxNorm, NonNeg, UnitNorm, MinMaxNorm)}
# Keras 3's `get` strings: the class names in snake case.
_STRINGS = {"constraint": Constraint, "max_norm": MaxNorm, "non_neg": NonNeg,
            "unit_norm": UnitNorm, "min_max_norm": MinMaxNorm}


def serialize(constraint):
    """`{"module", "class_name", "config", "registered_name"}`, Keras 3's layout.

    Example:
        >>> serialize(MaxNorm(3))["config"]
        {'max_value': 3, 'axis': 0}
    """
    if not isinstance(constraint, Constraint):
        raise TypeError(f"Expected a Constraint. Received: constraint={constraint!r}")
    return {"module": "keras.constraints", "class_name": type(constraint).__name__,
            "config": constraint.get_config(), "registered_name": None}


def deserialize(config, custom_objects=None):
    """Builds a constraint from `serialize`'s output.

    Args:
        config: a dict with `class_name` and `config`.
        custom_objects: `{class name: class}` for constraints defined outside
            fastconv.

    Raises:
        ValueError: for a malformed config or an unknown class name.
    """
    if (not isinstance(config, dict) or not isinstance(config.get("class_name"), str)
            or not isinstance(config.get("config"), dict)):
        raise ValueError("A constraint config must be a dict with a string 'class_name' and a "
                         f"dict 'config'. Received: config={config!r:.200}")
    cls = (custom_objects or {}).get(config["class_name"]) or _CLASSES.get(config["class_name"])
    if cls is None:
        raise ValueError(f"Unknown constraint: {config['class_name']!r}. Valid names are "
                         f"{sorted(_CLASSES)}, or pass the class in `custom_objects`.")
    return cls.from_config(dict(config["config"]))


def get(identifier):
    """Resolves a constraint from None, a string, a config dict, a class or a callable.

    Args:
        identifier: None (returned as is); "max_norm", "non_neg",
            "unit_norm", "min_max_norm" or a class name for the defaults; a
            `serialize` dict; a `Constraint` class; a `Constraint` or any
            callable `f(w) -> w` (returned as is, as in Keras).

    Returns:
        A callable constraint, or None.

    Raises:
        ValueError: for an identifier that is none of these.

    Example:
        >>> get("non_neg"), get({"class_name": "MaxNorm", "config": {"max_value": 3}}).max_value
        (NonNeg({}), 3)
    """
    if identifier is None:
        return None
    if isinstance(identifier, dict):
        return deserialize(identifier)
    if isinstance(identifier, str):
        cls = _STRINGS.get(identifier) or _CLASSES.get(identifier)
        if cls is not None:
            return cls()
    elif isinstance(identifier, type) and issubclass(identifier, Constraint):
        return identifier()
    elif callable(identifier) and not isinstance(identifier, type):
        return identifier
    raise ValueError(f"Could not interpret constraint identifier: {identifier!r}. Expected "
                     f"None, one of {sorted(_STRINGS)}, a class name, a config dict or a "
                     "callable.")
