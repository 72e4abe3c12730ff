"""`fastconv.optimizers.schedules`: learning rates that change with the step count.

Pass a schedule as an optimizer's `learning_rate`; it is saved with the
optimizer's config (`serialize` / `deserialize`).
"""

from fastconv.optimizers.schedules.learning_rate_schedule import (
    CosineDecay,
    CosineDecayRestarts,
    ExponentialDecay,
    InverseTimeDecay,
    LearningRateSchedule,
    PiecewiseConstantDecay,
    PolynomialDecay,
)

__all__ = [
    "LearningRateSchedule", "ExponentialDecay", "PiecewiseConstantDecay", "PolynomialDecay",
    "InverseTimeDecay", "CosineDecay", "CosineDecayRestarts", "serialize", "deserialize",
]

_CLASSES = {cls.__name__: cls for cls in (ExponentialDecay, PiecewiseConstantDecay,
                                          PolynomialDecay, InverseTimeDecay, CosineDecay,
                                          CosineDecayRestarts)}


def serialize(learning_rate_schedule):
    """The schedule as a JSON-compatible dict, in Keras 3's layout.

    Args:
        learning_rate_schedule: a `LearningRateSchedule` with a `get_config`.

    Returns:
        `{"module": "keras.optimizers.schedules", "class_name": ..., "config":
        ..., "registered_name": None}`.

    Example:
        >>> serialize(ExponentialDecay(0.1, 1000, 0.96))["class_name"]
        'ExponentialDecay'
    """
    if not isinstance(learning_rate_schedule, LearningRateSchedule):
        raise TypeError("Expected a LearningRateSchedule. Received: "
                        f"learning_rate_schedule={learning_rate_schedule!r}")
    return {"module": "keras.optimizers.schedules",
            "class_name": type(learning_rate_schedule).__name__,
            "config": learning_rate_schedule.get_config(), "registered_name": None}


def deserialize(config, custom_objects=None):
    """Builds a schedule from `serialize`'s output (a dict with `class_name` and `config`).

    Args:
        config: the serialized schedule.
        custom_objects: `{class name: class}` for schedules defined outside
            fastconv.

    Returns:
        A `LearningRateSchedule`.

    Raises:
        ValueError: for a malformed config or an unknown class name.
    """
    if (not isinstance(config, dict) or not isinstance(config.get("class_name"), str)
            or not isinstance(config.get("config"), dict)):
        raise ValueError("A learning rate schedule config must be a dict with a string "
                         f"'class_name' and a dict 'config'. Received: config={config!r:.200}")
    name = config["class_name"]
    cls = (custom_objects or {}).get(name) or _CLASSES.get(name)
    if cls is None:
        raise ValueError(f"Unknown learning rate schedule: {name!r}. Valid names are "
                         f"{sorted(_CLASSES)}, or pass the class in `custom_objects`.")
    return cls.from_config(dict(config["config"]))
