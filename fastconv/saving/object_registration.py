"""Custom classes that saved models may name: Keras's `register_keras_serializable`,
`get_custom_objects` and `custom_object_scope`.

A loaded file names classes by string; fastconv only ever resolves those
strings through this registry, the built-in classes and the `custom_objects`
a caller passes (nothing is imported by name).
"""

import contextvars

__all__ = [
    "register_keras_serializable", "get_custom_objects", "custom_object_scope",
    "CustomObjectScope", "get_registered_name", "get_registered_object", "custom_objects_in_scope",
]

_GLOBAL_CUSTOM_OBJECTS = {}   # registered name ("package>Name") or plain name -> object
_GLOBAL_CUSTOM_NAMES = {}     # object -> registered name
_SCOPE = contextvars.ContextVar("fastconv_custom_object_scope", default=None)


def register_keras_serializable(package="Custom", name=None):
    """A decorator that registers a class or function as `"package>name"`, as Keras.

    Args:
        package: the namespace part of the registered name.
        name: the name part (default: the object's `__name__`).

    Returns:
        The decorator; it returns the object unchanged.

    Raises:
        ValueError: `package` contains ">", or the name is already registered to another
            object.

    Example:
        >>> from fastconv import layers, saving
        >>> @saving.register_keras_serializable(package="Doc")
        ... class Twice(layers.Layer):
        ...     def call(self, x):
        ...         return 2 * x
        >>> saving.get_registered_name(Twice)
        'Doc>Twice'
    """
    if not isinstance(package, str) or ">" in package:
        raise ValueError(f"`package` must be a string without '>'. Received: package={package!r}")

    def decorator(obj):
        registered = f"{package}>{name or obj.__name__}"
        if not callable(obj):
            raise TypeError(f"Only classes and functions can be registered. Received: {obj!r}")
        known = _GLOBAL_CUSTOM_OBJECTS.get(registered)
        if known is not None and known is not obj and getattr(known, "__qualname__", None) != \
                getattr(obj, "__qualname__", None):
            raise ValueError(f"{registered} has already been registered to {known}")
        _GLOBAL_CUSTOM_OBJECTS[registered] = obj
        _GLOBAL_CUSTOM_NAMES[obj] = registered
        return obj
    return decorator


def get_custom_objects():
    """The global `{registered name: object}` dict; adding to it registers objects
    (as `keras.saving.get_custom_objects`)."""
    return _GLOBAL_CUSTOM_OBJECTS


class CustomObjectScope:
    """A `with` block in which `custom_objects` are visible to loading (as Keras's
    `custom_object_scope`).

    Args:
        *custom_objects: dicts `{name: class or function}`.
    """

    def __init__(self, *custom_objects):
        merged = {}
        for objects in custom_objects:
            if objects is None:
                continue
            if not isinstance(objects, dict):
                raise TypeError(f"custom_object_scope takes dicts. Received: {objects!r}")
            merged.update(objects)
        self.custom_objects = merged
        self._token = None

    def __enter__(self):
        self._token = _SCOPE.set({**(_SCOPE.get() or {}), **self.custom_objects})
        return self

    def __exit__(self, *exc_info):
        _SCOPE.reset(self._token)


custom_object_scope = CustomObjectScope


def get_registered_name(obj):
    """The name `obj` is registered under (its `__name__` when it is not registered)."""
    return _GLOBAL_CUSTOM_NAMES.get(obj, getattr(obj, "__name__", None))


def custom_objects_in_scope(custom_objects=None):
    """Every custom object visible now: the global registry, the innermost scopes, then
    `custom_objects`; each registered object also under its plain class name."""
    merged = {}
    for registered, obj in _GLOBAL_CUSTOM_OBJECTS.items():
        merged.setdefault(registered.rpartition(">")[2], obj)
    merged.update(_GLOBAL_CUSTOM_OBJECTS)
    merged.update(_SCOPE.get() or {})
    if custom_objects:
        merged.update(custom_objects)
    return merged


def get_registered_object(name, custom_objects=None):
    """The object registered (or passed in `custom_objects`) under `name`, or None."""
    return custom_objects_in_scope(custom_objects).get(name)

