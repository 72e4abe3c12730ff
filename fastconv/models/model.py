"""Model: the container of layers that every model kind shares.

A model is built from `Model(inputs, outputs)` (functional: the graph of layers
from one `Input` to one output) or as a `Sequential`. The container knows its
layers, weights, shapes and how to save itself; it describes its computation as a
graph (`_graph`: each layer with the values it reads) that the executor
(`fastconv.executor`) turns into a plan, once per input signature. Training and
inference loops come from `fastconv.trainers.Trainer`.
"""

import numpy as np

from fastconv import backend, saving
from fastconv.executor import Run, plan_for
from fastconv.layers.core import InputLayer
from fastconv.models import summary
from fastconv.saving import serialization
from fastconv.trainers import Trainer, data_adapters

__all__ = ["Model"]


class Model(Trainer):
    """A model that trains with `fit` and infers with `predict`.

    Args:
        inputs: the `KerasTensor` returned by `fastconv.Input(...)`.
        outputs: the `KerasTensor` produced from it by calling layers.
        name: the model's name (default "functional", made unique).
        trainable: whether `fit` updates the weights.

    Raises:
        ValueError: if `outputs` does not come from `inputs`.

    Example:
        >>> import numpy as np
        >>> from fastconv import layers
        >>> inputs = layers.Input(shape=(4,))
        >>> outputs = layers.Dense(2, activation="softmax")(inputs)
        >>> model = Model(inputs, outputs)
        >>> model.predict(np.zeros((3, 4))).shape
        (3, 2)
    """

    def __init__(self, inputs=None, outputs=None, name=None, trainable=True, **kwargs):
        if kwargs:
            raise TypeError(f"Unrecognized keyword arguments passed to Model: {kwargs}")
        self.name = name or backend.unique_name(
            "functional" if type(self) is Model else type(self).__name__.lower())
        self._layers = []
        self._trainable = bool(trainable)
        self.built = False
        self._input_shape = None
        self._output_shape = None
        self._graph = []   # [(layer, indices of the values it reads)], value 0 = the input
        self._plans = {}   # the executor's plans, by input signature (see executor.plan_for)
        self._init_trainer()
        if type(self) is Model:
            raise ValueError(
                "A fastconv Model is built from `Model(inputs, outputs)` or as a "
                "`Sequential`; subclassed models are not supported."
            )

    def __new__(cls, *args, **kwargs):
        # As Keras: `Model(inputs, outputs)` builds a functional model (a graph of layers).
        if cls is Model and (args or "inputs" in kwargs or "outputs" in kwargs):
            from fastconv.models.functional import Functional
            return super().__new__(Functional)
        return super().__new__(cls)

    # ------------------------------------------------------------- layers
    @property
    def layers(self):
        """The model's layers (a functional model lists its InputLayer first, as Keras)."""
        return list(self._layers)

    @property
    def _chain(self):
        return [layer for layer in self._layers if not isinstance(layer, InputLayer)]

    def get_layer(self, name=None, index=None):
        """A layer by name or by index in `layers`."""
        if index is not None:
            if not -len(self.layers) <= index < len(self.layers):
                raise ValueError(f"Was asked to retrieve layer at index {index} but model "
                                 f"'{self.name}' only has {len(self.layers)} layers.")
            return self.layers[index]
        for layer in self.layers:
            if layer.name == name:
                return layer
        raise ValueError(f"No such layer: {name}. Existing layers are: "
                         f"{[layer.name for layer in self.layers]}.")

    @property
    def weights(self):
        return [w for layer in self._chain for w in layer.weights]

    @property
    def trainable(self):
        """Whether `fit` updates the weights. Setting it sets every layer's `trainable`, as
        Keras: a frozen model has no trainable weights and its BatchNormalization layers
        stop updating their moving statistics."""
        return self._trainable

    @trainable.setter
    def trainable(self, value):
        self._trainable = bool(value)
        for layer in self._chain:
            layer.trainable = self._trainable

    @property
    def trainable_weights(self):
        if not self.trainable:
            return []
        return [w for layer in self._chain for w in layer.trainable_weights]

    @property
    def non_trainable_weights(self):
        if not self.trainable:
            return self.weights
        return [w for layer in self._chain for w in layer.non_trainable_weights]

    def get_weights(self):
        """Copies of every weight, layer by layer."""
        return [w.copy() for w in self.weights]

    def set_weights(self, weights):
        """Copies `weights` (as `get_weights` returns them) into the layers, in place.

        Raises:
            ValueError: if the number of arrays or any shape differs.
        """
        if isinstance(weights, np.ndarray) or not hasattr(weights, "__iter__"):
            raise TypeError(
                f"`set_weights` expects a list of arrays (as `get_weights()` returns). "
                f"Received: weights of type {type(weights).__name__}"
            )
        weights = list(weights)
        expected = sum(len(layer.weights) for layer in self._chain)
        if len(weights) != expected:
            hint = ("" if self.built else " The model isn't built yet: build it with "
                    "`model.build(input_shape)` or by calling it on data first.")
            raise ValueError(
                f"You called `set_weights(weights)` on model '{self.name}' with a weight list "
                f"of length {len(weights)}, but the model was expecting {expected} weights."
                + hint
            )
        # Check every array before copying any, so a bad list leaves the weights as they were.
        start = 0
        for layer in self._chain:
            for param, value in zip(layer.weights, weights[start:start + len(layer.weights)]):
                value = np.asarray(value)
                if value.dtype.kind not in "fiub":
                    raise TypeError(
                        f"Layer {layer.name} weights must hold numbers. Received an array "
                        f"with dtype={value.dtype} for its weight of shape {param.shape}."
                    )
                if value.shape != param.shape:
                    raise ValueError(
                        f"Layer {layer.name} weight shape {param.shape} is not compatible with "
                        f"provided weight shape {value.shape}."
                    )
            start += len(layer.weights)
        start = 0
        for layer in self._chain:
            count = len(layer.weights)
            layer.set_weights(weights[start:start + count])
            start += count

    def count_params(self):
        """The number of scalars in all the weights.

        Raises:
            ValueError: if the model is not built yet.
        """
        if not self.built:
            raise ValueError(
                f"You tried to call `count_params` on model '{self.name}', but the model "
                "isn't built. Build it with `model.build(input_shape)` or by calling it on data."
            )
        return int(sum(w.size for w in self.weights))

    def summary(self, line_length=None, positions=None, print_fn=None, expand_nested=False,
                show_trainable=False, layer_range=None):
        """Prints Keras's table of layers, output shapes and parameter counts."""
        summary.print_summary(self, line_length=line_length, positions=positions,
                              print_fn=print_fn, expand_nested=expand_nested,
                              show_trainable=show_trainable, layer_range=layer_range)

    # -------------------------------------------------------------- build
    def build(self, input_shape):
        """Builds every layer for inputs of `input_shape` (batch axis first)."""
        shape = tuple(input_shape)
        self._input_shape = (None,) + shape[1:]
        for layer in self._chain:
            shape = layer.build_for(shape)
        self._output_shape = (None,) + tuple(shape[1:])
        self._set_graph([(layer, (index,)) for index, layer in enumerate(self._chain)])
        self.built = True

    def _set_graph(self, graph):
        """Records the computation for the executor; the old plans no longer apply."""
        self._graph = graph
        self._plans = {}
        if not self._trainable:  # layers added to a frozen model are frozen too
            for layer, _ in graph:
                layer.trainable = False

    @property
    def input_shape(self):
        if self._input_shape is None:
            raise AttributeError(f"The model '{self.name}' has no defined input shape yet.")
        return self._input_shape

    @property
    def output_shape(self):
        if self._output_shape is None:
            raise AttributeError(f"The model '{self.name}' has no defined output shape yet.")
        return self._output_shape

    def _input_dtype(self):
        chain = self._chain
        return np.dtype(chain[0].dtype if chain else backend.floatx())

    def _output_dtype(self):
        chain = self._chain
        return np.dtype(chain[-1].dtype if chain else backend.floatx())

    def _check_input(self, x):
        """Builds the model for x's shape, or checks x against the built input shape."""
        if not self.built:
            self.build((None,) + x.shape[1:])
            return
        expected = self._input_shape
        if len(expected) != x.ndim or any(
                e is not None and e != d for e, d in zip(expected[1:], x.shape[1:])):
            raise ValueError(
                f'Input 0 of layer "{self.name}" is incompatible with the layer: '
                f"expected shape={expected}, found shape={x.shape}"
            )

    # ------------------------------------------------------------ compute
    def __call__(self, inputs, training=None):
        """Runs the model eagerly on an array batch; returns new arrays.

        Args:
            inputs: an array batch.
            training: True or False; None (the default) lets each layer use its own
                default, as Keras 3 (augmentation layers then augment, Dropout does not).
        """
        x = data_adapters.as_array(inputs, "inputs")
        self._check_input(x)
        run = Run(plan_for(self, (x.shape[1:], x.dtype), self.loss))
        return run.forward(x, training=None if training is None else bool(training))

    # ------------------------------------------------------------- saving
    @classmethod
    def from_config(cls, config, custom_objects=None):
        """A new functional model from `Functional.get_config()`'s output.

        Raises:
            ValueError: unknown layer classes or an inconsistent config.
        """
        from fastconv.models.functional import Functional
        return Functional.from_config(config, custom_objects)

    def save(self, filepath, overwrite=True, include_optimizer=True, **kwargs):
        """Saves the model (architecture, weights, compile arguments, optimizer state).

        "model.keras" writes Keras 3's format and "model.h5" Keras's legacy HDF5
        format (both need h5py; Keras loads them); other names write fastconv's own
        zip. Written atomically. See `fastconv.saving.save_model`.
        """
        saving.save_model(self, filepath, overwrite=overwrite,
                          include_optimizer=include_optimizer, **kwargs)

    def save_weights(self, filepath, overwrite=True, **kwargs):
        """Saves only the weights ("x.weights.h5": Keras 3's weights file). See
        `fastconv.saving.save_weights`."""
        saving.save_weights(self, filepath, overwrite=overwrite, **kwargs)

    def load_weights(self, filepath, skip_mismatch=False, **kwargs):
        """Loads weights saved by `save_weights` or `save`, layer by layer in order.

        Raises:
            ValueError: a bad file, or a layer whose weight shapes differ (named).
        """
        saving.load_weights(self, filepath, skip_mismatch=skip_mismatch, **kwargs)

    def to_json(self, **kwargs):
        """The model's config (Keras 3's layout) as JSON text; `models.model_from_json` reads
        it back, as does Keras's. Keyword arguments go to `json.dumps`."""
        from fastconv.models.cloning import model_to_json
        return model_to_json(self, **kwargs)

    def __repr__(self):
        return f"<{type(self).__name__} name={self.name}, built={self.built}>"


serialization.register_model_class(Model)
