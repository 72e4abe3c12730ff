"""Weight regularizers: penalties added to the training loss, with their gradients.

Names, arguments and defaults follow Keras 3 (`keras/src/regularizers/`).
fastconv has no automatic differentiation, so besides `regularizer(x)` (the
penalty, as Keras computes it) every regularizer has `gradient(x)`, the
derivative of the penalty with respect to `x`. The contract with a layer:

- weight regularizers (`kernel_regularizer`, `bias_regularizer`): the layer
  adds `regularizer(weight)` to its losses (the training loss and
  `model.losses`) and, in its backward pass, adds `regularizer.gradient(weight)`
  to that weight's gradient before the optimizer step;
- `activity_regularizer`: Keras divides the penalty of the layer's output by
  the batch size, so the layer adds `regularizer(output) / batch_size` to its
  losses and `regularizer.gradient(output) / batch_size` to the gradient of
  its output before propagating it.
"""

import numpy as np

from fastconv.utils.argument_validation import check_number

__all__ = [
    "Regularizer", "L1", "L2", "L1L2", "OrthogonalRegularizer", "l1", "l2", "l1_l2",
    "orthogonal_regularizer", "get", "serialize", "deserialize",
]

_EPSILON = 1e-7  # keras.backend.epsilon(), the floor of OrthogonalRegularizer's row norms


def _factor(name, value, default):
    """A penalty factor: a finite float >= 0 (None means `default`, as in Keras)."""
    return check_number(name, default if value is None else value, 0, float("inf"),
                        high_open=True)


def _float_array(x):
    x = np.asarray(x)
    if x.dtype.kind != "f":
        x = x.astype(np.float32)
    return x


class Regularizer:
    """Base class: `__call__(x)` returns the penalty, `gradient(x)` its derivative.

    A subclass overrides both (and `get_config` to be saved). `gradient(x)`
    returns an array shaped like `x`; see the module docstring for how layers
    use it.

    Example:
        >>> import numpy as np
        >>> class Quartic(Regularizer):
        ...     def __call__(self, x):
        ...         return float(np.sum(np.asarray(x) ** 4))
        ...     def gradient(self, x):
        ...         return 4 * np.asarray(x) ** 3
        >>> Quartic()(np.array([1.0, 2.0])), Quartic().gradient(np.array([1.0]))
        (17.0, array([4.]))
    """

    def __call__(self, x):
        return 0.0

    def gradient(self, x):
        raise NotImplementedError(
            f"{type(self).__name__} must implement `gradient(x)`: fastconv has no automatic "
            "differentiation, so a layer adds this derivative of the penalty to the weight's "
            "gradient."
        )

    def get_config(self):
        raise NotImplementedError(f"{self} does not implement get_config()")

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __repr__(self):
        return f"{type(self).__name__}({self.get_config()})"


class L1L2(Regularizer):
    """`l1 * sum(abs(x)) + l2 * sum(x**2)`.

    The string `"l1_l2"` gives `L1L2(l1=0.01, l2=0.01)` (Keras 2's `l1_l2`);
    `"l1l2"` gives `L1L2()` (Keras 3's `get`).

    Args:
        l1: the L1 factor, a finite float >= 0 (None means 0).
        l2: the L2 factor, a finite float >= 0 (None means 0).

    Raises:
        ValueError: for a negative, infinite or non-numeric factor.

    Example:
        >>> import numpy as np
        >>> L1L2(l1=0.5, l2=1.0)(np.array([1.0, -2.0]))
        6.5
    """

    def __init__(self, l1=0.0, l2=0.0):
        self.l1 = _factor("l1", l1, 0.0)
        self.l2 = _factor("l2", l2, 0.0)

    def __call__(self, x):
        x = _float_array(x)
        penalty = 0.0
        if self.l1:
            penalty += self.l1 * float(np.sum(np.abs(x)))
        if self.l2:
            penalty += self.l2 * float(np.sum(np.square(x)))
        return penalty

    def gradient(self, x):
        """`l1 * sign(x) + 2 * l2 * x` (0 is the L1 subgradient at x = 0)."""
        x = _float_array(x)
        grad = np.zeros_like(x)
        if self.l1:
            grad += self.l1 * np.sign(x)
        if self.l2:
            grad += 2.0 * self.l2 * x
        return grad

    def get_config(self):
        return {"l1": self.l1, "l2": self.l2}


class L1(L1L2):
    """`l1 * sum(abs(x))`; the string `"l1"` gives the default `l1=0.01`.

    Args:
        l1: the factor, a finite float >= 0 (None means 0.01).

    Example:
        >>> import numpy as np
        >>> L1(0.1)(np.array([1.0, -2.0])), L1(0.1).gradient(np.array([1.0, -2.0]))
        (0.30000000000000004, array([ 0.1, -0.1]))
    """

    def __init__(self, l1=0.01):
        super().__init__(l1=_factor("l1", l1, 0.01))

    def get_config(self):
        return {"l1": self.l1}


class L2(L1L2):
    """`l2 * sum(x**2)`; the string `"l2"` gives the default `l2=0.01`.

    Args:
        l2: the factor, a finite float >= 0 (None means 0.01).

    Example:
        >>> import numpy as np
        >>> L2(2.0)(np.ones((5, 5))), L2(2.0).gradient(np.array([1.0, -3.0]))
        (50.0, array([  4., -12.]))
    """

    def __init__(self, l2=0.01):
        super().__init__(l2=_factor("l2", l2, 0.01))

    def get_config(self):
        return {"l2": self.l2}


class OrthogonalRegularizer(Regularizer):
    """Pushes the rows (or columns) of a rank-2 weight towards mutual orthogonality.

    With `n_i` the rows of `x` divided by `max(norm, 1e-7)` and `size` rows,
    the penalty is `factor * 0.5 * sum_{i != j} |n_i . n_j| / (size * (size -
    1) / 2)`. `mode="columns"` uses the columns.

    Args:
        factor: the factor, a finite float >= 0.
        mode: "rows" or "columns".

    Raises:
        ValueError: for a bad `factor` or `mode`; when called, for an input
            that is not rank 2 or has fewer than 2 rows (columns).

    Example:
        >>> import numpy as np
        >>> OrthogonalRegularizer(1.0)(np.array([[1.0, 0.0], [1.0, 1.0]]))
        0.7071067811865475
    """

    def __init__(self, factor=0.01, mode="rows"):
        self.factor = _factor("factor", factor, 0.01)
        if mode not in ("rows", "columns"):
            raise ValueError('Invalid value for argument `mode`. Expected one of {"rows", '
                             f'"columns"}}. Received: mode={mode}')
        self.mode = mode

    def _rows(self, x):
        x = _float_array(x)
        if x.ndim != 2:
            raise ValueError(f"Inputs to OrthogonalRegularizer must have rank 2. Received: "
                             f"inputs.shape={x.shape}")
        rows = x if self.mode == "rows" else x.T
        if rows.shape[0] < 2:
            raise ValueError(f"OrthogonalRegularizer (mode={self.mode!r}) needs at least 2 "
                             f"{self.mode}. Received: inputs.shape={x.shape}")
        norms = np.maximum(np.sqrt(np.sum(np.square(rows), axis=1, keepdims=True)), _EPSILON)
        unit = rows / norms
        # Mean over the size * (size - 1) / 2 pairs, each counted twice in the sum.
        scale = self.factor * 0.5 / (rows.shape[0] * (rows.shape[0] - 1) / 2.0)
        return x, rows, norms, unit, scale

    def __call__(self, x):
        _, _, _, unit, scale = self._rows(x)
        products = unit @ unit.T
        np.fill_diagonal(products, 0.0)
        return scale * float(np.sum(np.abs(products)))

    def gradient(self, x):
        x, rows, norms, unit, scale = self._rows(x)
        signs = np.sign(unit @ unit.T)
        np.fill_diagonal(signs, 0.0)
        dunit = 2.0 * scale * (signs @ unit)  # signs is symmetric
        # Through the normalization: rows above the norm floor lose the radial part.
        above = norms > _EPSILON
        drows = np.where(above, dunit - unit * np.sum(unit * dunit, axis=1, keepdims=True),
                         dunit) / norms
        return (drows if self.mode == "rows" else drows.T).astype(x.dtype, copy=False)

    def get_config(self):
        return {"factor": self.factor, "mode": self.mode}


# Keras's lowercase aliases of the classes.
l1 = L1
l2 = L2
l1_l2 = L1L2
orthogonal_regularizer = OrthogonalRegularizer

_CLASSES = {cls.__name__: cls for cls in (Regularizer, L1, L2, L1L2, OrthogonalRegularizer)}
# Keras 3's `get` strings (the class names in snake case), plus Keras 2's "l1_l2".
_STRINGS = {"regularizer": Regularizer, "l1": L1, "l2": L2, "l1l2": L1L2,
            "orthogonal_regularizer": OrthogonalRegularizer,
            "l1_l2": lambda: L1L2(l1=0.01, l2=0.01)}


def serialize(regularizer):
    """`{"module", "class_name", "config", "registered_name"}`, Keras 3's layout.

    Example:
        >>> serialize(L2(1e-4))["config"]
        {'l2': 0.0001}
    """
    if not isinstance(regularizer, Regularizer):
        raise TypeError(f"Expected a Regularizer. Received: regularizer={regularizer!r}")
    return {"module": "keras.regularizers", "class_name": type(regularizer).__name__,
            "config": regularizer.get_config(), "registered_name": None}


def deserialize(config, custom_objects=None):
    """Builds a regularizer from `serialize`'s output.

    Args:
        config: a dict with `class_name` and `config`.
        custom_objects: `{class name: class}` for regularizers defined
            outside fastconv.

    Raises:
        ValueError: for a malformed config or an unknown class name.
    """
    if (not isinstance(config, dict) or not isinstance(config.get("class_name"), str)
            or not isinstance(config.get("config"), dict)):
        raise ValueError("A regularizer config must be a dict with a string 'class_name' and "
                         f"a dict 'config'. Received: config={config!r:.200}")
    cls = (custom_objects or {}).get(config["class_name"]) or _CLASSES.get(config["class_name"])
    if cls is None:
        raise ValueError(f"Unknown regularizer: {config['class_name']!r}. Valid names are "
                         f"{sorted(_CLASSES)}, or pass the class in `custom_objects`.")
    return cls.from_config(dict(config["config"]))


def get(identifier):
    """Resolves a regularizer from None, a string, a config dict, a class or an instance.

    Args:
        identifier: None (returned as is); "l1", "l2", "l1l2", "l1_l2",
            "orthogonal_regularizer" or a class name ("L2") for the defaults;
            a `serialize` dict; a `Regularizer` class or instance.

    Returns:
        A `Regularizer`, or None.

    Raises:
        ValueError: for an identifier that is none of these.

    Example:
        >>> get("l2").l2, get({"class_name": "L1", "config": {"l1": 0.5}}).l1
        (0.01, 0.5)
    """
    if identifier is None or isinstance(identifier, Regularizer):
        return identifier
    if isinstance(identifier, dict):
        return deserialize(identifier)
    if isinstance(identifier, str):
        make = _STRINGS.get(identifier) or _CLASSES.get(identifier)
        if make is not None:
            return make()
    elif isinstance(identifier, type) and issubclass(identifier, Regularizer):
        return identifier()
    elif callable(identifier):
        raise ValueError(
            f"A plain function cannot be a regularizer in fastconv: it has no automatic "
            f"differentiation, so write a Regularizer subclass with `__call__(x)` and "
            f"`gradient(x)`. Received: regularizer={identifier!r}")
    raise ValueError(f"Could not interpret regularizer identifier: {identifier!r}. Expected "
                     f"None, one of {sorted(_STRINGS)}, a class name, a config dict or a "
                     "Regularizer.")
