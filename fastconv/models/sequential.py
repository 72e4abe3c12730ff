"""Sequential: a model made of a stack of layers, each feeding the next."""

from fastconv.layers.base import KerasTensor, Layer
from fastconv.layers.core import InputLayer
from fastconv.models.model import Model
from fastconv.saving import serialization

__all__ = ["Sequential"]


class Sequential(Model):
    """A linear stack of layers.

    The model is built as soon as its input shape is known (an `Input` first,
    or `input_shape=` on the first layer), so `summary()` works right after
    the layers are added; otherwise on the first call to `fit`, `predict`, ...

    Args:
        layers: optional list of layers to add.
        trainable: whether `fit` updates the weights.
        name: the model's name (default "sequential", made unique).

    Example:
        >>> from fastconv import layers
        >>> model = Sequential([layers.Input(shape=(4,)), layers.Dense(2)])
        >>> model.output_shape, model.count_params()
        ((None, 2), 10)
    """

    def __init__(self, layers=None, trainable=True, name=None):
        super().__init__(name=name, trainable=trainable)
        for layer in layers or []:
            self.add(layer)

    @property
    def layers(self):
        """The layers, without the InputLayer (as Keras)."""
        return self._chain

    def add(self, layer, rebuild=True):
        """Appends a layer (or an `Input`) and builds the model when the input shape is known.

        Raises:
            ValueError: for something that is not a layer, a second input, a
                duplicate layer name, or a layer that does not fit the previous output.
        """
        if isinstance(layer, KerasTensor) and layer.parent is None:
            layer = layer.layer
        if not isinstance(layer, Layer):
            raise ValueError(
                "Only instances of `fastconv.layers.Layer` can be added to a Sequential model. "
                f"Received: {layer!r} (of type {type(layer).__name__})"
            )
        if len(getattr(layer, "_output_values", None) or ()) > 1:
            raise ValueError(
                f"Model '{layer.name}' has {len(layer._output_values)} outputs; a Sequential "
                "model's layers have one. Call it in a functional model instead."
            )
        if isinstance(layer, InputLayer):
            if self._layers and isinstance(self._layers[0], InputLayer):
                raise ValueError(
                    f"Sequential model '{self.name}' has already been configured to use input "
                    f"shape {self._layers[0].batch_shape}. You cannot add a different Input "
                    "layer to it."
                )
            if self._layers:
                raise ValueError("An Input can only be the first entry of a Sequential model.")
        elif not self._layers and layer._batch_input_shape is not None:
            self._layers.append(InputLayer(batch_shape=layer._batch_input_shape,
                                           dtype=layer.dtype))
        if any(existing.name == layer.name for existing in self._layers):
            raise ValueError(
                "All layers added to a Sequential model should have unique names. Name "
                f"'{layer.name}' is already the name of a layer in this model. Update the "
                "`name` argument to pass a unique name."
            )
        self._layers.append(layer)
        if rebuild:
            try:
                self._maybe_build()
            except Exception:
                self._layers.pop()
                raise

    def pop(self, rebuild=True):
        """Removes and returns the last layer.

        Raises:
            TypeError: if the model has no layers.
        """
        if not self._chain:
            raise TypeError("There are no layers in the model.")
        layer = self._layers.pop()
        self.built = False
        if rebuild:
            self._maybe_build()
        return layer

    def _maybe_build(self):
        if self._layers and isinstance(self._layers[0], InputLayer):
            self.build(self._layers[0].batch_shape)

    def build(self, input_shape=None):
        """Builds the layers for `input_shape` (batch axis first; default: the Input's shape)."""
        if input_shape is None:
            if not (self._layers and isinstance(self._layers[0], InputLayer)):
                raise ValueError("You must provide an `input_shape` argument.")
            input_shape = self._layers[0].batch_shape
        input_shape = tuple(input_shape)
        if not (self._layers and isinstance(self._layers[0], InputLayer)):
            self._layers.insert(0, InputLayer(batch_shape=(None,) + input_shape[1:],
                                              dtype=self._chain[0].dtype if self._chain else None))
        super().build(input_shape)
        self._outputs = [self._symbolic_chain()]

    def _symbolic_chain(self):
        """The layers called on the Input's tensor, one after the other (as Keras's
        Sequential builds a functional graph), so `layer.output` and `model.outputs` exist;
        a layer's earlier call on the same tensor is reused."""
        x = self._layers[0].output
        for layer in self._chain:
            calls = vars(layer).get("_keras_tensors", ())
            x = next((t for t in calls if t.parent is x), None) or layer(x)
        return x

    @property
    def inputs(self):
        first = self._layers[0] if self._layers else None
        return [first.output] if isinstance(first, InputLayer) else None

    @property
    def outputs(self):
        return list(self._outputs) if self.built else None

    def get_config(self):
        """`{"name", "trainable", "layers": [{"class_name", "config"}, ...]}` (InputLayer
        first), as Keras."""
        return {
            "name": self.name,
            "trainable": self.trainable,
            "layers": [serialization.serialize_layer(layer) for layer in self._layers],
        }

    @classmethod
    def from_config(cls, config, custom_objects=None):
        """A new Sequential model from `get_config()`'s output.

        Layer classes are looked up in `fastconv.saving.layer_registry` (plus
        `custom_objects`); unknown names raise ValueError.
        """
        layers = config.get("layers", [])
        if not isinstance(layers, list):
            raise ValueError("The Sequential config needs a 'layers' list.")
        trainable = config.get("trainable", True)
        if not isinstance(trainable, bool):
            raise ValueError(f"'trainable' must be true or false. Received: {trainable!r:.100}")
        model = cls(name=config.get("name"), trainable=trainable)
        for entry in layers:
            model.add(serialization.deserialize_layer(entry, custom_objects))
        return model


serialization.register_model_class(Sequential)
