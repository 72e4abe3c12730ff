"""Model: the container of layers that every model kind shares.

A model is built from `Model(inputs, outputs)` (functional: a graph of layers from
its inputs to its outputs) or as a `Sequential`. The container knows its layers,
weights, shapes and how to save itself; it describes its computation as a graph
(`_graph`: each layer with the values it reads) that the executor
(`fastconv.executor`) turns into a plan, once per input signature. Training and
inference loops come from `fastconv.trainers.Trainer`.

A model is also a `Layer` (as in Keras): it can be a layer of a `Sequential`, be
called on KerasTensors inside a functional graph, or be called on arrays. Inside
another model it is one step whose forward and backward passes run its own plan on a
`Run` kept in that step's `CallState`, so threads stay apart as for any layer.
"""

import numpy as np

from fastconv import backend, saving
from fastconv.distributed import data_parallel
from fastconv.executor import Run, plan_for
from fastconv.layers import custom_call, weight_penalties
from fastconv.layers.base import KerasTensor, Layer, _snake_case
from fastconv.layers.core import InputLayer
from fastconv.models import subclassed, summary
from fastconv.saving import serialization
from fastconv.trainers import Trainer, data_adapters
from fastconv.trainers.data_adapters import structured_data

__all__ = ["Model"]


def _unique(arrays):
    """`arrays` without repeats (a shared layer's weights are listed once, as Keras)."""
    seen = set()
    return [a for a in arrays if not (id(a) in seen or seen.add(id(a)))]


class Model(Trainer, Layer):
    """A model that trains with `fit` and infers with `predict`; also a layer of other models.

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

    # Inside another model, each of this model's layers uses its own `training` default.
    training_default = None

    def __init__(self, inputs=None, outputs=None, name=None, trainable=True, dtype=None,
                 **kwargs):
        if kwargs:
            raise TypeError(f"Unrecognized keyword arguments passed to Model: {kwargs}")
        self._layers = []
        self._trainable = bool(trainable)
        Layer.__init__(self, name=name or backend.unique_name(
            "functional" if type(self) is Model else _snake_case(type(self).__name__)),
            trainable=trainable, dtype=dtype)
        self._input_shape = None
        self._output_shape = None
        self._graph = []   # [(layer, indices of the values it reads)], value 0 = the input
        self._output_values = None  # the values the model returns (None: the last one)
        self._call_training = None  # per step, `training` fixed at that call (or None)
        self._plans = {}   # the executor's plans, by input signature (see executor.plan_for)
        self._init_trainer()
        if type(self) is Model:
            raise ValueError(
                "A fastconv Model is built from `Model(inputs, outputs)`, as a `Sequential`, "
                "or by subclassing `Model` with `__init__` and `call`."
            )
        if self._subclassed:
            subclassed.check_class(self, inputs, outputs)
        elif not subclassed.is_container(self):
            raise NotImplementedError(
                f"Model subclass {type(self).__name__} must implement `call`. (Subclassing a "
                "functional model, passing `inputs`/`outputs` to `Model.__init__`, is not "
                "supported: build it with `Model(inputs, outputs)`.)")

    @property
    def _subclassed(self):
        """Whether this is a subclassed model (it defines `call`)."""
        return self._runs_user_call()

    def __new__(cls, *args, **kwargs):
        # As Keras: `Model(inputs, outputs)` builds a functional model (a graph of layers).
        if cls is Model and (args or "inputs" in kwargs or "outputs" in kwargs):
            from fastconv.models.functional import Functional
            return super().__new__(Functional)
        return super().__new__(cls)

    # ------------------------------------------------------------- layers
    @property
    def layers(self):
        """The model's layers (a functional model lists its InputLayer first, as Keras; a
        subclassed model the layers its attributes hold)."""
        if self._subclassed:
            return self._sublayers()
        return list(self._layers)

    @property
    def _chain(self):
        if self._subclassed:
            return self._sublayers()
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
    def input(self):
        """The model's input KerasTensor (a list for several inputs)."""
        return self._structure("inputs")

    @property
    def output(self):
        """The model's output KerasTensor (a list for several outputs)."""
        return self._structure("outputs")

    def _structure(self, attribute):
        tensors = getattr(self, attribute, None)
        if not tensors:
            raise AttributeError(f"Model '{self.name}' has no defined {attribute[:-1]} yet: "
                                 "build it first.")
        return tensors[0] if len(tensors) == 1 else list(tensors)

    @property
    def weights(self):
        if self._subclassed:
            return Layer.weights.fget(self)
        return _unique([w for layer in self._chain for w in layer.weights])

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
    def losses(self):
        """The model's losses, as Keras's `model.losses`: every layer's weight penalties,
        the activity penalties of the last `model(x)` call, then the values `add_loss`
        received in the last call (a subclassed model's own `call` first)."""
        added = list(self._losses) + [loss for layer in self._chain
                                      for loss in layer._added_losses()]
        return (weight_penalties.all_weight_losses(self._chain)
                + list(getattr(self, "_activity_losses", ())) + added)

    @property
    def trainable_weights(self):
        if not self.trainable:
            return []
        if self._subclassed:
            return Layer.trainable_weights.fget(self)
        return _unique([w for layer in self._chain for w in layer.trainable_weights])

    @property
    def non_trainable_weights(self):
        if not self.trainable:
            return self.weights
        if self._subclassed:
            return Layer.non_trainable_weights.fget(self)
        return _unique([w for layer in self._chain for w in layer.non_trainable_weights])

    trainable_variables = trainable_weights
    non_trainable_variables = non_trainable_weights

    def get_weights(self):
        """Copies of every weight, layer by layer."""
        return [np.array(w) for w in self.weights]

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
        if self._subclassed:
            return Layer.set_weights(self, weights)
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
        """Builds every layer for inputs of `input_shape` (batch axis first); a subclassed
        model by running its `call` once on a zero batch."""
        if self._subclassed:
            return subclassed.build(self, input_shape)
        shape = tuple(input_shape)
        self._input_shape = (None,) + shape[1:]
        for layer in self._chain:
            shape = layer.build_for(shape)
        self._output_shape = (None,) + tuple(shape[1:])
        self._batch_input_shape = self._input_shape  # a built model fixes a Sequential's input
        self.dtype = self._input_dtype().name  # ... and its dtype
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
        if self._subclassed:  # integer data (token ids) stays integer, as Keras passes it
            return np.dtype(vars(self).get("_integer_inputs") or self.dtype)
        chain = self._chain
        return np.dtype(chain[0].dtype if chain else backend.floatx())

    def _input_dtypes(self):
        """The dtype of each input (the executor casts each input batch to it)."""
        return [self._input_dtype()]

    def _input_shapes(self):
        """The built input shape (a list of them for several inputs)."""
        if getattr(self, "multiple_inputs", False):
            return [(None,) + tuple(t.shape[1:]) for t in self.inputs]
        return self._input_shape

    def _output_dtype(self):
        if self._subclassed:
            return np.dtype(self.dtype)
        chain = self._chain
        return np.dtype(chain[-1].dtype if chain else backend.floatx())

    def _check_input(self, x):
        """Builds the model for x's shape, or checks x against the built input shape."""
        if self._subclassed:
            self._integer_inputs = x.dtype if x.dtype.kind in "iu" else None
        if self._subclassed and not self._graph:
            self._build_once((None,) + x.shape[1:])  # the user's `build` if it has one
            if not self._graph:  # ... which need not call `Model.build`
                subclassed.build(self, (None,) + x.shape[1:])
            return
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

    # ------------------------------------------------------------ structures
    # A model with several inputs or outputs, or dicts of them (functional models), matches
    # data to them by position or name; the others take and return one array.
    _structured = False

    def _loss_output_names(self):
        """The output names per-output losses and metrics are keyed by; None for one output."""
        return None

    def _flat_inputs(self, x, argument="x"):
        return x

    def _pack_outputs(self, arrays):
        return arrays

    # ------------------------------------------------------------ compute
    def __call__(self, inputs, training=None, **kwargs):
        """Runs the model eagerly on an array batch (returns new arrays), or records a call
        on KerasTensors in a functional graph (returns a KerasTensor).

        Args:
            inputs: an array batch, or a KerasTensor (for several inputs, a list or dict
                of them).
            training: True or False; None (the default) lets each layer use its own
                default, as Keras 3 (augmentation layers then augment, Dropout does not).
        """
        if self._subclassed:  # its own `call`, as any custom layer
            return Layer.__call__(self, inputs, training=training, **kwargs)
        if kwargs:
            raise TypeError(f"Unrecognized arguments in the call to model '{self.name}': {kwargs}")
        flat = self._flat_inputs(inputs, "inputs") if self._structured else inputs
        if any(isinstance(t, KerasTensor) for t in (flat if isinstance(flat, list) else [flat])):
            return self._call_symbolic(flat, training)
        if isinstance(flat, list):
            x = [data_adapters.as_array(array, "inputs") for array in flat]
        else:
            x = data_adapters.as_array(flat, "inputs")
        self._check_input(x)
        training = self.resolve_training(training)  # inside a custom call: the call's
        tape = custom_call.records_on(self, flat)
        if tape is not None:  # one node on the tape, differentiated by the executor
            return self._pack_outputs(custom_call.record_builtin_call(
                self, tape, flat, training, isinstance(flat, list)))
        run = Run(plan_for(self, structured_data.signature(x), self.loss))
        outputs = run.forward(x, training=training)
        self._activity_losses = weight_penalties.activity_losses(run.states)
        return self._pack_outputs(outputs)

    def _call_symbolic(self, inputs, training=None):
        """The KerasTensor of this model applied to `inputs` in an outer graph; a `training`
        given here holds for this call whatever the outer model's mode (as Keras: a frozen
        base called with `training=False` keeps its BatchNormalization in inference)."""
        multiple = getattr(self, "multiple_inputs", False)
        if isinstance(inputs, list) and len(inputs) == 1 and not multiple:
            inputs = inputs[0]
        tensors = inputs if isinstance(inputs, list) else [inputs]
        if isinstance(inputs, list) != multiple:
            raise ValueError(f"Model '{self.name}' expects {len(self.inputs or [1])} input(s), "
                             f"but it was called on {len(tensors)}.")
        if not all(isinstance(t, KerasTensor) for t in tensors):
            raise ValueError(f"Model '{self.name}' was called on a mix of KerasTensors and "
                             "arrays; pass all symbolic inputs (functional API) or all arrays.")
        shapes = [t.shape for t in tensors]
        output_shape = self.build_for(shapes if isinstance(inputs, list) else shapes[0])
        training = None if training is None else bool(training)
        if len(self._output_values or ()) < 2:
            tensor = KerasTensor(output_shape, self._output_dtype().name, self, parent=inputs)
            tensor.call_training = training
            return tensor
        # Several outputs: one tensor each, all of one call (`call_outputs`), in the
        # structure of the model's outputs.
        outputs = [KerasTensor(shape, t.dtype, self, parent=inputs)
                   for shape, t in zip(output_shape, self.outputs)]
        for index, tensor in enumerate(outputs):
            tensor.call_training = training
            tensor.output_index = index
            tensor.call_outputs = outputs
        return self._pack_outputs(outputs)

    def build_for(self, input_shape):
        """Builds the model for `input_shape` if needed, checks it, returns the output shape
        (what an outer model asks of each of its layers)."""
        multiple = getattr(self, "multiple_inputs", False)
        if not self.built:
            self.build(tuple(input_shape))
        shapes = [tuple(s) for s in input_shape] if multiple else [tuple(input_shape)]
        expected = [(None,) + tuple(t.shape[1:]) for t in self.inputs] if multiple \
            else [self._input_shape]
        for index, (shape, want) in enumerate(zip(shapes, expected)):
            if len(want) != len(shape) or any(e is not None and d is not None and e != d
                                              for e, d in zip(want[1:], shape[1:])):
                raise ValueError(
                    f'Input {index} of layer "{self.name}" is incompatible with the layer: '
                    f"expected shape={want}, found shape={shape}"
                )
        return self.compute_output_shape(shapes if multiple else shapes[0])

    def compute_output_shape(self, input_shape):
        """The output shape for `input_shape`, through every layer of the graph (a list of
        shapes for several outputs; a subclassed model's: what its `call` returns on a zero
        batch)."""
        if self._subclassed:
            return Layer.compute_output_shape(self, input_shape)
        multiple = getattr(self, "multiple_inputs", False)
        shapes = [tuple(s) for s in input_shape] if multiple else [tuple(input_shape)]
        for layer, parents in self._graph:
            inputs = [shapes[p] for p in parents]
            several = getattr(layer, "multiple_inputs", False)
            shapes.append(tuple(layer.compute_output_shape(inputs if several else inputs[0])))
        outputs = self._output_values or (len(shapes) - 1,)
        return shapes[outputs[0]] if len(outputs) == 1 else [shapes[v] for v in outputs]

    def forward(self, state, inputs, training):
        """Runs the model as one step of an outer model: its own plan, on a `Run` kept in
        `state` (rebuilt when the input signature or the trainable flags change); a
        subclassed model's `call` on the gradient tape, as any custom layer."""
        if self._subclassed:
            return Layer.forward(self, state, inputs, training)
        plan = plan_for(self, structured_data.signature(inputs), None,
                        input_grad=state.needs_input_grad)
        run = getattr(state, "run", None)
        if run is None or run.plan is not plan:
            # Reuse buffers exactly when the outer run does (its loops, not eager calls).
            run = state.run = Run(plan, reuse_buffers=state.reuses_buffers)
        outputs = run.forward(inputs, training)
        # The activity penalties of the inner layers join the outer run's loss (their
        # gradients the inner run's backward pass adds).
        inner = weight_penalties.activity_losses(run.states)
        if inner:
            state.activity_loss = sum(inner)
        return outputs

    def grad(self, state, dy):
        """dL/dinputs of the forward pass that filled `state`; sets `state.grads` aligned
        with `trainable_weights` (zeros for weights the loss does not reach)."""
        if self._subclassed:
            return Layer.grad(self, state, dy)
        run = state.run
        dx = run.backward(dy)
        by_weight = {id(weight): grad for grad, weight in run.grads_and_vars()}
        state.grads = [by_weight[id(w)] if id(w) in by_weight else np.zeros(w.shape, w.dtype)
                       for w in self.trainable_weights]
        return dx

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

        Any file name works ("model.keras", "best.h5"); the file is always
        fastconv's zip format, written atomically. See `fastconv.saving.save_model`.
        In a job of several ranks (`fastconv.distributed`) only rank 0 writes.

        Raises:
            NotImplementedError: for a subclassed model (its architecture is Python code).
        """
        if self._subclassed:
            raise NotImplementedError(
                f"Model '{self.name}' is a subclassed model: its architecture is its Python "
                "code, which fastconv's model files cannot hold. Save its weights with "
                "`save_weights` and rebuild the model in code before `load_weights`.")
        if not data_parallel.writes_files():
            return
        saving.save_model(self, filepath, overwrite=overwrite,
                          include_optimizer=include_optimizer, **kwargs)

    def save_weights(self, filepath, overwrite=True, **kwargs):
        """Saves only the weights (on rank 0 only in a job of several ranks). See
        `fastconv.saving.save_weights`."""
        self._refuse_own_variables("save_weights")
        if not data_parallel.writes_files():
            return
        saving.save_weights(self, filepath, overwrite=overwrite, **kwargs)

    def _refuse_own_variables(self, method):
        """The weight files hold the weights of the model's layers: a subclassed model's own
        Variables (`add_weight` on the model itself) would be left out."""
        if self._subclassed and self._own_variables():
            raise NotImplementedError(
                f"Model '{self.name}' holds Variables of its own "
                f"({[v.name for v in self._own_variables()]}); `{method}` stores the weights "
                "of the model's layers only. Move them into a custom layer.")

    def load_weights(self, filepath, skip_mismatch=False, **kwargs):
        """Loads weights saved by `save_weights` or `save`, layer by layer in order.

        Raises:
            ValueError: a bad file, or a layer whose weight shapes differ (named).
        """
        self._refuse_own_variables("load_weights")
        saving.load_weights(self, filepath, skip_mismatch=skip_mismatch, **kwargs)

    def __repr__(self):
        return f"<{type(self).__name__} name={self.name}, built={self.built}>"


serialization.register_model_class(Model)
