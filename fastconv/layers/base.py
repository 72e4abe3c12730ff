"""The Layer base class (Keras 3 lifecycle on NumPy weights) and the symbolic KerasTensor."""

import contextvars
import functools
import math
import re

import numpy as np

from fastconv import activations, backend, constraints, initializers, ops, regularizers
from fastconv.autodiff import Variable, stop_recording
from fastconv.autodiff.primitive import plain
from fastconv.autodiff.traced import TapeArray
from fastconv.layers import custom_call, weight_penalties
from fastconv.layers.call_state import CallState
from fastconv.ops._args import output_size, result_dtype  # noqa: F401 - the layers' one rule

__all__ = ["Layer", "KerasTensor"]

# While fastconv.saving rebuilds a model from a file, a callable `charge(layer_name, shape, dtype)`
# that refuses weights the file cannot hold, before they are allocated (None otherwise).
weight_allocation_check = contextvars.ContextVar("weight_allocation_check", default=None)

# Attributes of fastconv's own bookkeeping that hold layers or Variables but are not
# sublayers or weights of the layer (the tracking below skips them).
_UNTRACKED = frozenset({"_weight_records", "_eager_state", "_keras_tensors", "_losses", "grads",
                        "_layers", "_graph", "_plans", "_kept_run", "_weight_penalties",
                        "_output_shapes"})


def _trackables(value):
    """The Layers and Variables in an attribute value: itself, or inside lists, tuples and
    dicts (nested), in order."""
    if isinstance(value, (Layer, Variable)):
        yield value
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from _trackables(item)
    elif isinstance(value, dict):
        for item in value.values():
            yield from _trackables(item)


def _unique(items):
    """`items` without repeats (by identity), first occurrence kept."""
    seen = set()
    return [item for item in items if not (id(item) in seen or seen.add(id(item)))]


def _is_symbolic(inputs):
    if isinstance(inputs, (list, tuple)):
        return any(_is_symbolic(x) for x in inputs)
    return isinstance(inputs, KerasTensor)


def _is_shape_list(shape):
    """Whether `shape` is a list of shapes (a layer called on several inputs)."""
    return isinstance(shape, (list, tuple)) and len(shape) > 0 and all(
        isinstance(dim, (list, tuple)) for dim in shape)


def _snake_case(name):
    """Keras's layer-name prefix: "Conv2D" -> "conv2d", "MaxPooling2D" -> "max_pooling2d"."""
    name = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub(r"([a-z])([A-Z])", r"\1_\2", name).lower()


def standardize_shape(shape, name="shape"):
    """A shape as a tuple of positive ints or None.

    Raises:
        ValueError: if `shape` is not a sequence of positive ints / None.
    """
    if isinstance(shape, (int, np.integer)) and not isinstance(shape, bool):
        shape = (shape,)
    try:
        dims = tuple(shape)
    except TypeError:
        raise ValueError(
            f"Cannot convert '{name}' to a shape: expected a tuple of ints. Received: {name}={shape!r}"
        ) from None
    result = []
    for dim in dims:
        if dim is None:
            result.append(None)
            continue
        if isinstance(dim, bool) or not isinstance(dim, (int, np.integer)) or dim < 0:
            raise ValueError(
                f"Cannot convert '{name}' to a shape: dimensions must be ints >= 0 or None. "
                f"Received: {name}={shape!r}"
            )
        result.append(int(dim))
    return tuple(result)


class KerasTensor:
    """A symbolic tensor: a shape (batch axis None) and the layer that produced it.

    `fastconv.Input(shape)` returns one; calling a layer on one returns another,
    which is how functional models `Model(inputs, outputs)` are described.

    Attributes:
        shape: the full shape, batch axis first.
        dtype: the dtype name.
        layer: the layer whose output this is (an InputLayer for `Input`).
        parent: the KerasTensor the layer was called on (None for `Input`;
            for a merge layer called on a list, the first of them).
        parents: every KerasTensor the layer was called on, in call order
            (`[]` for `Input`).
    """

    def __init__(self, shape, dtype, layer, parent=None):
        self.shape = tuple(shape)
        self.dtype = dtype
        self.layer = layer
        if isinstance(parent, (list, tuple)):
            self.parents = list(parent)
            self.parent = self.parents[0] if self.parents else None
        else:
            self.parents = [] if parent is None else [parent]
            self.parent = parent
        # The layer's symbolic calls, first first: `layer.input` / `layer.output` read them.
        vars(layer).setdefault("_keras_tensors", []).append(self)

    @property
    def ndim(self):
        return len(self.shape)

    def __repr__(self):
        return f"<KerasTensor shape={self.shape}, dtype={self.dtype}, name={self.layer.name}>"


class Layer:
    """Base class of every layer: config, weights, forward and backward on NumPy arrays.

    Subclasses store and check their config in `__init__`, create weights in
    `build(input_shape)` with `add_weight`, compute the forward pass in
    `forward(state, x, training)` (keeping what the backward pass needs on the
    `CallState`, never on the layer), return dL/dx from `grad(state, dy)` while
    storing dL/dweights in `state.grads` (aligned with `trainable_weights`), and
    describe shapes in `compute_output_shape`. A model's executor owns the
    states, so one model can run in several threads at once.

    The eager API wraps those: `call(x, training)` (and `layer(x)`) runs
    `forward` on a state the layer keeps for the next `backward(dy)` /
    `backward_logits(dz)`, which set `layer.grads`.

    A custom layer (Keras 3's way) overrides `call(inputs, training=None,
    mask=None, ...)` only: it is differentiated by the gradient tape
    (`fastconv.autodiff`), and may create weights in `build` with `add_weight`,
    hold sublayers and Variables in attributes (also in lists and dicts: they
    are tracked, as Keras's Tracker does) and `add_loss`. A subclass that
    overrides both `call` and `backward` keeps its state on itself and sets
    `self.grads` (the older hand-written way; not for several threads at once).

    Args:
        name: the layer's name; by default the snake_case class name made
            unique with a counter ("conv2d", "conv2d_1", ...).
        trainable: whether the optimizer updates this layer's weights.
        dtype: the dtype of the weights and of the computation ("float32" by
            default; "float64" computes in double precision).
        input_shape: the shape of one sample (without the batch axis), to
            give the first layer of a `Sequential` model.
        batch_input_shape: the same with a leading batch size (or None).
        input_dim: legacy Keras spelling of `input_shape=(input_dim,)`.
        activity_regularizer: a regularizer of the layer's output (see
            `fastconv.regularizers`); its penalty over the batch size joins `losses`.

    Raises:
        TypeError: for an unknown keyword argument.
    """

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if "build" in cls.__dict__:
            cls.build = _marks_built(cls.__dict__["build"])

    def __init__(self, name=None, trainable=True, dtype=None, input_shape=None,
                 batch_input_shape=None, input_dim=None, batch_size=None,
                 activity_regularizer=None, **kwargs):
        if kwargs:
            raise TypeError(
                f"Unrecognized keyword arguments passed to {type(self).__name__}: {kwargs}"
            )
        if name is None:
            name = backend.unique_name(_snake_case(type(self).__name__))
        elif not isinstance(name, str) or not name or "/" in name:
            raise ValueError(
                "Argument `name` must be a non-empty string without '/'. "
                f"Received: name={name!r}"
            )
        self.name = name
        self._weight_records = []  # (Variable, created trainable, name) in creation order
        self.trainable = bool(trainable)
        self.dtype = self._check_dtype(dtype)
        self.activity_regularizer = regularizers.get(activity_regularizer)
        if input_dim is not None and input_shape is None:
            input_shape = (input_dim,)
        self._batch_input_shape = None
        if batch_input_shape is not None:
            self._batch_input_shape = standardize_shape(batch_input_shape, "batch_input_shape")
        elif input_shape is not None:
            self._batch_input_shape = (batch_size,) + standardize_shape(input_shape, "input_shape")
        self.built = False
        self._build_input_shape = None
        self.grads = []
        self._losses = []  # what `add_loss` received during the last call
        # The state of the last eager call, for `backward` (models keep theirs in their run).
        self._eager_state = None

    @staticmethod
    def _check_dtype(dtype):
        if dtype is None:
            return backend.floatx()
        try:
            resolved = np.dtype(dtype)
        except TypeError:
            resolved = None
        if resolved not in (np.dtype(np.float32), np.dtype(np.float64)):
            raise ValueError(
                "Argument `dtype` must be 'float32' or 'float64' (or None for the default "
                f"{backend.floatx()}). Received: dtype={dtype!r}"
            )
        return resolved.name

    # The value of `training` when a call does not give one: Keras 3 reads it from the
    # default of `call`'s `training` argument (True for the augmentation layers).
    training_default = False

    @property
    def trainable(self):
        """Whether the optimizer updates the layer's weights. Setting it sets the flag of the
        Variables the layer created trainable and of every sublayer, as Keras 3."""
        return self._trainable

    @trainable.setter
    def trainable(self, value):
        self._trainable = bool(value)
        for variable, created_trainable, _ in vars(self).get("_weight_records", ()):
            if created_trainable:
                variable.trainable = self._trainable
        for layer in self._sublayers():
            layer.trainable = self._trainable

    # -------------------------------------------------------------- weights
    def add_weight(self, shape=None, initializer=None, dtype=None, trainable=True, autocast=True,
                   regularizer=None, constraint=None, aggregation="none", name=None,
                   **kwargs):
        """Creates a weight Variable, tracks it, and returns it (Keras 3's signature).

        Args:
            shape: its shape (default `()`).
            initializer: an initializer name, object or callable (default
                "glorot_uniform" for floating dtypes, "zeros" otherwise).
            dtype: defaults to the layer's dtype.
            trainable: whether the optimizer updates it.
            autocast, aggregation: accepted for Keras compatibility (one device, no mixed
                precision: nothing to do).
            regularizer: a regularizer whose penalty of the weight joins `losses`.
            constraint: a constraint applied to the weight after each optimizer step.
            name: the weight's name ("kernel", "bias", ...); its `path` is
                "<layer name>/<name>".

        Returns:
            A `fastconv.Variable`: a C-contiguous ndarray subclass that the layer
            keeps and optimizers update in place.

        Raises:
            TypeError: an unknown keyword argument.
            ValueError: a bad shape, regularizer or constraint.
        """
        unknown = set(kwargs) - {"overwrite_with_gradient", "synchronization", "use_resource"}
        if unknown:
            raise TypeError(f"Unrecognized keyword arguments passed to add_weight: {unknown}")
        del autocast, aggregation
        dtype = np.dtype(dtype or self.dtype)
        shape = standardize_shape(() if shape is None else shape, "shape")
        if initializer is None:
            initializer = "glorot_uniform" if dtype.kind == "f" else "zeros"
        if name is None:
            name = "variable" if not self._weight_records else \
                f"variable_{len(self._weight_records)}"
        check = weight_allocation_check.get()
        if check is not None:
            check(self.name, shape, dtype)
        values = initializers.get(initializer)(shape, dtype=dtype)
        variable = Variable(np.asarray(values, dtype=dtype).reshape(shape), dtype=dtype,
                            trainable=trainable and self.trainable, name=name,
                            path=f"{self.name}/{name}")
        self._weight_records.append((variable, bool(trainable), name))
        weight_penalties.register(self, variable, regularizers.get(regularizer),
                                  constraints.get(constraint))
        return variable

    def add_variable(self, shape, initializer, dtype=None, trainable=True, autocast=True,
                     regularizer=None, constraint=None, name=None):
        """`add_weight` with Keras 3's `add_variable` argument order."""
        return self.add_weight(shape=shape, initializer=initializer, dtype=dtype,
                               trainable=trainable, autocast=autocast, regularizer=regularizer,
                               constraint=constraint, name=name)

    # -------------------------------------------------------------- tracking
    def _tracked(self):
        """The Layers and Variables held in the layer's attributes, in assignment order."""
        for name, value in vars(self).items():
            if name not in _UNTRACKED:
                yield from _trackables(value)

    def _sublayers(self):
        """The layers held in attributes (directly, in lists or dicts), without repeats."""
        return _unique(item for item in self._tracked()
                       if isinstance(item, Layer) and item is not self)

    def _flatten_layers(self):
        """Every sublayer, depth first (sublayers of sublayers included)."""
        layers = []
        for layer in self._sublayers():
            layers.append(layer)
            layers.extend(layer._flatten_layers())
        return _unique(layers)

    def _own_variables(self):
        """The layer's own Variables, Keras's order: the ones created trainable first
        (`add_weight`, then Variables assigned as attributes), then the others."""
        records = [(variable, created) for variable, created, _ in self._weight_records]
        known = {id(variable) for variable, _ in records}
        records += [(item, item.trainable) for item in self._tracked()
                    if isinstance(item, Variable) and id(item) not in known]
        return ([variable for variable, created in records if created]
                + [variable for variable, created in records if not created])

    @property
    def weights(self):
        """Every weight: the layer's own Variables, then its sublayers' (as Keras)."""
        return _unique(self._own_variables()
                       + [w for layer in self._sublayers() for w in layer.weights])

    @property
    def variables(self):
        return self.weights

    @property
    def trainable_weights(self):
        if not self.trainable:
            return []
        return [w for w in self.weights if w.trainable]

    @property
    def non_trainable_weights(self):
        if not self.trainable:
            return self.weights
        return [w for w in self.weights if not w.trainable]

    trainable_variables = trainable_weights
    non_trainable_variables = non_trainable_weights

    def get_weights(self):
        """Copies of the weights (plain arrays), in `weights` order."""
        return [np.array(w) for w in self.weights]

    def set_weights(self, weights):
        """Copies `weights` into the layer's arrays, in place, in `weights` order.

        Raises:
            ValueError: if the number of arrays or any shape differs.
        """
        params = self.weights
        weights = list(weights)
        if len(weights) != len(params):
            raise ValueError(
                f"You called `set_weights(weights)` on layer '{self.name}' with a weight list "
                f"of length {len(weights)}, but the layer was expecting {len(params)} weights."
            )
        values = [np.asarray(value) for value in weights]
        for param, value in zip(params, values):
            if param.shape != value.shape:
                raise ValueError(
                    f"Layer {self.name} weight shape {param.shape} is not compatible with "
                    f"provided weight shape {value.shape}."
                )
        for param, value in zip(params, values):
            param[...] = value

    def count_params(self):
        """The number of scalars in the layer's weights.

        Raises:
            ValueError: if the layer is not built yet.
        """
        if not self.built:
            raise ValueError(
                f"You tried to call `count_params` on layer '{self.name}', but the layer "
                "isn't built. You can build it manually via: "
                f"`layer.build(input_shape)`."
            )
        return int(sum(array.size for array in self.weights))

    # ---------------------------------------------------------------- losses
    def add_loss(self, loss):
        """Adds a loss term (a scalar, or an array that is summed) computed in `call`.

        In `fit` and `evaluate` the added losses join the compiled loss (and their
        gradients the backward pass); `layer.losses` lists those of the last call.
        """
        for value in (loss if isinstance(loss, (list, tuple)) else [loss]):
            custom_call.add_loss_value(value)
            self._losses.append(value)

    def _added_losses(self):
        """The values `add_loss` received during the last call, the sublayers' included."""
        return list(self._losses) + [loss for layer in self._sublayers()
                                     for loss in layer._added_losses()]

    @property
    def losses(self):
        """The layer's losses, as Keras's `layer.losses`: the weight regularizers' penalties
        at the current weights, the activity regularizer's of the last eager call, the
        values `add_loss` received during the last call, then the sublayers' losses."""
        losses = weight_penalties.weight_losses(self)
        if self._eager_state is not None and hasattr(self._eager_state, "activity_loss"):
            losses.append(self._eager_state.activity_loss)
        return (losses + list(self._losses)
                + [loss for layer in self._sublayers() for loss in layer.losses])

    # ------------------------------------------------------------ lifecycle
    def build(self, input_shape):
        """Creates the weights for inputs of `input_shape` (batch axis first)."""

    @classmethod
    def _runs_user_call(cls):
        """Whether this is a custom layer differentiated by the tape: it overrides `call`
        and not `backward`."""
        return cls.call is not Layer.call and cls.backward is Layer.backward

    def forward(self, state, inputs, training):
        """The forward pass on a batch; keeps what the backward pass needs on `state`.

        The default runs a subclass's own `call`: on the gradient tape (see
        `fastconv.layers.custom_call`), or as it is when the subclass also has its own
        `backward` (keeping its state on the layer).
        """
        if self._runs_user_call():
            return custom_call.tape_forward(self, state, inputs, training)
        if type(self).call is Layer.call:
            raise NotImplementedError(f"{type(self).__name__} implements neither `forward` "
                                      "nor `call`.")
        return self.call(inputs, training=training)

    def grad(self, state, dy):
        """dL/dinputs of the call that filled `state`, given dL/doutputs; sets `state.grads`.

        Returns None when `state.needs_input_grad` is False (only the weight gradients
        are wanted). The default asks the tape that recorded a custom `call`, or runs a
        subclass's own `backward`.
        """
        if self._runs_user_call():
            return custom_call.tape_grad(self, state, dy, self.trainable_weights)
        if type(self).backward is Layer.backward:
            raise NotImplementedError(f"{type(self).__name__} implements neither `grad` "
                                      "nor `backward`.")
        self.compute_input_gradient = state.needs_input_grad
        dx = self.backward(dy)
        state.grads = list(self.grads)
        return dx

    def grad_logits(self, state, dz):
        """Like `grad`, but `dz` is the gradient before the layer's final activation.

        The executor uses it to skip a softmax (or sigmoid) whose gradient the
        loss has fused with the crossentropy's, or a ReLU fused into the next
        layer's backward pass (`grad_through_relu`).
        """
        if type(self).backward_logits is not Layer.backward_logits:  # a subclass's own
            self.compute_input_gradient = state.needs_input_grad
            dx = self.backward_logits(dz)
            state.grads = list(self.grads)
            return dx
        raise NotImplementedError(f"{type(self).__name__} has no fused output activation.")

    def grad_through_relu(self, state, dy, logits=False):
        """dL/d(pre-activation) of the layer below when that layer ends in a ReLU whose output
        is this layer's input; None when this layer has no such fused pass (the default).

        `dy` is the gradient of this layer's output, or with `logits` the gradient before its
        final activation (as `grad_logits` takes). The executor then skips the ReLU's own
        gradient pass: it calls this and hands the result to the lower layer's `grad_logits`.
        """
        return None

    @property
    def has_fused_output_activation(self):
        """Whether `grad_logits` skips the layer's final activation."""
        return (type(self).grad_logits is not Layer.grad_logits
                or type(self).backward_logits is not Layer.backward_logits)

    def call(self, inputs, training=None):
        """The forward pass on a batch, eagerly; keeps the state `backward` needs.

        `training=None` means the enclosing call's `training`, else the layer's
        `training_default`, as for `layer(x)`. Under a recording `GradientTape` (inside a
        custom layer's `call`, or the user's own) the call is one node on the tape whose
        gradient is the layer's hand-written backward pass.
        """
        training = self.resolve_training(training)
        tape = custom_call.records_on(self, inputs)
        if tape is not None:
            return custom_call.record_builtin_call(
                self, tape, inputs, training, bool(getattr(self, "multiple_inputs", False)))
        inputs = [plain(x) for x in inputs] if isinstance(inputs, list) else plain(inputs)
        state = CallState()
        outputs = self.forward(state, inputs, training)
        weight_penalties.record_activity(self, state, outputs)
        self._eager_state = state
        return outputs

    def _last_eager_state(self, method):
        if self._eager_state is None:
            raise ValueError(f"Layer '{self.name}': `{method}` needs a call first "
                             "(`layer(x)` or `layer.call(x)`).")
        return self._eager_state

    def backward(self, dy):
        """dL/dinputs of the last eager call, given dL/doutputs; sets `self.grads`."""
        if self._runs_user_call():
            raise NotImplementedError(
                f"Layer '{self.name}' has a custom `call`: take its gradients with "
                "fastconv.autodiff.GradientTape (or train it inside a model).")
        state = self._last_eager_state("backward")
        dx = self.grad(state, weight_penalties.activity_gradient(self, state, dy))
        self.grads = state.grads
        return dx

    def backward_logits(self, dz):
        """`backward` of the last eager call, given the gradient before the final activation."""
        state = self._last_eager_state("backward_logits")
        dx = self.grad_logits(state, weight_penalties.activity_gradient_before_activation(
            self, state, dz))
        self.grads = state.grads
        return dx

    def _nhwc_buffer(self, state, key, shape, dtype):
        """`state.buffer` for a result the ops write in NHWC: None with channels_first data,
        whose results the ops transpose into new arrays."""
        if getattr(self, "data_format", "channels_last") != "channels_last":
            return None
        return state.buffer(key, shape, dtype)

    def _grad_through_activation(self, state, dy):
        """`grad` of a layer whose output is `self.activation` of what `grad_logits` takes."""
        return self.grad_logits(state, self._activation_gradient(state, dy))

    def _activation_gradient(self, state, dy):
        """The gradient before `self.activation` given `dy` after it: ReLU's into a reusable
        buffer, others through NumPy."""
        if self.activation is activations.relu:
            return ops.relu_backward(dy, state.outputs, out=state.buffer(
                "dz", dy.shape, result_dtype(dy, state.outputs)))
        return activations.backward(self.activation, dy, state.outputs)

    def compute_output_shape(self, input_shape):
        """The output shape for `input_shape` (batch axis first, may be None).

        The default is `input_shape`; for a custom layer it is the shape its `call`
        returns on a small zero batch (Keras 3 traces `call` symbolically instead).
        """
        if self._runs_user_call():
            return self._output_shape_by_calling(input_shape)
        return tuple(input_shape)

    def _output_shape_by_calling(self, input_shape, dtypes=None):
        """The output shape of `call` on a zero batch of 2 samples of `input_shape`, run
        in inference mode with nothing recorded (cached per input shape)."""
        multiple = _is_shape_list(input_shape)
        shapes = [tuple(s) for s in input_shape] if multiple else [tuple(input_shape)]
        key = tuple(s[1:] for s in shapes)
        cache = vars(self).setdefault("_output_shapes", {})
        if key not in cache:
            if any(d is None for s in shapes for d in s[1:]):
                raise ValueError(
                    f"Layer '{self.name}' has a custom `call` and no `compute_output_shape`, "
                    "so fastconv runs `call` on a zero batch to learn its output shape; that "
                    "needs every dimension but the batch to be known. Define "
                    f"`compute_output_shape`. Received: input_shape={input_shape}")
            dtypes = dtypes or [self.dtype] * len(shapes)
            dummies = [np.zeros((2,) + s[1:], dtype) for s, dtype in zip(shapes, dtypes)]
            with stop_recording(), custom_call.collect_losses():
                outputs = self._call_in_graph(dummies if multiple else dummies[0], False)
            if isinstance(outputs, (list, tuple, dict)):
                raise ValueError(
                    f"Layer '{self.name}' returns a {type(outputs).__name__} from `call`; in a "
                    "functional model a custom layer must return one array.")
            cache[key] = tuple(np.shape(outputs)[1:])
        return (shapes[0][0],) + cache[key]

    def check_input_shape(self, input_shape):
        """Raises ValueError if inputs of `input_shape` are not valid for this layer."""

    def build_for(self, input_shape):
        """Checks `input_shape`, builds the layer once, and returns the output shape."""
        multiple = _is_shape_list(input_shape)
        input_shape = [tuple(s) for s in input_shape] if multiple else tuple(input_shape)
        self.check_input_shape(input_shape)
        self._build_once(input_shape)
        return self.compute_output_shape(input_shape)

    def _build_once(self, input_shape):
        """Calls `build(input_shape)` the first time (a list of shapes for several inputs)."""
        if self.built:
            return
        self.build(input_shape)
        self.built = True
        if _is_shape_list(input_shape):
            self._build_input_shape = [(None,) + tuple(s[1:]) for s in input_shape]
        else:
            self._build_input_shape = (None,) + tuple(input_shape[1:])

    def cast_input(self, inputs):
        """`inputs` as an array of the layer's dtype (no copy if it already is). A value the
        gradient tape follows stays one (the cast is recorded)."""
        array = inputs if isinstance(inputs, TapeArray) else np.asarray(inputs)
        if array.dtype.kind not in "fiub":
            raise TypeError(
                f"Layer '{self.name}' expects numeric inputs. Received: inputs with "
                f"dtype={array.dtype}"
            )
        if array.dtype == self.dtype:
            return array
        return array.astype(self.dtype)

    def __call__(self, *args, **kwargs):
        """Runs the layer eagerly on arrays, or symbolically on KerasTensors.

        Args:
            inputs: an array-like batch, or a KerasTensor (functional API); a custom
                layer also takes lists and dicts of them.
            training: whether to run in training mode (Dropout is active); None
                means the enclosing layer call's value, else the layer's default
                (as Keras 3: False, but True for the augmentation layers, so
                `RandomFlip()(images)` flips).
            *args, **kwargs: further arguments of a custom layer's `call` (`mask`, ...).

        Returns:
            An ndarray (or what a custom `call` returns), or a KerasTensor for
            KerasTensor inputs.
        """
        if not args:
            if "inputs" not in kwargs:
                raise TypeError(f"Layer '{self.name}' was called without inputs.")
            args = (kwargs.pop("inputs"),)
        inputs, args = args[0], args[1:]
        if _is_symbolic(inputs):
            return self._call_on_keras_tensors(inputs, args, kwargs)
        if self._runs_user_call():
            inputs = self._convert_inputs(inputs)
            self._build_once(_shapes_of(inputs))
            training = kwargs.pop("training", None)
            return self._run_call(inputs, training, *args, **kwargs)
        training = kwargs.pop("training", None)
        if len(args) == 1 and training is None:  # layer(x, True)
            (training,), args = args, ()
        if args or kwargs:
            raise TypeError(f"Unrecognized arguments in the call to layer '{self.name}': "
                            f"{kwargs or args}")
        array = self.cast_input(inputs)
        self.build_for(array.shape)
        return self.call(array, training=self.resolve_training(training))

    def _call_on_keras_tensors(self, inputs, args, kwargs):
        """The KerasTensor of this layer applied to KerasTensor `inputs` (functional API)."""
        training = kwargs.pop("training", None)
        if args and self._runs_user_call() and all(isinstance(x, KerasTensor) for x in args):
            # `layer(a, b)`: a custom call of several tensors, given back positionally.
            inputs, args = [inputs, *args], ()
            self._spread_inputs = True
        if args or kwargs:
            raise ValueError(
                f"Layer '{self.name}' was called on KerasTensors with further arguments "
                f"{kwargs or args}; a functional model passes a layer its inputs only "
                "(write a custom layer or a subclassed model for more).")
        multiple = isinstance(inputs, (list, tuple))
        if multiple:
            if not self._runs_user_call():
                raise ValueError(f"Layer '{self.name}' takes one input; it was called on a "
                                 f"list of {len(inputs)} KerasTensors.")
            if not all(isinstance(x, KerasTensor) for x in inputs):
                raise ValueError(f"Layer '{self.name}' was called on a mix of KerasTensors "
                                 "and arrays.")
            self.multiple_inputs = True  # the executor hands `call` the list
        tensors = list(inputs) if multiple else [inputs]
        shapes = [t.shape for t in tensors]
        input_shape = shapes if multiple else shapes[0]
        if self._runs_user_call() and type(self).compute_output_shape is Layer.compute_output_shape:
            self.check_input_shape(input_shape)
            self._build_once(input_shape)
            output_shape = self._output_shape_by_calling(input_shape, [t.dtype for t in tensors])
        else:
            output_shape = self.build_for(input_shape)
        tensor = KerasTensor(output_shape, self.dtype, self, parent=list(inputs) if multiple
                             else inputs)
        # As Keras: `training` given at a symbolic call holds for that call in the model.
        tensor.call_training = None if training is None else bool(training)
        return tensor

    def _convert_inputs(self, inputs):
        """A custom call's inputs: arrays (lists and dicts kept), floating ones in the layer's
        dtype (Keras 3 autocasts them); values the tape follows stay traced."""
        if isinstance(inputs, (list, tuple)):
            return type(inputs)(self._convert_inputs(x) for x in inputs)
        if isinstance(inputs, dict):
            return {key: self._convert_inputs(x) for key, x in inputs.items()}
        array = inputs if isinstance(inputs, TapeArray) else np.asarray(inputs)
        if array.dtype.kind == "f" and array.dtype != self.dtype:
            return array.astype(self.dtype)
        return array

    def _call_in_graph(self, inputs, training):
        """`call` on the inputs a model's graph holds for this layer: a list of them given
        positionally when the layer was called as `layer(a, b)`."""
        if vars(self).get("_spread_inputs"):
            return self._run_call(inputs[0], training, *inputs[1:])
        return self._run_call(inputs, training)

    def _run_call(self, inputs, training, *args, **kwargs):
        """Runs the user-written `call`: `training` resolved as Keras 3 (explicit, else the
        enclosing call's, else `call`'s own default) and passed if `call` takes it, `mask`
        only if it does; the layers it calls see `training`; `losses` restart."""
        signature = custom_call.call_signature(self)
        position = signature.training_position
        given_positionally = position is not None and len(args) > position
        if given_positionally:
            training = args[position]
        if training is None:
            training = custom_call.call_training()
        if training is None:
            training = signature.training_default
        if given_positionally:
            args = args[:position] + (training,) + args[position + 1:]
        elif signature.takes_training:
            kwargs["training"] = training
        if "mask" in kwargs and not (signature.takes_mask or signature.takes_any_keyword):
            kwargs.pop("mask")  # Keras passes a mask only to a `call` that takes one
        self._losses = []
        with custom_call.training_scope(training):
            return self.call(inputs, *args, **kwargs)

    def resolve_training(self, training):
        """`training` as a bool: None means the enclosing layer call's value, else the
        layer's default."""
        if training is None:
            training = custom_call.call_training()
        return self.training_default if training is None else bool(training)

    # --------------------------------------------------------------- shapes
    @property
    def input_shape(self):
        """The input shape the layer was built for (batch axis None)."""
        if self._build_input_shape is None:
            if self._batch_input_shape is not None:
                return self._batch_input_shape
            raise AttributeError(
                f"The layer '{self.name}' has never been called and thus has no defined input shape."
            )
        return self._build_input_shape

    @property
    def output_shape(self):
        """The output shape for `input_shape` (batch axis None)."""
        try:
            input_shape = self.input_shape
        except AttributeError:
            raise AttributeError(
                f"The layer '{self.name}' has never been called and thus has no defined output shape."
            ) from None
        return self.compute_output_shape(input_shape)

    def _first_call(self, attribute):
        tensors = vars(self).get("_keras_tensors")
        if not tensors:
            raise AttributeError(f"The layer '{self.name}' has never been called and thus has "
                                 f"no defined {attribute}.")
        return tensors[0]

    @property
    def input(self):
        """The KerasTensor(s) of the layer's first symbolic call (functional API)."""
        tensor = self._first_call("input")
        if not tensor.parents:  # an Input's tensor is its own input
            return tensor
        return tensor.parents if getattr(self, "multiple_inputs", False) else tensor.parent

    @property
    def output(self):
        """The KerasTensor of the layer's first symbolic call (functional API)."""
        return self._first_call("output")

    def _incompatible(self, expectation, input_shape):
        return ValueError(
            f'Input 0 of layer "{self.name}" is incompatible with the layer: {expectation}. '
            f"Full shape received: {tuple(input_shape)}"
        )

    # --------------------------------------------------------------- config
    def get_config(self):
        """The layer's constructor arguments, with Keras's keys."""
        config = {"name": self.name, "trainable": self.trainable, "dtype": self.dtype}
        if self._batch_input_shape is not None:
            config["batch_input_shape"] = self._batch_input_shape
        if self.activity_regularizer is not None:
            config["activity_regularizer"] = regularizers.serialize(self.activity_regularizer)
        return config

    @classmethod
    def from_config(cls, config):
        """Creates a layer from `get_config()`'s output."""
        return cls(**config)

    def __repr__(self):
        return f"<{type(self).__name__} name={self.name}, built={self.built}>"


def _marks_built(build):
    """`build` that also sets `built` (as Keras's wrapper): a layer built by hand with
    `layer.build(shape)` is not built again, with new weights, at its first call."""
    @functools.wraps(build)
    def wrapper(self, input_shape, *args, **kwargs):
        result = build(self, input_shape, *args, **kwargs)
        if not self.built:
            self.built = True
            if self._build_input_shape is None and input_shape is not None:
                shapes = input_shape if _is_shape_list(input_shape) else [input_shape]
                shapes = [(None,) + tuple(s[1:]) for s in shapes]
                self._build_input_shape = shapes if _is_shape_list(input_shape) else shapes[0]
        return result
    return wrapper


def _shapes_of(inputs):
    """The shape of an array, or the list of shapes of a list/tuple/dict of arrays."""
    if isinstance(inputs, dict):
        return [np.shape(x) for x in inputs.values()]
    if isinstance(inputs, (list, tuple)):
        return [np.shape(x) for x in inputs]
    return np.shape(inputs)


def prod_or_none(dims):
    """The product of `dims`, or None if any is None."""
    return None if any(d is None for d in dims) else math.prod(dims)
