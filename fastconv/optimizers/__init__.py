"""Keras-style optimizers that update NumPy weight arrays in place.

One module per optimizer on the shared `base_optimizer.Optimizer`, as in Keras 3; this
module resolves names, configs and classes (`get`, `serialize`, `deserialize`).
"""

from fastconv.optimizers.adagrad import Adagrad
from fastconv.optimizers.adam import Adam
from fastconv.optimizers.adamw import AdamW
from fastconv.optimizers.base_optimizer import Optimizer
from fastconv.optimizers.nadam import Nadam
from fastconv.optimizers.rmsprop import RMSprop
from fastconv.optimizers.sgd import SGD

__all__ = [
    "Optimizer", "SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "Nadam",
    "get", "serialize", "deserialize",
]


_CLASSES = {
    "sgd": SGD,
    "adam": Adam,
    "adamw": AdamW,
    "rmsprop": RMSprop,
    "adagrad": Adagrad,
    "nadam": Nadam,
}


def serialize(optimizer):
    """`{"class_name": ..., "config": ...}` for `optimizer`."""
    return {"class_name": type(optimizer).__name__, "config": optimizer.get_config()}


def deserialize(config):
    """Builds an optimizer from `serialize`'s output."""
    if not isinstance(config, dict) or "class_name" not in config:
        raise ValueError(
            "An optimizer config must be a dict with a 'class_name' key. "
            f"Received: config={config!r}"
        )
    cls = _lookup(config["class_name"])
    return cls.from_config(dict(config.get("config") or {}))


def _lookup(name):
    cls = _CLASSES.get(str(name).lower())
    if cls is None:
        valid = ", ".join(repr(key) for key in _CLASSES)
        raise ValueError(f"Unknown optimizer: {name!r}. Valid names are {valid} (case-insensitive).")
    return cls


def get(identifier):
    """Resolves an optimizer from a name, a config dict, a class or an instance.

    Args:
        identifier: a string ('adam', 'SGD', ..., case-insensitive) for an
            optimizer with default arguments, a dict `{"class_name",
            "config"}`, an `Optimizer` subclass, or an `Optimizer` instance
            (returned as is).

    Returns:
        An `Optimizer` instance.

    Raises:
        ValueError: for an unknown name or identifier.
    """
    if isinstance(identifier, Optimizer):
        return identifier
    if isinstance(identifier, str):
        return _lookup(identifier)()
    if isinstance(identifier, dict):
        return deserialize(identifier)
    if isinstance(identifier, type) and issubclass(identifier, Optimizer):
        return identifier()
    raise ValueError(f"Could not interpret optimizer identifier: {identifier!r}")
