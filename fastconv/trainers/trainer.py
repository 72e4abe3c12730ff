"""Trainer: compile / fit / evaluate / predict, as Keras 3's `trainers/trainer.py`.

`Model` inherits from it. The loops hand batches to the executor (`fastconv.executor`): one
`Run` per loop owns every per-batch state, so `predict` and `evaluate` may be called on one
model from several threads at once. Training one model from two threads at once is refused
with a RuntimeError (Keras's rule: the weights and the optimizer state are shared).
"""

import contextlib
import threading
import warnings

import numpy as np

from fastconv import callbacks as callbacks_module, metrics as metrics_module
from fastconv.distributed import data_parallel
from fastconv.executor import Run, plan_for
from fastconv.layers import custom_call, weight_penalties
from fastconv.trainers import compile_utils, custom_loss, data_adapters as data
from fastconv.trainers.data_adapters.structured_data import (
    StructuredArrayAdapter,
    signature,
    unpack,
)
from fastconv.trainers.epoch_iterator import EpochIterator

__all__ = ["Trainer"]


def _total(added_losses):
    """The sum of the losses `add_loss` received (Keras adds them to the compiled loss)."""
    return float(sum(np.sum(value, dtype=np.float64) for value in added_losses))


def _verbosity(verbose):
    return 1 if verbose == "auto" else int(verbose)


class Trainer:
    """The training and inference loops of a model (mixed into `fastconv.Model`).

    The model side provides `_graph`, `_plans`, `_input_dtype()`, `_output_dtype()`,
    `_check_input(x)`, `_output_shape` and `trainable`.
    """

    def _init_trainer(self):
        self.compiled = False
        self.optimizer = None
        self.loss = None
        self.history = None
        self.stop_training = False
        self._compiled_loss = None
        self._metrics = []
        self._weighted_metrics = []
        self._tracker = None
        self._kept_run = None  # train_on_batch / test_on_batch reuse it across calls
        self._training_lock = threading.Lock()

    # ------------------------------------------------------------ compile
    def compile(self, optimizer="rmsprop", loss=None, loss_weights=None, metrics=None,
                weighted_metrics=None, run_eagerly=False, steps_per_execution=1,
                jit_compile="auto", auto_scale_loss=True):
        """Configures the model for training.

        Args:
            optimizer: an optimizer name ("adam", "sgd", ...) or instance.
            loss: a loss name ("sparse_categorical_crossentropy", ...) or instance;
                for a model with several outputs also a list (one per output, None
                for none) or a dict keyed by output names.
            loss_weights: None, or the float that scales the loss; for several
                outputs a list or dict of them (the total loss is the weighted sum).
            metrics: a metric name ("accuracy", ...), instance, or a list of them;
                for several outputs a list with one entry (a metric or a list) per
                output, or a dict keyed by output names.
            weighted_metrics: metrics that also receive the sample weights.
            run_eagerly, steps_per_execution, jit_compile, auto_scale_loss:
                accepted for Keras compatibility; fastconv always runs eagerly
                one batch at a time.

        Raises:
            ValueError: for unknown optimizer, loss or metric identifiers.
        """
        del run_eagerly, steps_per_execution, jit_compile, auto_scale_loss
        optimizer, compiled_loss, metrics, weighted, metric_outputs, weighted_outputs = \
            compile_utils.resolve_compile_arguments(optimizer, loss, loss_weights, metrics,
                                                    weighted_metrics, self._loss_output_names())
        self.optimizer, self.loss, self._compiled_loss = optimizer, compiled_loss.loss, compiled_loss
        self._metrics, self._weighted_metrics = metrics, weighted
        self._tracker = compile_utils.MetricsTracker(
            metrics_module.Mean(name="loss"), metrics, weighted, metric_outputs,
            weighted_outputs, compiled_loss.output_losses)
        self._kept_run = None
        self.compiled = True

    @property
    def _loss_weight(self):
        """The loss weight (a list of them for several outputs)."""
        if self._compiled_loss is None:
            return 1.0
        if isinstance(self._compiled_loss, compile_utils.MultiOutputLoss):
            return list(self._compiled_loss.weights)
        return self._compiled_loss.weight

    @property
    def metrics(self):
        """The loss tracker (a `Mean` named "loss") and the compiled metrics ([] before
        `compile`), as Keras: what `reset_metrics()` resets and callbacks in `mode="auto"`
        look up by name."""
        return self._tracker.all if self._tracker else []

    @property
    def metrics_names(self):
        if self._tracker is None:
            return []
        return [metric.name for metric in self._tracker.all]

    def reset_metrics(self):
        """Resets the state of every metric in `model.metrics`."""
        if self._tracker is not None:
            self._tracker.reset()

    def _require_compiled(self, method):
        # A model compiled without a `loss` trains on what its layers `add_loss` (Keras).
        if not self.compiled:
            raise ValueError(f"You must call `compile()` before using the model (`{method}`).")

    def _step_loss(self, y, y_pred, sample_weight, added, run, fused=None, targets_checked=False):
        """(the compiled loss plus `model.losses` as Keras adds them: the regularization
        penalties of `run` and the values `add_loss` received in its forward pass; the
        per-output losses; with `fused` (a training step: which outputs' gradients are
        w.r.t. their logits) dL/d(outputs), the targets checked once for both, or not at all
        when `targets_checked` (the loop checked all of them before its first step), else
        None)."""
        penalty = weight_penalties.model_penalty(run.plan.penalized_layers, run.activity_states)
        if self.loss is None and not added and not penalty:
            raise ValueError("The model was compiled without a `loss` and has no "
                             "regularization penalty or `add_loss` loss: there is no loss to "
                             "compute. Pass `loss=` to `compile()`.")
        if fused is None:
            loss_value, output_losses = self._compiled_loss.values(y, y_pred, sample_weight)
            output_grad = None
        else:
            loss_value, output_losses, output_grad = self._compiled_loss.values_and_gradient(
                y, y_pred, sample_weight, fused, targets_checked)
        return loss_value + penalty + _total(added), output_losses, output_grad

    @contextlib.contextmanager
    def _training(self, method):
        """Holds the model's training lock, or refuses a second training thread."""
        if not self._training_lock.acquire(blocking=False):
            raise RuntimeError(
                f"Model '{self.name}' is already training in another thread (`{method}` was "
                "called while `fit` or `train_on_batch` runs). Training one model from "
                "several threads at once is not supported; predict and evaluate are.")
        try:
            yield
        finally:
            self._training_lock.release()

    # -------------------------------------------------------------- steps
    def _new_run(self, x, reuse_buffers):
        """A run of the model's plan for batches like `x`."""
        return Run(plan_for(self, signature(x), self.loss), reuse_buffers)

    def _train_step(self, run, tracker, x, y, sample_weight, strategy=None, targets_checked=False):
        if strategy is not None and not data_parallel.num_samples(x):
            # this rank's share of a small last batch is empty: it takes the averaged step only
            if run.plan.trainable_steps:
                strategy.apply_gradients(self.optimizer, None, 0)
                weight_penalties.apply_constraints(run.plan.penalized_layers)
            return
        with custom_call.collect_losses() as added:  # `add_loss` in custom calls
            y_pred = run.forward(x, training=True)
        if custom_loss.overridden(self):  # the model's own compute_loss (Keras 3's hook)
            custom_loss.train_step(self, run, tracker, x, y, y_pred, sample_weight, added,
                                   strategy)
            return
        if not run.plan.trainable_steps:
            loss_value, output_losses, _ = self._step_loss(y, y_pred, sample_weight, added, run)
            tracker.update(loss_value, y, y_pred, sample_weight, output_losses)
            return
        plan = run.plan
        fused = plan.fused_output if len(plan.output_values) == 1 else plan.fused_outputs
        loss_value, output_losses, output_grad = self._step_loss(y, y_pred, sample_weight, added,
                                                                 run, fused, targets_checked)
        run.backward(output_grad)
        grads_and_vars = weight_penalties.add_weight_gradients(run.plan.penalized_layers,
                                                              run.grads_and_vars())
        if strategy is None:
            self.optimizer.apply_gradients(grads_and_vars)
        else:
            strategy.apply_gradients(self.optimizer, grads_and_vars, data_parallel.num_samples(x))
        weight_penalties.apply_constraints(run.plan.penalized_layers)
        tracker.update(loss_value, y, y_pred, sample_weight, output_losses)

    def _test_step(self, run, tracker, x, y, sample_weight):
        with custom_call.collect_losses() as added:
            y_pred = run.forward(x, training=False, inference=True)
        if custom_loss.overridden(self):
            custom_loss.test_step(self, run, tracker, x, y, y_pred, sample_weight, added)
            return
        loss_value, output_losses, _ = self._step_loss(y, y_pred, sample_weight, added, run)
        tracker.update(loss_value, y, y_pred, sample_weight, output_losses)

    def _run_for(self, runs, x):
        """The loop's run for batches like `x`; a new input signature is checked against the
        model first (a generator may change it between batches)."""
        signature = data.batch_signature(x)
        run = runs.get(signature)
        if run is None:
            self._check_input(x)
            run = runs[signature] = self._new_run(x, reuse_buffers=True)
        return run

    def _check_first(self, iterator, method, name="x", need_targets=True):
        """Builds the model for (or checks it against) the data before the first step: all of
        it for arrays, the first batch for other sources (later batches are checked as they
        come)."""
        first = iterator.first_data()
        if first is None:
            raise ValueError(f"The data of `{method}` (`{name}`) gave no batch: it is empty, or "
                             "a generator that was already read to its end.")
        if self._structured:  # lists or dicts matched to the model's inputs and outputs
            if not isinstance(iterator.adapter, StructuredArrayAdapter):  # (checked already)
                self._check_structured_batch(first, method, need_targets)
            return
        x, y, _ = first
        self._check_input(x)
        if need_targets and self.loss is not None:  # without one: trained on `model.losses`
            if y is None:
                raise ValueError(f"`{method}` needs targets: pass `y`, or give `{name}` as "
                                 "(inputs, targets) batches.")
            self.loss.check_targets(y, (y.shape[0],) + self._output_shape[1:])

    def _prepare(self, x, y, sample_weight, method):
        if self._structured:  # several inputs or outputs: lists or dicts of arrays
            return self._structured_data(x, y, sample_weight, method)
        x, y, sample_weight = data.check_data(x, y, sample_weight)
        self._check_input(x)
        if self.loss is not None:  # without one: trained on `model.losses`, no targets
            if y is None:
                raise ValueError(f"`{method}` needs targets: pass `y`.")
            self.loss.check_targets(y, (y.shape[0],) + self._output_shape[1:])
        return x, y, sample_weight

    # ---------------------------------------------------------------- fit
    def fit(self, x=None, y=None, batch_size=None, epochs=1, verbose="auto", callbacks=None,
            validation_split=0.0, validation_data=None, shuffle=True, class_weight=None,
            sample_weight=None, initial_epoch=0, steps_per_epoch=None, validation_steps=None,
            validation_batch_size=None, validation_freq=1):
        """Trains the model for `epochs` passes over the data.

        Args:
            x: inputs, `(samples, ...)` matching the model's input shape; or a source of
                `(x, y)` / `(x, y, sample_weight)` batches: a Python generator or
                iterable, a `fastconv.utils.PyDataset`, or a torch `DataLoader` (then
                `y`, `sample_weight` and `batch_size` stay unset).
            y: targets (class labels or one-hot rows, as the loss expects).
            batch_size: samples per gradient step of array data (default 32).
            epochs: the epoch index to stop before.
            verbose: 0 silent, 1 (or "auto") progress bar, 2 one line per epoch.
            callbacks: a list of `fastconv.callbacks.Callback`.
            validation_split: the fraction of the samples, taken from the end
                before shuffling, to evaluate on after each epoch.
            validation_data: `(x_val, y_val)` or `(x_val, y_val, sample_weight_val)`,
                or any source of batches `x` may be; overrides `validation_split`.
            shuffle: whether to shuffle the training samples every epoch (the batch
                order of a PyDataset; ignored, with a warning, for generators and
                DataLoaders).
            class_weight: optional dict class index -> weight of its samples' loss,
                applied to the training samples only (not to the validation loss);
                for arrays and PyDatasets.
            sample_weight: optional per-sample weights of the loss.
            initial_epoch: the epoch to start from (to resume training).
            steps_per_epoch: batches per epoch (default: one pass over the data, or
                until a generator is exhausted); the data continues from one epoch to
                the next, as in Keras.
            validation_steps: batches per validation (default: all of `validation_data`).
            validation_batch_size: batch size of array validation data (default
                `batch_size`).
            validation_freq: validate every this many epochs.

        Returns:
            The `History` callback: `.history` maps "loss", the metrics and
            their "val_" versions to per-epoch lists.

        Raises:
            ValueError: the model is not compiled, the data is empty or its
                shapes do not match, an argument is out of range, or does not apply
                to the kind of data (Keras's messages).
            RuntimeError: the model is already training in another thread.
        """
        self._require_compiled("fit")
        verbose = _verbosity(verbose)
        strategy = data_parallel.active()  # None in one process: the loops run as they are
        if strategy is not None:
            callbacks, verbose = strategy.begin(self, "fit", {"x": x, "validation_data":
                                                              validation_data}, callbacks, verbose)
        if validation_batch_size is not None:
            validation_batch_size = data.check_batch_size(validation_batch_size,
                                                          "validation_batch_size")
        data.check_positive_int(validation_freq, "validation_freq")
        data.check_positive_int(epochs, "epochs", minimum=0)
        for name, value in (("steps_per_epoch", steps_per_epoch),
                            ("validation_steps", validation_steps)):
            if value is not None:
                data.check_positive_int(value, name)
        if self._structured and data.is_array_input(x):
            x, y, sample_weight, validation_data = self._structured_fit_data(
                x, y, sample_weight, batch_size, shuffle, class_weight, validation_split,
                validation_data)
        elif validation_split and validation_data is None:
            (x, y, sample_weight), validation_data = data.train_validation_split(
                validation_split, x, y, sample_weight)
        # class_weight weighs the training loss only, as in Keras
        iterator = EpochIterator(x, y, sample_weight, batch_size, shuffle, steps_per_epoch,
                                 class_weight)
        if strategy is not None:
            strategy.shard(iterator)
        self._check_first(iterator, "fit")
        val = None
        if validation_data is not None:
            val_x, val_y, val_sample_weight = data.unpack_x_y_sample_weight(validation_data)
            if validation_batch_size is None and data.is_array_input(val_x):
                validation_batch_size = batch_size
            if self._structured and data.is_array_input(val_x):
                val_x = self._structured_adapter(val_x, val_y, val_sample_weight,
                                                 validation_batch_size, "fit")
            val = EpochIterator(val_x, val_y, val_sample_weight, validation_batch_size,
                                steps_per_epoch=validation_steps)
            if strategy is not None:
                strategy.shard(val)
            self._check_first(val, "fit", name="validation_data")
        callback_list = callbacks_module.CallbackList(
            callbacks, model=self, add_history=True, add_progbar=verbose != 0, verbose=verbose,
            epochs=epochs, steps=iterator.steps, validation_freq=validation_freq)
        with self._training("fit"), data_parallel.rank_0_output(strategy):
            self.stop_training = False
            callback_list.on_train_begin()
            try:
                logs = self._fit_epochs(iterator, val, validation_freq, initial_epoch, epochs,
                                        callback_list, strategy)
            finally:
                iterator.close()
                if val is not None:
                    val.close()
            callback_list.on_train_end(logs)
        return callback_list.history

    def _fit_epochs(self, iterator, val, validation_freq, initial_epoch, epochs,
                    callback_list, strategy):
        """The epoch loop of `fit`; returns the last epoch's logs."""
        runs, val_runs = {}, {}
        tracker = self._tracker
        if strategy is not None:
            strategy.start(self)
            tracker = strategy.tracker(tracker)
        # `_check_first` checked every target of array data (not per batch, as other sources)
        targets_checked = not self._structured and getattr(iterator.adapter, "arrays", None) \
            is not None
        logs = {}
        for epoch in range(initial_epoch, epochs):
            if iterator.peek() is None:  # a generator read to its end
                warnings.warn(
                    "Your input ran out of data; interrupting training. Make sure that your "
                    "dataset or generator can generate at least `steps_per_epoch * epochs` "
                    f"batches: training stopped before epoch {epoch + 1} of {epochs}.",
                    UserWarning, stacklevel=3)
                break
            tracker.reset()
            callback_list.on_epoch_begin(epoch)
            # No callback acting per batch: no batch hooks, and no logs computed for them (but
            # every rank of a data-parallel job computes its logs: they meet in a collective).
            batch_hooks = strategy is not None or callback_list.uses_train_batch_hooks()
            for step, (x, y, sample_weight) in iterator.enumerate_epoch():
                if batch_hooks:
                    callback_list.on_train_batch_begin(step)
                if self._structured:
                    x, y, sample_weight = self._structured_batch(x, y, sample_weight)
                self._train_step(self._run_for(runs, x), tracker, x, y, sample_weight, strategy,
                                 targets_checked)
                if batch_hooks:
                    callback_list.on_train_batch_end(step, tracker.logs())
                if self.stop_training:
                    break
            logs = tracker.logs()
            if strategy is not None:
                strategy.average_moving_statistics(self)
            if val is not None and (epoch + 1) % validation_freq == 0:
                val_logs = self._evaluate_loop(val_runs, val, callback_list, "validation_data",
                                               strategy)
                logs.update({"val_" + key: value for key, value in val_logs.items()})
            callback_list.on_epoch_end(epoch, logs)
            if self.stop_training:
                break
        return logs

    # ----------------------------------------------------------- evaluate
    def _evaluate_loop(self, runs, iterator, callback_list, name="x", strategy=None):
        """The loss and metrics over the iterator's next epoch (its data from the start, or
        where a generator stopped), on a detached tracker published into the model's at the
        end."""
        iterator.reset()
        if iterator.peek() is None:
            raise ValueError(
                f"`{name}` ran out of data: a generator is read once. Pass `validation_steps` "
                "(`steps` to evaluate) so that each evaluation reads part of it, or a source "
                "that can be read again (arrays, a PyDataset, a DataLoader, an iterable).")
        tracker = self._tracker.detached()
        if strategy is not None:
            tracker = strategy.tracker(tracker)
        callback_list.on_test_begin()
        for step, (x, y, sample_weight) in iterator.enumerate_epoch():
            callback_list.on_test_batch_begin(step)
            if self._structured:
                x, y, sample_weight = self._structured_batch(x, y, sample_weight)
            if strategy is None or data_parallel.num_samples(x):  # a share may be empty
                self._test_step(self._run_for(runs, x), tracker, x, y, sample_weight)
            callback_list.on_test_batch_end(step, tracker.logs())
        logs = tracker.logs()
        tracker.publish(self._tracker)
        callback_list.on_test_end(logs)
        return logs

    def evaluate(self, x=None, y=None, batch_size=None, verbose="auto", sample_weight=None,
                 steps=None, callbacks=None, return_dict=False):
        """The loss and metrics on `(x, y)`, in inference mode, batch by batch.

        Safe to call from several threads at once on one model.

        Args:
            x, y: inputs and targets; or, as in `fit`, `x` alone as a source of
                `(x, y[, sample_weight])` batches.
            batch_size: samples per batch of array data (default 32).
            verbose: 0 silent, 1 (or "auto") progress bar.
            sample_weight: optional per-sample weights of the loss.
            steps: optional number of batches to evaluate (a warning if the data
                runs out first).
            callbacks: a list of callbacks.
            return_dict: return `{"loss": ..., metric: ...}` instead of a list.

        Returns:
            The loss (a float) if no metrics were compiled, else
            `[loss, metric, ...]` in `metrics_names` order, or a dict.
        """
        self._require_compiled("evaluate")
        verbose = _verbosity(verbose)
        strategy = data_parallel.active()  # None in one process
        if strategy is not None:
            callbacks, verbose = strategy.begin(self, "evaluate", {"x": x}, callbacks, verbose)
        if steps is not None:
            data.check_positive_int(steps, "steps")
        if self._structured and data.is_array_input(x):
            x = self._structured_adapter(x, y, sample_weight, batch_size, "evaluate")
        iterator = EpochIterator(x, y, sample_weight, batch_size, steps_per_epoch=steps)
        if strategy is not None:
            strategy.shard(iterator)
        self._check_first(iterator, "evaluate")
        callback_list = callbacks_module.CallbackList(
            callbacks, model=self, add_progbar=verbose != 0, verbose=verbose, epochs=1,
            steps=iterator.steps)
        try:
            with data_parallel.rank_0_output(strategy):
                logs = self._evaluate_loop({}, iterator, callback_list, strategy=strategy)
        finally:
            iterator.close()
        return self._batch_result(logs, return_dict)

    def _batch_result(self, logs, return_dict):
        if return_dict:
            return logs
        values = self._tracker.ordered_results(logs)
        return values[0] if len(values) == 1 else values

    # ------------------------------------------------------------ predict
    def predict(self, x, batch_size=None, verbose=0, steps=None, callbacks=None):
        """The model's outputs for `x`, computed batch by batch in inference mode.

        Safe to call from several threads at once on one model.

        Args:
            x: inputs, `(samples, ...)`; or a source of batches as in `fit` (their
                targets, if any, are not used).
            batch_size: samples per batch of array data (default 32).
            verbose: 0 silent (default), 1 (or "auto") progress bar.
            steps: optional number of batches to run.
            callbacks: a list of callbacks.

        Returns:
            An array `(samples,) + output_shape[1:]`.
        """
        verbose = _verbosity(verbose)
        if steps is not None:
            data.check_positive_int(steps, "steps", minimum=0)
        if self._structured and data.is_array_input(x):
            x = self._structured_adapter(x, None, None, batch_size, "predict")
        iterator = EpochIterator(x, batch_size=batch_size, steps_per_epoch=steps or None)
        self._check_first(iterator, "predict", need_targets=False)
        callback_list = callbacks_module.CallbackList(
            callbacks, model=self, add_progbar=verbose != 0, verbose=verbose, epochs=1,
            steps=0 if steps == 0 else iterator.steps)
        runs, results = {}, []
        callback_list.on_predict_begin()
        try:
            batches = iterator.enumerate_epoch() if steps != 0 else ()
            for step, (batch_x, _, _) in batches:
                callback_list.on_predict_batch_begin(step)
                if self._structured:
                    batch_x = self._structured_batch(batch_x, None, None)[0]
                # copies: the run writes the next batch into the same arrays
                outputs = self._run_for(runs, batch_x).forward(batch_x, training=False,
                                                               inference=True)
                outputs = ([np.array(o) for o in outputs] if isinstance(outputs, list)
                           else np.array(outputs))
                results.append(outputs)
                callback_list.on_predict_batch_end(step, {"outputs": outputs})
        finally:
            iterator.close()
        callback_list.on_predict_end()
        if not results:  # steps=0: no batch ran
            shapes = self.compute_output_shape(self._input_shapes())
            if isinstance(shapes, list):
                return self._pack_outputs([np.empty((0,) + tuple(s[1:]), self._output_dtype())
                                           for s in shapes])
            return np.empty((0,) + tuple(shapes[1:]), self._output_dtype())
        if isinstance(results[0], list):  # several outputs
            return self._pack_outputs([np.concatenate(r) for r in zip(*results)])
        return self._pack_outputs(np.concatenate(results))

    # ---------------------------------------------------------- on_batch
    def _kept(self, x):
        """The run train_on_batch / test_on_batch keep across calls (the user's own loop)."""
        run = self._kept_run
        plan = plan_for(self, signature(x), self.loss)
        if run is None or run.plan is not plan:
            run = self._kept_run = Run(plan, reuse_buffers=True)
        return run

    def train_on_batch(self, x, y=None, sample_weight=None, class_weight=None,
                       reset_metrics=True, return_dict=False):
        """One gradient step on one batch.

        Returns:
            The loss, or `[loss, metric, ...]`, or a dict with `return_dict`
            (values of this batch when `reset_metrics`, else running means).

        Raises:
            RuntimeError: the model is already training in another thread.
        """
        self._require_compiled("train_on_batch")
        x, y, sample_weight = self._prepare(x, y, sample_weight, "train_on_batch")
        if class_weight and self._loss_output_names():
            raise ValueError("`class_weight` is only supported for models with a single "
                             "output, as in Keras; pass `sample_weight` per output instead.")
        x, y, sample_weight = unpack(x), unpack(y), unpack(sample_weight)
        if class_weight:
            weights = data.class_weights_to_sample_weights(y, class_weight)
            sample_weight = weights if sample_weight is None else sample_weight * weights
        with self._training("train_on_batch"):
            if reset_metrics:
                self._tracker.reset()
            run = self._kept(x)
            self._train_step(run, self._tracker, x, y, sample_weight)
            run.forget_batch()
        return self._batch_result(self._tracker.logs(), return_dict)

    def test_on_batch(self, x, y=None, sample_weight=None, reset_metrics=True, return_dict=False):
        """The loss (and metrics) on one batch, without updating the weights."""
        self._require_compiled("test_on_batch")
        x, y, sample_weight = self._prepare(x, y, sample_weight, "test_on_batch")
        x, y, sample_weight = unpack(x), unpack(y), unpack(sample_weight)
        if reset_metrics:
            self._tracker.reset()
        run = Run(plan_for(self, signature(x), self.loss))
        self._test_step(run, self._tracker, x, y, sample_weight)
        return self._batch_result(self._tracker.logs(), return_dict)

    def predict_on_batch(self, x):
        """The model's outputs for one batch, in inference mode."""
        if self._structured:
            x = self._structured_batch(x, None, None)[0]
        else:
            x, _, _ = data.check_data(x)
        self._check_input(x)
        outputs = Run(plan_for(self, signature(x), self.loss)).forward(x, training=False,
                                                                       inference=True)
        return self._pack_outputs(outputs)

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        """The compiled loss of a batch (Keras 3's hook). A subclassed model that overrides
        it trains on what it returns (`trainers/custom_loss.py`), and may call
        `super().compute_loss(...)` for the compiled part."""
        del x, training  # the compiled loss needs neither
        return self._compiled_loss(y, y_pred, sample_weight)
