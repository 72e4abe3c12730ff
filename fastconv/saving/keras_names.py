"""Which fastconv classes are which Keras 3 classes, and the Keras-only config keys that
fastconv may drop because their value is Keras's "feature off" default.

One table for every layer; a new layer registers with `register_keras_layer` (the
layer modules need not know about files). A Keras config key fastconv does not
accept is dropped only when its value is None or listed here as neutral; any other
value is refused with a message naming the layer and the key, never ignored.
"""

import re

__all__ = ["register_keras_layer", "keras_class_name", "fastconv_class_name", "neutral_keys",
           "not_in_keras", "to_snake_case", "ANY"]

ANY = object()   # a neutral entry that accepts whatever value Keras wrote

# fastconv class name -> Keras class name (only where they differ).
_TO_KERAS = {}
# Keras class name -> fastconv class name (only where they differ).
_FROM_KERAS = {}
# Keras class name -> {Keras-only key: its neutral value (or ANY)}.
_NEUTRAL = {
    # Every layer: Keras's base Layer casts inputs to its dtype (fastconv has no mixed precision).
    "*": {"autocast": True},
    "InputLayer": {"sparse": False, "ragged": False, "optional": False},
    "BatchNormalization": {"synchronized": False, "renorm": False, "renorm_momentum": ANY},
    # Optimizers: exponential moving averages off; Keras 2's time decay off, its XLA flag.
    "optimizer": {"use_ema": False, "ema_momentum": ANY, "decay": 0.0, "jit_compile": ANY,
                  "is_legacy_optimizer": False},
}

# fastconv class name -> config keys Keras's class does not take (its __init__ refuses them).
_NOT_IN_KERAS = {
    "SpatialDropout1D": {"trainable"},
    "SpatialDropout2D": {"trainable"},
}


def register_keras_layer(fastconv_name, keras_name=None, neutral=None, not_in_keras=None):
    """Declares how a fastconv layer class maps to Keras 3.

    Args:
        fastconv_name: the fastconv class name.
        keras_name: the Keras class name (default: the same).
        neutral: `{Keras-only config key: value that means the feature is off, or ANY}`.
        not_in_keras: config keys of the fastconv layer that Keras's class does not take
            (left out of the files fastconv writes).
    """
    keras_name = keras_name or fastconv_name
    if keras_name != fastconv_name:
        _TO_KERAS[fastconv_name] = keras_name
        _FROM_KERAS[keras_name] = fastconv_name
    if neutral:
        _NEUTRAL.setdefault(keras_name, {}).update(neutral)
    if not_in_keras:
        _NOT_IN_KERAS.setdefault(fastconv_name, set()).update(not_in_keras)


def not_in_keras(fastconv_name):
    """The config keys of a fastconv layer class that Keras's class does not take."""
    return _NOT_IN_KERAS.get(fastconv_name, set())


def keras_class_name(fastconv_name):
    return _TO_KERAS.get(fastconv_name, fastconv_name)


def fastconv_class_name(keras_name):
    return _FROM_KERAS.get(keras_name, keras_name)


def neutral_keys(keras_name):
    """`{key: neutral value}` for a Keras layer class (or "optimizer")."""
    if keras_name == "optimizer":
        return _NEUTRAL["optimizer"]
    return {**_NEUTRAL["*"], **_NEUTRAL.get(keras_name, {})}


def to_snake_case(name):
    """Keras's `naming.to_snake_case`: "MaxPooling2D" -> "max_pooling2d" (the group names of
    a .weights.h5 file)."""
    name = re.sub(r"\W+", "", name)
    name = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub("([a-z])([A-Z])", r"\1_\2", name).lower()
