"""What `compile()` gives a model, as Keras 3's `trainers/compile_utils.py`: the loss with its
weight, and the trackers of the loss and metrics over a loop."""

import copy
import threading

import numpy as np

from fastconv import losses, metrics as metrics_module, optimizers

__all__ = ["CompiledLoss", "MetricsTracker", "resolve_compile_arguments"]


def _as_list(value):
    if value is None:
        return []
    if isinstance(value, dict):
        value = list(value.values())
    return list(value) if isinstance(value, (list, tuple)) else [value]


def resolve_compile_arguments(optimizer, loss, loss_weights, metrics, weighted_metrics):
    """`compile()`'s arguments as objects: (optimizer, CompiledLoss, metrics, weighted).

    Everything is resolved before the model changes, so a compile that fails on a bad
    argument leaves the model (and its optimizer state) as it was.

    Raises:
        ValueError: for unknown identifiers or more than one loss weight.
    """
    new_optimizer = optimizers.get(optimizer)
    new_loss = losses.get(loss)
    if isinstance(loss_weights, dict):
        loss_weights = list(loss_weights.values())
    if isinstance(loss_weights, (list, tuple)):
        if len(loss_weights) != 1:
            raise ValueError("fastconv models have one output: `loss_weights` must hold one "
                             f"value. Received: loss_weights={loss_weights}")
        loss_weights = loss_weights[0]
    weight = 1.0 if loss_weights is None else float(loss_weights)
    new_metrics = [metrics_module.get(m, loss=new_loss) for m in _as_list(metrics)]
    new_weighted = [metrics_module.get(m, loss=new_loss) for m in _as_list(weighted_metrics)]
    return new_optimizer, CompiledLoss(new_loss, weight), new_metrics, new_weighted


class CompiledLoss:
    """The compiled loss scaled by its `loss_weights` value.

    Args:
        loss: a `fastconv.losses.Loss` (or None when compiled without one: the model
            then trains on the losses its layers add with `add_loss`).
        weight: the float the loss (and so its gradient) is multiplied by.
    """

    def __init__(self, loss, weight=1.0):
        self.loss = loss
        self.weight = weight

    def __call__(self, y_true, y_pred, sample_weight):
        if self.loss is None:  # only the layers' `add_loss` losses count
            return 0.0
        value = self.loss(y_true, y_pred, sample_weight=sample_weight)
        return value if self.weight == 1.0 else value * self.weight

    def output_gradient(self, y_true, y_pred, sample_weight, fused):
        """dL/d(y_pred), or dL/d(logits) of the output layer when `fused`."""
        if self.loss is None:
            return np.zeros(np.shape(y_pred), np.asarray(y_pred).dtype)
        if fused:
            grad = self.loss.logits_gradient(y_true, y_pred, sample_weight=sample_weight)
        else:
            grad = self.loss.gradient(y_true, y_pred, sample_weight=sample_weight)
        return grad if self.weight == 1.0 else grad * grad.dtype.type(self.weight)


_publish_lock = threading.Lock()


class MetricsTracker:
    """The running loss and metrics of a loop (an epoch, an evaluation, a batch).

    The model keeps one made of the compiled metric objects (what `model.metrics` lists);
    `evaluate` works on a `detached()` copy, so evaluations in several threads do not add
    into each other, and `publish`es its final state into the model's at the end.

    Args:
        loss_tracker: the `Mean` named "loss".
        metrics: the compiled metrics (updated without sample weights, as Keras).
        weighted_metrics: the compiled weighted metrics.
    """

    def __init__(self, loss_tracker, metrics, weighted_metrics):
        self.loss_tracker = loss_tracker
        self.metrics = list(metrics)
        self.weighted_metrics = list(weighted_metrics)

    @property
    def all(self):
        """The loss tracker, then the metrics, then the weighted metrics."""
        return [self.loss_tracker] + self.metrics + self.weighted_metrics

    def detached(self):
        """A reset copy whose updates do not touch these metric objects."""
        with _publish_lock:  # not while another thread publishes into these objects
            tracker = MetricsTracker(*copy.deepcopy(
                (self.loss_tracker, self.metrics, self.weighted_metrics)))
        tracker.reset()
        return tracker

    def reset(self):
        for metric in self.all:
            metric.reset_state()

    def update(self, loss_value, y_true, y_pred, sample_weight):
        self.loss_tracker.update_state(loss_value, sample_weight=len(y_pred))
        for metric in self.metrics:
            metric.update_state(y_true, y_pred)
        for metric in self.weighted_metrics:
            metric.update_state(y_true, y_pred, sample_weight=sample_weight)

    def logs(self):
        """`{"loss": ..., metric name: ...}` of the running results."""
        return {metric.name: float(metric.result()) for metric in self.all}

    def publish(self, target):
        """Copies this tracker's state into `target`'s metric objects."""
        with _publish_lock:
            for source, metric in zip(self.all, target.all):
                vars(metric).update(copy.deepcopy(vars(source)))
