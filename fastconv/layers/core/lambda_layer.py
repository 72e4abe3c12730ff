"""Lambda: a layer from a function of arrays (Keras 3's `layers.Lambda`)."""

import inspect

from fastconv.layers.base import Layer

__all__ = ["Lambda"]


class Lambda(Layer):
    """Wraps a function `function(inputs, **arguments)` as a layer.

    The function is written with NumPy or `fastconv.ops` and differentiated by the
    gradient tape; it receives `mask` and `training` when it takes arguments of those
    names, as in Keras.

    Args:
        function: the function of the inputs.
        output_shape: the output shape (without the batch axis), or a function of the
            input shape; by default it is found by running `function` on a small zero
            batch.
        mask: accepted for Keras compatibility; fastconv layers carry no masks, so only
            None is supported.
        arguments: a dict of further keyword arguments for `function`.
        **kwargs: the base `Layer` arguments (`name`, `dtype`, ...).

    Raises:
        TypeError: `function` is not callable.
        ValueError: a `mask` was given.

    Example:
        >>> import numpy as np
        >>> double = Lambda(lambda x: 2.0 * x)
        >>> double(np.ones((1, 2)))
        array([[2., 2.]], dtype=float32)
    """

    def __init__(self, function, output_shape=None, mask=None, arguments=None, **kwargs):
        super().__init__(**kwargs)
        if not callable(function):
            raise TypeError(f"Argument `function` must be callable. Received: {function!r}")
        if mask is not None:
            raise ValueError("Lambda(mask=...) is not supported: fastconv layers carry no "
                             f"masks. Received: mask={mask!r}")
        self.function = function
        self.arguments = dict(arguments or {})
        self._output_shape = output_shape
        parameters = inspect.signature(function).parameters
        self._takes_training = "training" in parameters
        self._takes_mask = "mask" in parameters

    def call(self, inputs, mask=None, training=None):
        kwargs = dict(self.arguments)
        if self._takes_mask:
            kwargs["mask"] = mask
        if self._takes_training:
            kwargs["training"] = training
        return self.function(inputs, **kwargs)

    def compute_output_shape(self, input_shape):
        if self._output_shape is None:
            return self._output_shape_by_calling(input_shape)
        if callable(self._output_shape):
            return tuple(self._output_shape(input_shape))
        batch = input_shape[0][0] if isinstance(input_shape, list) else input_shape[0]
        return (batch,) + tuple(self._output_shape)

    def get_config(self):
        """The config; the function is stored by module and name (given back through
        `custom_objects` when loading), so it must be a named module-level function (not
        a lambda or a nested function).

        Raises:
            ValueError: the function cannot be found again by its name.
        """
        function = self.function
        qualname = getattr(function, "__qualname__", "")
        if getattr(function, "__name__", "<lambda>") == "<lambda>" or "<locals>" in qualname:
            raise ValueError(
                f"Lambda layer '{self.name}' wraps {function!r}, which cannot be saved: "
                "fastconv stores a Lambda's function by module and name (Keras stores "
                "bytecode and refuses to load it in safe mode). Use a named module-level "
                "function, or a custom layer.")
        if callable(self._output_shape):
            raise ValueError(f"Lambda layer '{self.name}': an `output_shape` function cannot "
                             "be saved; give the shape as a tuple.")
        config = super().get_config()
        config.update(
            function={"module": function.__module__, "class_name": "function",
                      "config": function.__name__, "registered_name": "function"},
            output_shape=None if self._output_shape is None else list(self._output_shape),
            arguments=self.arguments)
        return config

    @classmethod
    def from_config(cls, config, custom_objects=None):
        """A Lambda from `get_config()`'s output; the function comes from
        `custom_objects` (fastconv imports nothing named in a file).

        Raises:
            ValueError: the function is not in `custom_objects`.
        """
        config = dict(config)
        function = config.pop("function")
        if isinstance(function, dict):
            name = function.get("config")
            if not custom_objects or name not in custom_objects:
                raise ValueError(
                    f"Lambda layer '{config.get('name')}' calls the function "
                    f"{function.get('module')}.{name}; pass it as custom_objects="
                    f"{{{name!r}: {name}}} to load the model.")
            function = custom_objects[name]
        return cls(function, **config)
