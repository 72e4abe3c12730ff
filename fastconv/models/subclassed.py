"""Subclassed models: a `Model` subclass with `__init__` (layers as attributes) and `call`.

As in Keras 3, such a model always runs its own `call`: eagerly when called on arrays
(under a user's `GradientTape` every op records), and in `fit` / `evaluate` / `predict` as
ONE executor step (`CallStep`) whose forward pass records `call` on a gradient tape and whose
backward pass asks that tape for the weight gradients. Its layers and weights are the ones
its attributes hold (Keras's tracking). Building runs `call` once on a zero batch (with
nothing recorded) to create the weights and learn the output shape.
"""

from fastconv.layers import custom_call
from fastconv.layers.base import Layer

__all__ = ["CallStep", "build", "check_class", "is_container"]

# Keras 3 methods whose override changes what `fit`/`evaluate`/`predict` compute; fastconv's
# loops do not call them, so overriding one would be silently ignored (`compute_loss` they
# do call: trainers/custom_loss.py).
_LOOP_METHODS = ("train_step", "test_step", "predict_step", "compute_metrics",
                 "make_train_function", "make_test_function", "make_predict_function")


def is_container(model):
    """Whether `model` is a Functional or Sequential model (its layers form its graph)."""
    from fastconv.models.functional import Functional
    from fastconv.models.sequential import Sequential
    return isinstance(model, (Functional, Sequential))


def check_class(model, inputs, outputs):
    """Refuses what a subclass could expect and fastconv would silently ignore.

    Raises:
        NotImplementedError: a Keras training-loop method is overridden, or `inputs` /
            `outputs` were passed besides a `call`.
    """
    if inputs is not None or outputs is not None:
        raise NotImplementedError(
            f"{type(model).__name__} defines `call` and passes `inputs`/`outputs` to "
            "`Model.__init__`; a subclassed model is its `call` (drop the arguments).")
    overridden = [name for name in _LOOP_METHODS if hasattr(type(model), name)]
    if overridden:
        raise NotImplementedError(
            f"Model subclass {type(model).__name__} overrides {overridden}. fastconv's "
            "fit/evaluate/predict run their own steps (Keras 3's custom `train_step` is "
            "backend-specific: it needs tf.GradientTape or jax.value_and_grad). Write the "
            "training loop yourself with fastconv.autodiff.GradientTape and "
            "`optimizer.apply(grads, model.trainable_weights)`, or drop the override.")


class CallStep(Layer):
    """The one step of a subclassed model's plan: the model's whole `call`, on the tape.

    It stands for the model in the executor (which asks a step for `forward`, `grad`,
    `trainable_weights`), so that the model itself keeps `forward`/`grad` for when it is a
    step of another model.
    """

    def __init__(self, model):  # no Layer.__init__: everything comes from the model
        self.model = model

    @classmethod
    def _runs_user_call(cls):
        return True

    def _tracked(self):  # the model is not a sublayer of its own step
        return iter(())

    @property
    def name(self):
        return self.model.name

    @property
    def trainable(self):
        return self.model.trainable

    @property
    def trainable_weights(self):
        return self.model.trainable_weights

    @property
    def non_trainable_weights(self):
        return self.model.non_trainable_weights

    @property
    def weights(self):
        return self.model.weights

    training_default = False

    def forward(self, state, inputs, training):
        return custom_call.tape_forward(self.model, state, inputs, training)

    def grad(self, state, dy):
        return custom_call.tape_grad(self.model, state, dy, self.model.trainable_weights)

    def compute_output_shape(self, input_shape):
        return self.model.compute_output_shape(input_shape)


def build(model, input_shape):
    """Builds a subclassed model for inputs of `input_shape`: its `call` on a zero batch
    creates the sublayers' weights and gives the output shape; the plan gets its step."""
    input_shape = tuple(input_shape)
    output_shape = model._output_shape_by_calling(input_shape, [model._input_dtype()])
    model._input_shape = (None,) + input_shape[1:]
    model._output_shape = (None,) + tuple(output_shape[1:])
    model._set_graph([(CallStep(model), (0,))])
    model.built = True
    if model._build_input_shape is None:
        model._build_input_shape = model._input_shape

