"""A subclassed model's own `compute_loss(x, y, y_pred, sample_weight)`: Keras 3's hook for a
loss that needs more than targets and predictions (knowledge distillation calls the teacher
on `x` in it), used by `fit` and `evaluate` in place of the compiled loss.

The model's forward pass runs in the executor as always; the gradient tape then records
`compute_loss` on the watched prediction only, and its gradient with respect to `y_pred`
starts the executor's backward pass. As in Keras, the compiled loss and `model.losses` count
only if the override adds them; fastconv refuses the cases it cannot honour instead of
training on a different loss.
"""

import numpy as np

from fastconv.autodiff import GradientTape, stop_recording
from fastconv.layers import weight_penalties

__all__ = ["overridden", "train_step", "test_step"]


_trainer_compute_loss = None  # Trainer.compute_loss (trainer.py imports this module)


def overridden(model):
    """Whether `model`'s class overrides the Trainer's `compute_loss`."""
    global _trainer_compute_loss
    if _trainer_compute_loss is None:
        from fastconv.trainers.trainer import Trainer
        _trainer_compute_loss = Trainer.compute_loss
    return type(model).compute_loss is not _trainer_compute_loss


def _check(model, run, y_pred, added, strategy=None):
    if strategy is not None:
        raise NotImplementedError(
            f"{type(model).__name__} overrides compute_loss; fastconv's data-parallel fit "
            "does not run the override yet. Train it in one process.")
    if isinstance(y_pred, (list, tuple, dict)):
        raise NotImplementedError(
            f"{type(model).__name__}.compute_loss: fastconv supports the override on "
            "single-output models only.")
    if added or weight_penalties.model_penalty(run.plan.penalized_layers, run.activity_states):
        raise NotImplementedError(
            f"{type(model).__name__} overrides compute_loss and its layers add losses "
            "(`add_loss` or weight regularizers); fastconv cannot yet pass them to the "
            "override as Keras's `super().compute_loss` would. Drop one of the two.")
    if run.plan.fused_output:
        raise NotImplementedError(
            f"{type(model).__name__} overrides compute_loss while its compiled loss is fused "
            "into the output activation; compile it without `loss=`.")


def train_step(model, run, tracker, x, y, y_pred, sample_weight, added, strategy=None):
    """One training step after the forward pass: the override's loss and its gradient with
    respect to `y_pred` (by the tape), the executor's backward pass, the optimizer step."""
    _check(model, run, y_pred, added, strategy)
    with GradientTape() as tape:
        traced = tape.watch(np.asarray(y_pred))
        value = model.compute_loss(x=x, y=y, y_pred=traced, sample_weight=sample_weight)
    if run.plan.trainable_steps:
        grad = tape.gradient(value, traced, unconnected_gradients="zero")
        run.backward(np.asarray(grad, dtype=np.asarray(y_pred).dtype))
        model.optimizer.apply_gradients(run.grads_and_vars())
        weight_penalties.apply_constraints(run.plan.penalized_layers)
    tracker.update(float(np.asarray(value)), y, y_pred, sample_weight)


def test_step(model, run, tracker, x, y, y_pred, sample_weight, added):
    """One evaluation step: the override's loss (nothing recorded) and the metrics."""
    _check(model, run, y_pred, added)
    with stop_recording():
        value = model.compute_loss(x=x, y=y, y_pred=y_pred, sample_weight=sample_weight)
    tracker.update(float(np.asarray(value)), y, y_pred, sample_weight)
