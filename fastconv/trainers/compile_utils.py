"""What `compile()` gives a model, as Keras 3's `trainers/compile_utils.py`: the loss with its
weight (one per output for a model with several), and the trackers of the loss and metrics
over a loop."""

import copy
import threading

import numpy as np

from fastconv import losses, metrics as metrics_module, optimizers

__all__ = ["CompiledLoss", "MultiOutputLoss", "MetricsTracker", "resolve_compile_arguments"]


def _as_list(value):
    if value is None:
        return []
    if isinstance(value, dict):
        value = list(value.values())
    return list(value) if isinstance(value, (list, tuple)) else [value]


def _unwrap_single(value):
    """A one-element list or dict (a single-output model's per-output form) as its element."""
    if isinstance(value, dict) and len(value) == 1:
        return next(iter(value.values()))
    if isinstance(value, (list, tuple)) and len(value) == 1:
        return value[0]
    return value


def resolve_compile_arguments(optimizer, loss, loss_weights, metrics, weighted_metrics,
                              output_names=None):
    """`compile()`'s arguments as objects: (optimizer, compiled loss, metrics, weighted,
    metric outputs, weighted metric outputs).

    Everything is resolved before the model changes, so a compile that fails on a bad
    argument leaves the model (and its optimizer state) as it was.

    Args:
        output_names: the names of a model's several outputs (what a dict of losses,
            weights or metrics is keyed by, and what their logs are prefixed with); None
            for one output.

    Returns:
        For one output a `CompiledLoss`, the metrics, and None for both output lists;
        for several a `MultiOutputLoss`, and beside each metric list the index of the
        output each metric reads.

    Raises:
        ValueError: for unknown identifiers, or per-output arguments that do not match
            the outputs.
    """
    new_optimizer = optimizers.get(optimizer)
    if output_names is None:
        new_loss = losses.get(_unwrap_single(loss))
        loss_weights = _unwrap_single(loss_weights)
        if isinstance(loss_weights, (list, tuple, dict)):
            raise ValueError("fastconv models have one output: `loss_weights` must hold one "
                             f"value. Received: loss_weights={loss_weights}")
        weight = 1.0 if loss_weights is None else float(loss_weights)
        new_metrics = [metrics_module.get(m, loss=new_loss) for m in _as_list(metrics)]
        new_weighted = [metrics_module.get(m, loss=new_loss) for m in _as_list(weighted_metrics)]
        return new_optimizer, CompiledLoss(new_loss, weight), new_metrics, new_weighted, None, None
    names = list(output_names)
    per_loss = _per_output(loss, names, "loss", broadcast=True)
    new_losses = [losses.get(entry) for entry in per_loss]
    if loss is not None and all(entry is None for entry in new_losses):
        raise ValueError(f"`loss` gives no loss to any of the outputs {names}. "
                         f"Received: loss={loss!r}")
    weights = [1.0 if w is None else float(w)
               for w in _per_output(loss_weights, names, "loss_weights", broadcast=False)]
    compiled = MultiOutputLoss(new_losses if loss is not None else None, weights, names)
    resolved = []
    for argument, value in (("metrics", metrics), ("weighted_metrics", weighted_metrics)):
        objects, outputs = [], []
        for index, entry in enumerate(_per_output(value, names, argument, broadcast=False)):
            for identifier in _as_list(entry):
                metric = metrics_module.get(identifier, loss=new_losses[index])
                if metric is identifier:  # the user's object: one state per output, as Keras
                    metric = copy.deepcopy(metric)
                metric.name = f"{names[index]}_{metric.name}"
                objects.append(metric)
                outputs.append(index)
        resolved += [objects, outputs]
    metrics_list, metric_outputs, weighted_list, weighted_outputs = resolved
    return new_optimizer, compiled, metrics_list, weighted_list, metric_outputs, weighted_outputs


def _per_output(value, names, argument, broadcast):
    """`value` as one entry per output: a list in output order, a dict keyed by output names
    (missing names get None), or (with `broadcast`) one value for every output.

    Raises:
        ValueError: a list of another length, unknown dict keys, or one value where a
            list or dict is needed.
    """
    if value is None:
        return [None] * len(names)
    if isinstance(value, dict):
        unknown = [key for key in value if key not in names]
        if unknown:
            raise ValueError(f"`{argument}` has keys {unknown} that are not output names of "
                             f"the model. The outputs are {names}. Received: "
                             f"{argument}={value!r}")
        return [value.get(name) for name in names]
    if isinstance(value, (list, tuple)):
        if len(value) != len(names):
            raise ValueError(f"`{argument}` must have one entry per output ({len(names)}: "
                             f"{names}) or be a dict keyed by output names. Received: "
                             f"{argument}={value!r}")
        return list(value)
    if broadcast:
        return [value] * len(names)
    raise ValueError(f"The model has {len(names)} outputs {names}: `{argument}` must be a list "
                     f"with one entry per output or a dict keyed by output names. Received: "
                     f"{argument}={value!r}")


class CompiledLoss:
    """The compiled loss scaled by its `loss_weights` value.

    Args:
        loss: a `fastconv.losses.Loss` (or None when compiled without one: the model
            then trains on the losses its layers add with `add_loss`).
        weight: the float the loss (and so its gradient) is multiplied by.
    """

    output_losses = ()  # no per-output loss logs for one output

    def __init__(self, loss, weight=1.0):
        self.loss = loss
        self.weight = weight

    def __call__(self, y_true, y_pred, sample_weight):
        if self.loss is None:  # only the layers' `add_loss` losses count
            return 0.0
        value = self.loss(y_true, y_pred, sample_weight=sample_weight)
        return value if self.weight == 1.0 else value * self.weight

    def values(self, y_true, y_pred, sample_weight):
        """(the weighted loss, the per-output unweighted losses: none for one output)."""
        return self(y_true, y_pred, sample_weight), ()

    def values_and_gradient(self, y_true, y_pred, sample_weight, fused, targets_checked=False):
        """`values(...)` of a training batch and dL/d(y_pred), or dL/d(logits) of the output
        layer when `fused`; the targets are checked once for both (not at all when
        `targets_checked`: see `Loss.value_and_gradient`)."""
        if self.loss is None:
            return 0.0, (), np.zeros(np.shape(y_pred), np.asarray(y_pred).dtype)
        if targets_checked and type(self.loss).value_and_gradient is losses.Loss.value_and_gradient:
            value, grad = self.loss.value_and_gradient(y_true, y_pred, sample_weight,
                                                       logits=fused, targets_checked=True)
        else:  # (a subclass's own value_and_gradient may not take `targets_checked`)
            value, grad = self.loss.value_and_gradient(y_true, y_pred, sample_weight,
                                                       logits=fused)
        if self.weight == 1.0:
            return value, (), grad
        return value * self.weight, (), grad * grad.dtype.type(self.weight)


class MultiOutputLoss:
    """The losses of a model with several outputs: the total is the weighted sum, as Keras.

    Args:
        losses: one `Loss` (or None: no loss on that output) per output, or None when the
            model was compiled without a loss.
        weights: the `loss_weights` value of each output.
        output_names: the output names ("{name}_loss" logs each output's unweighted loss
            when more than one output has a loss).

    Attributes:
        loss: the tuple of per-output losses (the plans' key for output fusion), or None.
        output_losses: the names of the per-output loss logs.
        active: the indices of the outputs that have a loss.
    """

    def __init__(self, losses, weights, output_names):
        self.loss = None if losses is None else tuple(losses)
        self.weights = list(weights)
        self.output_names = list(output_names)
        active = [i for i, loss in enumerate(self.loss or ()) if loss is not None]
        self.active = active  # the outputs that have a loss
        self.output_losses = tuple(f"{self.output_names[i]}_loss" for i in active) \
            if len(active) > 1 else ()

    def check_targets(self, y, output_shapes):
        """Checks each output's targets against its shape (batch axis first).

        Raises:
            ValueError: an output with a loss but no targets, or targets its loss rejects.
        """
        for i in self.active:
            if y[i] is None:
                raise ValueError(f"Output '{self.output_names[i]}' has a loss but no targets: "
                                 f"pass them in `y` (a list in output order or a dict keyed "
                                 f"by {self.output_names}).")
            self.loss[i].check_targets(y[i], output_shapes[i])

    def values(self, y_true, y_pred, sample_weight):
        """(the weighted sum of the losses, the unweighted loss of each output with one)."""
        weights = sample_weight or [None] * len(y_pred)
        each = [float(self.loss[i](y_true[i], y_pred[i], sample_weight=weights[i]))
                for i in self.active]
        total = sum(self.weights[i] * value for i, value in zip(self.active, each))
        return total, tuple(each) if self.output_losses else ()

    def __call__(self, y_true, y_pred, sample_weight):
        return self.values(y_true, y_pred, sample_weight)[0]

    def values_and_gradient(self, y_true, y_pred, sample_weight, fused, targets_checked=False):
        """`values(...)` of a training batch and dL/d(y_pred) of each output (None for an
        output without loss; dL/d(logits) where `fused` is True), each output's targets
        checked once for its value and gradient (`targets_checked` is for one output's
        loss: several outputs' targets are checked here)."""
        weights = sample_weight or [None] * len(y_pred)
        grads = [None] * len(y_pred)
        each = []
        for i in self.active:
            value, grad = self.loss[i].value_and_gradient(y_true[i], y_pred[i], weights[i],
                                                          logits=fused[i])
            each.append(float(value))
            grads[i] = grad if self.weights[i] == 1.0 else grad * grad.dtype.type(self.weights[i])
        total = sum(self.weights[i] * value for i, value in zip(self.active, each))
        return total, tuple(each) if self.output_losses else (), grads


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
        metric_outputs, weighted_outputs: for a model with several outputs, the output
            index each metric reads; None for one output.
        output_losses: the names of the per-output loss means ("{output}_loss").
    """

    def __init__(self, loss_tracker, metrics, weighted_metrics, metric_outputs=None,
                 weighted_outputs=None, output_losses=()):
        self.loss_tracker = loss_tracker
        self.metrics = list(metrics)
        self.weighted_metrics = list(weighted_metrics)
        self.metric_outputs = metric_outputs
        self.weighted_outputs = weighted_outputs
        self.output_losses = [name if isinstance(name, metrics_module.Mean)
                              else metrics_module.Mean(name=name) for name in output_losses]

    @property
    def all(self):
        """The loss tracker, then the metrics, the weighted metrics, the per-output losses."""
        return [self.loss_tracker] + self.metrics + self.weighted_metrics + self.output_losses

    def detached(self):
        """A reset copy whose updates do not touch these metric objects."""
        with _publish_lock:  # not while another thread publishes into these objects
            objects = copy.deepcopy(
                (self.loss_tracker, self.metrics, self.weighted_metrics, self.output_losses))
        tracker = MetricsTracker(objects[0], objects[1], objects[2], self.metric_outputs,
                                 self.weighted_outputs, objects[3])
        tracker.reset()
        return tracker

    def reset(self):
        for metric in self.all:
            metric.reset_state()

    def update(self, loss_value, y_true, y_pred, sample_weight, output_losses=()):
        """Adds one batch. With several outputs, `y_true`, `y_pred` and `sample_weight` (or
        None) are lists in output order, and `output_losses` the per-output loss values."""
        if self.metric_outputs is None:
            self.loss_tracker.update_state(loss_value, sample_weight=len(y_pred))
            for metric in self.metrics:
                metric.update_state(y_true, y_pred)
            for metric in self.weighted_metrics:
                metric.update_state(y_true, y_pred, sample_weight=sample_weight)
            return
        count = len(y_pred[0])
        self.loss_tracker.update_state(loss_value, sample_weight=count)
        for tracker, value in zip(self.output_losses, output_losses):
            tracker.update_state(value, sample_weight=count)
        for metric, i in zip(self.metrics, self.metric_outputs):
            metric.update_state(y_true[i], y_pred[i])
        for metric, i in zip(self.weighted_metrics, self.weighted_outputs):
            metric.update_state(y_true[i], y_pred[i],
                                sample_weight=None if sample_weight is None else sample_weight[i])

    def logs(self):
        """`{"loss": ..., metric name: ...}` of the running results."""
        return {metric.name: float(metric.result()) for metric in self.all}

    def ordered_results(self, logs):
        """`logs` as the list `evaluate` returns: in `all` order for one output; for several,
        Keras 3's order: the loss, the per-output losses, then the metrics by name."""
        if self.metric_outputs is None:
            return list(logs.values())
        first = ["loss"] + [metric.name for metric in self.output_losses]
        return [logs[name] for name in first] + [
            logs[name] for name in sorted(logs) if name not in first]

    def publish(self, target):
        """Copies this tracker's state into `target`'s metric objects."""
        with _publish_lock:
            for source, metric in zip(self.all, target.all):
                vars(metric).update(copy.deepcopy(vars(source)))
