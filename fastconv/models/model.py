"""Model: a chain of layers with Keras's compile / fit / evaluate / predict.

A model is built from `Model(inputs, outputs)` (functional: the layers that
lead from one `Input` to one output) or from a `Sequential`. Training runs
each batch forward through the layers, takes the loss gradient (fused with a
final softmax or sigmoid where the loss allows it), runs `backward` through
the layers in reverse, and hands every trainable weight and its gradient, in
a fixed order, to the optimizer.
"""

import contextlib

import numpy as np

from fastconv import activations, backend, callbacks as callbacks_module
from fastconv import losses, metrics as metrics_module, optimizers
from fastconv.layers.base import Layer
from fastconv.layers.core import InputLayer
from fastconv.models import data, summary

__all__ = ["Model"]


def _ends_in_relu(layer):
    """Whether `layer`'s output is a plain ReLU of what its `backward_logits` takes."""
    return (getattr(layer, "activation", None) is activations.relu
            and type(layer).backward_logits is not Layer.backward_logits)

# (loss class, activation) pairs whose gradient w.r.t. the logits the loss computes directly.
_FUSABLE = (
    (losses.SparseCategoricalCrossentropy, activations.softmax),
    (losses.CategoricalCrossentropy, activations.softmax),
    (losses.BinaryCrossentropy, activations.sigmoid),
)


def _verbosity(verbose):
    return 1 if verbose == "auto" else int(verbose)


class Model:
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
        self.trainable = bool(trainable)
        self._layers = []
        self.built = False
        self.compiled = False
        self.optimizer = None
        self.loss = None
        self.history = None
        self.stop_training = False
        self._metrics = []
        self._loss_weight = 1.0
        self._input_shape = None
        self._output_shape = None
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
        self.built = True

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

    def _cast(self, x):
        chain = self._chain
        return np.asarray(x, dtype=chain[0].dtype if chain else backend.floatx())

    # ------------------------------------------------------------ compute
    def _forward(self, x, training):
        x = self._cast(x)
        for layer in self._chain:
            x = layer.call(x, training=training)
        return x

    def __call__(self, inputs, training=False):
        """Runs the model eagerly on an array batch."""
        x = data.as_array(inputs, "inputs")
        self._check_input(x)
        with self._fresh_arrays():
            return self._forward(x, training=bool(training))

    @contextlib.contextmanager
    def _fresh_arrays(self):
        """Eager calls return new arrays, even from a callback inside fit/evaluate/predict
        (where the layers otherwise reuse their outputs batch after batch)."""
        saved = [(layer, layer._scratch) for layer in self._chain]
        for layer, _ in saved:
            layer._scratch = None
        try:
            yield
        finally:
            for layer, scratch in saved:
                layer._scratch = scratch

    @contextlib.contextmanager
    def _reusing_buffers(self, keep=False):
        """Lets the layers reuse their output and gradient arrays across this loop's batches.

        Nothing a layer computes outlives its batch inside fit/evaluate/predict, and fresh
        arrays of a few MB cost a page fault per 4 KiB on first touch. The arrays are
        released when the outermost loop ends, unless `keep` (train_on_batch and
        test_on_batch, called in the user's own loop) holds them on the model for next time.
        """
        kept = self.__dict__.setdefault("_kept_buffers", {}) if keep else {}
        layers = [layer for layer in self._chain if layer._scratch is None]
        for layer in layers:
            layer._scratch = kept.setdefault(layer.name, {})
        try:
            yield
        finally:
            for layer in layers:
                layer._scratch = None

    def _backward(self, y_true, y_pred, sample_weight):
        chain = self._chain
        trainable = [i for i, layer in enumerate(chain) if layer.trainable_weights]
        if not trainable or not self.trainable:
            return
        first = trainable[0]
        for i, layer in enumerate(chain):
            layer.compute_input_gradient = i > first
        last = chain[-1]
        if self._fused:
            grad = self.loss.logits_gradient(y_true, y_pred, sample_weight=sample_weight)
            grad = last.backward_logits(self._scaled(grad))
        else:
            grad = self.loss.gradient(y_true, y_pred, sample_weight=sample_weight)
            grad = last.backward(self._scaled(grad))
        index = len(chain) - 2
        while index >= first:
            layer = chain[index]
            below = chain[index - 1] if index > first else None
            if _ends_in_relu(below):
                fused = layer.backward_through_relu(grad)
                if fused is not None:  # e.g. max pooling after Conv2D(activation="relu")
                    grad = below.backward_logits(fused)
                    index -= 2
                    continue
            grad = layer.backward(grad)
            index -= 1

    def _scaled(self, grad):
        return grad if self._loss_weight == 1.0 else grad * grad.dtype.type(self._loss_weight)

    def _grads_and_vars(self):
        pairs = []
        if self.trainable:
            for layer in self._chain:
                if layer.trainable_weights:
                    pairs.extend(zip(layer.grads, layer.trainable_weights))
        return pairs

    # ------------------------------------------------------------ compile
    def compile(self, optimizer="rmsprop", loss=None, loss_weights=None, metrics=None,
                weighted_metrics=None, run_eagerly=False, steps_per_execution=1,
                jit_compile="auto", auto_scale_loss=True):
        """Configures the model for training.

        Args:
            optimizer: an optimizer name ("adam", "sgd", ...) or instance.
            loss: a loss name ("sparse_categorical_crossentropy", ...) or instance.
            loss_weights: None, or one float (a one-element list or dict is
                accepted) that scales the loss.
            metrics: a metric name ("accuracy", ...), instance, or a list of them.
            weighted_metrics: metrics that also receive the sample weights.
            run_eagerly, steps_per_execution, jit_compile, auto_scale_loss:
                accepted for Keras compatibility; fastconv always runs eagerly
                one batch at a time.

        Raises:
            ValueError: for unknown optimizer, loss or metric identifiers.
        """
        del run_eagerly, steps_per_execution, jit_compile, auto_scale_loss
        # Resolve everything before assigning anything: a compile that fails on a bad
        # argument leaves the model (and its optimizer state) as it was.
        new_optimizer = optimizers.get(optimizer)
        new_loss = losses.get(loss)
        if isinstance(loss_weights, dict):
            loss_weights = list(loss_weights.values())
        if isinstance(loss_weights, (list, tuple)):
            if len(loss_weights) != 1:
                raise ValueError("fastconv models have one output: `loss_weights` must hold one "
                                 f"value. Received: loss_weights={loss_weights}")
            loss_weights = loss_weights[0]
        loss_weight = 1.0 if loss_weights is None else float(loss_weights)
        new_metrics = [metrics_module.get(m, loss=new_loss) for m in self._as_list(metrics)]
        new_weighted = [metrics_module.get(m, loss=new_loss)
                        for m in self._as_list(weighted_metrics)]
        self.optimizer, self.loss, self._loss_weight = new_optimizer, new_loss, loss_weight
        self._metrics, self._weighted_metrics = new_metrics, new_weighted
        self.compiled = True

    @staticmethod
    def _as_list(value):
        if value is None:
            return []
        if isinstance(value, dict):
            value = list(value.values())
        return list(value) if isinstance(value, (list, tuple)) else [value]

    @property
    def metrics_names(self):
        return ["loss"] + [m.name for m in self._metrics + self._weighted_metrics]

    @property
    def _fused(self):
        activation = getattr(self._chain[-1], "activation", None)
        return (not getattr(self.loss, "from_logits", True)
                and any(isinstance(self.loss, cls) and activation is act for cls, act in _FUSABLE))

    def _require_compiled(self, method, need_loss=True):
        if not self.compiled:
            raise ValueError(f"You must call `compile()` before using the model (`{method}`).")
        if need_loss and self.loss is None:
            raise ValueError(f"The model was compiled without a `loss`; `{method}` needs one. "
                             "Pass `loss=` to `compile()`.")

    # ----------------------------------------------------------- training
    def _reset_metrics(self):
        self._loss_tracker = metrics_module.Mean(name="loss")
        for metric in self._metrics + self._weighted_metrics:
            metric.reset_state()

    def _update_metrics(self, loss_value, y_true, y_pred, sample_weight):
        self._loss_tracker.update_state(loss_value, sample_weight=len(y_pred))
        for metric in self._metrics:
            metric.update_state(y_true, y_pred)
        for metric in self._weighted_metrics:
            metric.update_state(y_true, y_pred, sample_weight=sample_weight)

    def _logs(self):
        logs = {"loss": float(self._loss_tracker.result())}
        for metric in self._metrics + self._weighted_metrics:
            logs[metric.name] = float(metric.result())
        return logs

    def _train_step(self, x, y, sample_weight):
        y_pred = self._forward(x, training=True)
        loss_value = self.loss(y, y_pred, sample_weight=sample_weight) * self._loss_weight
        self._backward(y, y_pred, sample_weight)
        self.optimizer.apply_gradients(self._grads_and_vars())
        self._update_metrics(loss_value, y, y_pred, sample_weight)

    def _test_step(self, x, y, sample_weight):
        y_pred = self._forward(x, training=False)
        loss_value = self.loss(y, y_pred, sample_weight=sample_weight) * self._loss_weight
        self._update_metrics(loss_value, y, y_pred, sample_weight)

    def _prepare(self, x, y, sample_weight, method):
        x, y, sample_weight = data.check_data(x, y, sample_weight)
        self._check_input(x)
        if y is None:
            raise ValueError(f"`{method}` needs targets: pass `y`.")
        self.loss.check_targets(y, (y.shape[0],) + self._output_shape[1:])
        return x, y, sample_weight

    @staticmethod
    def _class_weights(y, class_weight):
        labels = y.argmax(axis=-1) if y.ndim > 1 and y.shape[-1] > 1 else y.reshape(len(y))
        table = np.array([class_weight.get(int(c), 1.0) for c in range(int(labels.max()) + 1)])
        return table[labels.astype(np.intp)]

    def fit(self, x=None, y=None, batch_size=None, epochs=1, verbose="auto", callbacks=None,
            validation_split=0.0, validation_data=None, shuffle=True, class_weight=None,
            sample_weight=None, initial_epoch=0, steps_per_epoch=None,
            validation_batch_size=None, validation_freq=1):
        """Trains the model for `epochs` passes over the data.

        Args:
            x: inputs, `(samples, ...)` matching the model's input shape.
            y: targets (class labels or one-hot rows, as the loss expects).
            batch_size: samples per gradient step (default 32).
            epochs: the epoch index to stop before.
            verbose: 0 silent, 1 (or "auto") progress bar, 2 one line per epoch.
            callbacks: a list of `fastconv.callbacks.Callback`.
            validation_split: the fraction of the samples, taken from the end
                before shuffling, to evaluate on after each epoch.
            validation_data: `(x_val, y_val)` or `(x_val, y_val, sample_weight_val)`;
                overrides `validation_split`.
            shuffle: whether to shuffle the training samples every epoch.
            class_weight: optional dict class index -> weight of its samples' loss.
            sample_weight: optional per-sample weights of the loss.
            initial_epoch: the epoch to start from (to resume training).
            steps_per_epoch: batches per epoch (default: one pass over the data).
            validation_batch_size: batch size of the validation (default `batch_size`).
            validation_freq: validate every this many epochs.

        Returns:
            The `History` callback: `.history` maps "loss", the metrics and
            their "val_" versions to per-epoch lists.

        Raises:
            ValueError: the model is not compiled, the data is empty or its
                shapes do not match, or an argument is out of range.
        """
        self._require_compiled("fit")
        verbose = _verbosity(verbose)
        batch_size = data.check_batch_size(batch_size)
        if validation_batch_size is not None:
            validation_batch_size = data.check_batch_size(validation_batch_size,
                                                          "validation_batch_size")
        data.check_positive_int(validation_freq, "validation_freq")
        data.check_positive_int(epochs, "epochs", minimum=0)
        x, y, sample_weight = self._prepare(x, y, sample_weight, "fit")
        if class_weight:
            weights = self._class_weights(y, class_weight)
            sample_weight = weights if sample_weight is None else sample_weight * weights
        if validation_data is not None:
            if not isinstance(validation_data, (list, tuple)) or len(validation_data) not in (2, 3):
                raise ValueError("`validation_data` must be a tuple (x_val, y_val) or "
                                 "(x_val, y_val, sample_weight_val).")
            val = self._prepare(*(tuple(validation_data) + (None,))[:3], method="fit")
        elif validation_split:
            (x, y, sample_weight), val = data.split_validation(validation_split, x, y, sample_weight)
        else:
            val = None
        steps = steps_per_epoch or data.num_batches(len(x), batch_size)
        callback_list = callbacks_module.CallbackList(
            callbacks, model=self, add_history=True, add_progbar=verbose != 0, verbose=verbose,
            epochs=epochs, steps=steps)
        self.stop_training = False
        callback_list.on_train_begin()
        with self._reusing_buffers():
            logs = self._fit_epochs(x, y, sample_weight, val, batch_size, validation_batch_size,
                                    validation_freq, shuffle, initial_epoch, epochs, steps,
                                    callback_list)
        callback_list.on_train_end(logs)
        return callback_list.history

    def _fit_epochs(self, x, y, sample_weight, val, batch_size, validation_batch_size,
                    validation_freq, shuffle, initial_epoch, epochs, steps, callback_list):
        """The epoch loop of `fit`; returns the last epoch's logs."""
        logs = {}
        for epoch in range(initial_epoch, epochs):
            self._reset_metrics()
            callback_list.on_epoch_begin(epoch)
            batches = data.batch_indices(len(x), batch_size, shuffle=shuffle, steps=steps)
            for step, index in enumerate(batches):
                callback_list.on_train_batch_begin(step)
                self._train_step(x[index], y[index], data.take(sample_weight, index))
                callback_list.on_train_batch_end(step, self._logs())
                if self.stop_training:
                    break
            logs = self._logs()
            if val is not None and (epoch + 1) % validation_freq == 0:
                val_logs = self._evaluate_arrays(*val, validation_batch_size or batch_size,
                                                 callback_list)
                logs.update({"val_" + key: value for key, value in val_logs.items()})
            callback_list.on_epoch_end(epoch, logs)
            if self.stop_training:
                break
        return logs

    def _evaluate_arrays(self, x, y, sample_weight, batch_size, callback_list):
        self._reset_metrics()
        callback_list.on_test_begin()
        with self._reusing_buffers():
            for step, index in enumerate(data.batch_indices(len(x), batch_size)):
                callback_list.on_test_batch_begin(step)
                self._test_step(x[index], y[index], data.take(sample_weight, index))
                callback_list.on_test_batch_end(step, self._logs())
        logs = self._logs()
        callback_list.on_test_end(logs)
        return logs

    def evaluate(self, x=None, y=None, batch_size=None, verbose="auto", sample_weight=None,
                 steps=None, callbacks=None, return_dict=False):
        """The loss and metrics on `(x, y)`, in inference mode, batch by batch.

        Args:
            x, y: inputs and targets.
            batch_size: samples per batch (default 32).
            verbose: 0 silent, 1 (or "auto") progress bar.
            sample_weight: optional per-sample weights of the loss.
            steps: optional number of batches to evaluate.
            callbacks: a list of callbacks.
            return_dict: return `{"loss": ..., metric: ...}` instead of a list.

        Returns:
            The loss (a float) if no metrics were compiled, else
            `[loss, metric, ...]` in `metrics_names` order, or a dict.
        """
        self._require_compiled("evaluate")
        verbose = _verbosity(verbose)
        batch_size = data.check_batch_size(batch_size)
        x, y, sample_weight = self._prepare(x, y, sample_weight, "evaluate")
        if steps is not None:
            end = min(len(x), steps * batch_size)
            x, y, sample_weight = x[:end], y[:end], data.take(sample_weight, slice(0, end))
        callback_list = callbacks_module.CallbackList(
            callbacks, model=self, add_progbar=verbose != 0, verbose=verbose, epochs=1,
            steps=data.num_batches(len(x), batch_size))
        logs = self._evaluate_arrays(x, y, sample_weight, batch_size, callback_list)
        if return_dict:
            return logs
        values = list(logs.values())
        return values[0] if len(values) == 1 else values

    def predict(self, x, batch_size=None, verbose=0, steps=None, callbacks=None):
        """The model's outputs for `x`, computed batch by batch in inference mode.

        Args:
            x: inputs, `(samples, ...)`.
            batch_size: samples per batch (default 32).
            verbose: 0 silent (default), 1 (or "auto") progress bar.
            steps: optional number of batches to run.
            callbacks: a list of callbacks.

        Returns:
            An array `(samples,) + output_shape[1:]`.
        """
        verbose = _verbosity(verbose)
        batch_size = data.check_batch_size(batch_size)
        x, _, _ = data.check_data(x)
        self._check_input(x)
        if steps is not None:
            x = x[:steps * batch_size]
        batches = data.batch_indices(len(x), batch_size)
        callback_list = callbacks_module.CallbackList(
            callbacks, model=self, add_progbar=verbose != 0, verbose=verbose, epochs=1,
            steps=len(batches))
        callback_list.on_predict_begin()
        result = None
        with self._reusing_buffers():
            for step, index in enumerate(batches):
                callback_list.on_predict_batch_begin(step)
                batch = self._forward(x[index], training=False)
                if result is None:
                    result = np.empty((len(x),) + batch.shape[1:], batch.dtype)
                outputs = result[step * batch_size:step * batch_size + len(batch)]
                outputs[...] = batch  # the layers reuse `batch`'s memory for the next one
                callback_list.on_predict_batch_end(step, {"outputs": outputs})
        callback_list.on_predict_end()
        if result is None:  # steps=0: no batch ran
            return np.empty((0,) + tuple(self._output_shape[1:]), self._chain[-1].dtype)
        return result

    def train_on_batch(self, x, y=None, sample_weight=None, class_weight=None,
                       reset_metrics=True, return_dict=False):
        """One gradient step on one batch.

        Returns:
            The loss, or `[loss, metric, ...]`, or a dict with `return_dict`
            (values of this batch when `reset_metrics`, else running means).
        """
        self._require_compiled("train_on_batch")
        x, y, sample_weight = self._prepare(x, y, sample_weight, "train_on_batch")
        if class_weight:
            weights = self._class_weights(y, class_weight)
            sample_weight = weights if sample_weight is None else sample_weight * weights
        if reset_metrics or not hasattr(self, "_loss_tracker"):
            self._reset_metrics()
        with self._reusing_buffers(keep=True):
            self._train_step(x, y, sample_weight)
        return self._batch_result(return_dict)

    def test_on_batch(self, x, y=None, sample_weight=None, reset_metrics=True, return_dict=False):
        """The loss (and metrics) on one batch, without updating the weights."""
        self._require_compiled("test_on_batch")
        x, y, sample_weight = self._prepare(x, y, sample_weight, "test_on_batch")
        if reset_metrics or not hasattr(self, "_loss_tracker"):
            self._reset_metrics()
        with self._reusing_buffers(keep=True):
            self._test_step(x, y, sample_weight)
        return self._batch_result(return_dict)

    def _batch_result(self, return_dict):
        logs = self._logs()
        if return_dict:
            return logs
        values = list(logs.values())
        return values[0] if len(values) == 1 else values

    def predict_on_batch(self, x):
        """The model's outputs for one batch, in inference mode."""
        x, _, _ = data.check_data(x)
        self._check_input(x)
        with self._fresh_arrays():
            return self._forward(x, training=False)

    # ------------------------------------------------------------- saving
    def get_config(self):
        """The functional config: layers (with the names of the layers feeding each),
        input and output layer names (see `fastconv.saving`)."""
        from fastconv.saving import serialization
        return serialization.functional_config(self)

    @classmethod
    def from_config(cls, config, custom_objects=None):
        """A new functional model from `get_config()`'s output.

        Raises:
            ValueError: unknown layer classes or an inconsistent config.
        """
        from fastconv.saving import serialization
        return serialization.functional_from_config(cls, config, custom_objects)

    def save(self, filepath, overwrite=True, include_optimizer=True, **kwargs):
        """Saves the model (architecture, weights, compile arguments, optimizer state).

        Any file name works ("model.keras", "best.h5"); the file is always
        fastconv's zip format, written atomically. See `fastconv.saving.save_model`.
        """
        from fastconv import saving
        saving.save_model(self, filepath, overwrite=overwrite,
                          include_optimizer=include_optimizer, **kwargs)

    def save_weights(self, filepath, overwrite=True, **kwargs):
        """Saves only the weights. See `fastconv.saving.save_weights`."""
        from fastconv import saving
        saving.save_weights(self, filepath, overwrite=overwrite, **kwargs)

    def load_weights(self, filepath, skip_mismatch=False, **kwargs):
        """Loads weights saved by `save_weights` or `save`, layer by layer in order.

        Raises:
            ValueError: a bad file, or a layer whose weight shapes differ (named).
        """
        from fastconv import saving
        saving.load_weights(self, filepath, skip_mismatch=skip_mismatch, **kwargs)

    def __repr__(self):
        return f"<{type(self).__name__} name={self.name}, built={self.built}>"
