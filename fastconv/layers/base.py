"""The Layer base class (Keras 3 lifecycle on NumPy weights) and the symbolic KerasTensor."""

import contextvars
import math
import re

import numpy as np

from fastconv import activations, backend, constraints, initializers, ops, regularizers
from fastconv.layers import weight_penalties
from fastconv.layers.call_state import CallState
from fastconv.ops._args import output_size, result_dtype  # noqa: F401 - the layers' one rule

__all__ = ["Layer", "KerasTensor"]

# While fastconv.saving rebuilds a model from a file, a callable `charge(layer_name, shape, dtype)`
# that refuses weights the file cannot hold, before they are allocated (None otherwise).
weight_allocation_check = contextvars.ContextVar("weight_allocation_check", default=None)


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
    `backward_logits(dz)`, which set `layer.grads`. A subclass may instead
    override `call` and `backward` (keeping state on itself, setting
    `self.grads`): it works in models, but not from several threads at once.

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
        self._weight_records = []  # (array, trainable) in creation order
        self._build_input_shape = None
        self.grads = []
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

    # -------------------------------------------------------------- weights
    def add_weight(self, name=None, shape=None, initializer="glorot_uniform", trainable=True,
                   dtype=None, regularizer=None, constraint=None):
        """Creates a weight array, registers it, and returns it.

        Args:
            name: the weight's name ("kernel", "bias", ...).
            shape: its shape.
            initializer: an initializer name, object or callable.
            trainable: whether the optimizer updates it.
            dtype: defaults to the layer's dtype.
            regularizer: a regularizer whose penalty of the weight joins `losses`.
            constraint: a constraint applied to the weight after each optimizer step.

        Returns:
            A C-contiguous ndarray that the layer keeps (and optimizers update
            in place).
        """
        dtype = np.dtype(dtype or self.dtype)
        shape = standardize_shape(shape, "shape")
        check = weight_allocation_check.get()
        if check is not None:
            check(self.name, shape, dtype)
        values = initializers.get(initializer)(shape, dtype=dtype)
        array = np.ascontiguousarray(np.asarray(values, dtype=dtype).reshape(shape))
        if not array.flags.writeable or not array.flags.owndata:
            array = array.copy()
        self._weight_records.append((array, bool(trainable), name))
        weight_penalties.register(self, array, regularizers.get(regularizer),
                                 constraints.get(constraint))
        return array

    @property
    def losses(self):
        """The regularization penalties (floats): the weight regularizers' at the current
        weights, then the activity regularizer's of the last eager call."""
        losses = weight_penalties.weight_losses(self)
        if self._eager_state is not None and hasattr(self._eager_state, "activity_loss"):
            losses.append(self._eager_state.activity_loss)
        return losses

    @property
    def weights(self):
        """Every weight: trainable ones first, then non-trainable (as Keras)."""
        return self.trainable_weights + self.non_trainable_weights

    @property
    def trainable_weights(self):
        if not self.trainable:
            return []
        return [array for array, trainable, _ in self._weight_records if trainable]

    @property
    def non_trainable_weights(self):
        if not self.trainable:
            return [array for array, _, _ in self._weight_records]
        return [array for array, trainable, _ in self._weight_records if not trainable]

    def get_weights(self):
        """Copies of the weights, in `weights` order."""
        return [array.copy() for array in self.weights]

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

    # ------------------------------------------------------------ lifecycle
    def build(self, input_shape):
        """Creates the weights for inputs of `input_shape` (batch axis first)."""

    def forward(self, state, inputs, training):
        """The forward pass on a batch; keeps what the backward pass needs on `state`.

        The default runs a subclass's own `call` (which keeps its state on the layer).
        """
        if type(self).call is Layer.call:
            raise NotImplementedError(f"{type(self).__name__} implements neither `forward` "
                                      "nor `call`.")
        return self.call(inputs, training=training)

    def grad(self, state, dy):
        """dL/dinputs of the call that filled `state`, given dL/doutputs; sets `state.grads`.

        Returns None when `state.needs_input_grad` is False (only the weight gradients
        are wanted). The default runs a subclass's own `backward`.
        """
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

    def grad_through_relu(self, state, dy):
        """dL/d(pre-activation) of the layer below when that layer ends in a ReLU whose output
        is this layer's input; None when this layer has no such fused pass (the default).

        The executor then skips the ReLU's own gradient pass: it calls this and hands the
        result to the lower layer's `grad_logits`.
        """
        return None

    @property
    def has_fused_output_activation(self):
        """Whether `grad_logits` skips the layer's final activation."""
        return (type(self).grad_logits is not Layer.grad_logits
                or type(self).backward_logits is not Layer.backward_logits)

    def call(self, inputs, training=None):
        """The forward pass on a batch, eagerly; keeps the state `backward` needs.

        `training=None` means the layer's `training_default`, as for `layer(x)`.
        """
        state = CallState()
        outputs = self.forward(state, inputs, self.resolve_training(training))
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
        """`grad` of a layer whose output is `self.activation` of what `grad_logits`
        takes: ReLU's gradient goes into a reusable buffer, others through NumPy."""
        if self.activation is activations.relu:
            dz = ops.relu_backward(dy, state.outputs, out=state.buffer(
                "dz", dy.shape, result_dtype(dy, state.outputs)))
        else:
            dz = activations.backward(self.activation, dy, state.outputs)
        return self.grad_logits(state, dz)

    def compute_output_shape(self, input_shape):
        """The output shape for `input_shape` (batch axis first, may be None)."""
        return tuple(input_shape)

    def check_input_shape(self, input_shape):
        """Raises ValueError if inputs of `input_shape` are not valid for this layer."""

    def build_for(self, input_shape):
        """Checks `input_shape`, builds the layer once, and returns the output shape."""
        input_shape = tuple(input_shape)
        self.check_input_shape(input_shape)
        if not self.built:
            self.build(input_shape)
            self.built = True
            self._build_input_shape = (None,) + input_shape[1:]
        return self.compute_output_shape(input_shape)

    def cast_input(self, inputs):
        """`inputs` as an ndarray of the layer's dtype (no copy if it already is)."""
        array = np.asarray(inputs)
        if array.dtype.kind not in "fiub":
            raise TypeError(
                f"Layer '{self.name}' expects numeric inputs. Received: inputs with "
                f"dtype={array.dtype}"
            )
        return np.asarray(array, dtype=self.dtype)

    def __call__(self, inputs, training=None, **kwargs):
        """Runs the layer eagerly on an array, or symbolically on a KerasTensor.

        Args:
            inputs: an array-like batch, or a KerasTensor (functional API).
            training: whether to run in training mode (Dropout is active); None
                means the layer's `training_default` (as Keras 3: False, but True
                for the augmentation layers, so `RandomFlip()(images)` flips).

        Returns:
            An ndarray, or a KerasTensor for a KerasTensor input.
        """
        if kwargs:
            raise TypeError(f"Unrecognized arguments in the call to layer '{self.name}': {kwargs}")
        if isinstance(inputs, KerasTensor):
            output_shape = self.build_for(inputs.shape)
            tensor = KerasTensor(output_shape, self.dtype, self, parent=inputs)
            # As Keras: `training` given at a symbolic call holds for that call in the model.
            tensor.call_training = None if training is None else bool(training)
            return tensor
        inputs = self.cast_input(inputs)
        self.build_for(inputs.shape)
        return self.call(inputs, training=self.resolve_training(training))

    def resolve_training(self, training):
        """`training` as a bool, None meaning the layer's default."""
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


def prod_or_none(dims):
    """The product of `dims`, or None if any is None."""
    return None if any(d is None for d in dims) else math.prod(dims)
