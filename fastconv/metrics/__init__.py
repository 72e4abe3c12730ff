"""Keras-style streaming metrics: update on each batch, read the running result.

`get("accuracy", loss=...)` resolves accuracy as Keras does: binary,
sparse categorical or categorical accuracy, keeping the name the user wrote.
"""

import numpy as np

from fastconv import initializers
from fastconv.autodiff import Variable

__all__ = [
    "Metric", "Mean", "MeanMetricWrapper", "Accuracy", "BinaryAccuracy",
    "CategoricalAccuracy", "SparseCategoricalAccuracy", "MeanSquaredError",
    "MeanAbsoluteError", "MeanAbsolutePercentageError", "accuracy", "binary_accuracy", "categorical_accuracy",
    "sparse_categorical_accuracy", "TruePositives", "FalsePositives", "TrueNegatives",
    "FalseNegatives", "Precision", "Recall", "AUC", "get",
]


class Metric:
    """Base class: `update_state(y_true, y_pred, sample_weight=None)`,
    `result() -> float`, `reset_state()`, and a `name`.

    A custom metric (Keras 3's way) keeps its state in Variables made with
    `add_variable` (or `add_weight`) in `__init__`, updates them with `assign`/
    `assign_add` in `update_state`, and computes `result()` from them; the default
    `reset_state()` sets every such Variable back to zero.

    `_direction` ("up" or "down") tells callbacks such as EarlyStopping in
    mode "auto" whether larger values are better.

    Example:
        >>> class Count(Metric):
        ...     def __init__(self, name="count"):
        ...         super().__init__(name=name)
        ...         self.seen = self.add_variable(shape=(), initializer="zeros", name="seen")
        ...     def update_state(self, y_true, y_pred, sample_weight=None):
        ...         self.seen.assign_add(len(y_pred))
        ...     def result(self):
        ...         return self.seen.numpy()
        >>> m = Count()
        >>> m.update_state([0, 1], [0, 1]); float(m.result())
        2.0
        >>> m.reset_state(); float(m.result())
        0.0
    """

    _direction = "down"

    def __init__(self, name=None, dtype=None):
        self.name = name if name is not None else type(self).__name__.lower()
        self.dtype = dtype or "float32"
        self._variables = []

    def add_variable(self, shape, initializer, dtype=None, aggregation="sum", name=None):
        """A state Variable of the metric (Keras 3's signature); `reset_state` zeroes it."""
        del aggregation  # one device: nothing to aggregate
        dtype = np.dtype(dtype or self.dtype)
        shape = tuple(shape)
        values = initializers.get(initializer)(shape, dtype=dtype)
        variable = Variable(np.asarray(values, dtype=dtype).reshape(shape), dtype=dtype,
                            trainable=False, name=name or "variable",
                            path=f"{self.name}/{name or 'variable'}")
        vars(self).setdefault("_variables", []).append(variable)
        return variable

    def add_weight(self, shape=(), initializer=None, dtype=None, name=None):
        """`add_variable` with Keras 3's `Metric.add_weight` defaults (zeros, a scalar)."""
        return self.add_variable(shape, initializer or "zeros", dtype=dtype, name=name)

    @property
    def variables(self):
        """The Variables made with `add_variable` / `add_weight`."""
        return list(vars(self).get("_variables", ()))

    def update_state(self, y_true, y_pred, sample_weight=None):
        raise NotImplementedError

    def result(self):
        raise NotImplementedError

    def reset_state(self):
        """Sets every state Variable to zero (a metric with other state overrides this)."""
        variables = self.variables
        if not variables:
            raise NotImplementedError(
                f"Metric {type(self).__name__} keeps no Variables (add_variable) and does "
                "not define `reset_state`.")
        for variable in variables:
            variable.assign(np.zeros(variable.shape, variable.dtype))

    def reset_states(self):  # Keras 2 spelling
        self.reset_state()

    def __call__(self, y_true, y_pred, sample_weight=None):
        """Updates the state with a batch and returns the running result."""
        self.update_state(y_true, y_pred, sample_weight=sample_weight)
        return self.result()

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __repr__(self):
        return f"<{type(self).__name__} name={self.name!r}>"


_PLAIN_NUMBERS = (float, int)  # exact types: no bool, no NumPy scalar


class Mean(Metric):
    """The (sample-weighted) running mean of the values it is given.

    Values with more than one axis are first averaged per sample (over all
    axes but the first); then `result = sum(w * v) / sum(w)`.

    Example:
        >>> m = Mean()
        >>> m.update_state([1, 3, 5, 7])
        >>> m.result()
        4.0
        >>> m.update_state([2.0], sample_weight=[4.0])
        >>> m.result()
        3.0
    """

    def __init__(self, name="mean", dtype=None):
        super().__init__(name=name, dtype=dtype)
        self.reset_state()

    def reset_state(self):
        self.total = 0.0
        self.count = 0.0

    def update_state(self, values, sample_weight=None):
        if type(values) in _PLAIN_NUMBERS and type(sample_weight) in _PLAIN_NUMBERS:
            # a loss value and its batch size (a training loop's loss tracker, every batch):
            # the same float64 products as the array path below, without its NumPy calls
            self.total += float(values) * float(sample_weight)
            self.count += float(sample_weight)
            return
        values = np.asarray(values, dtype=np.float64)
        if values.ndim > 1:
            values = values.reshape(values.shape[0], -1).mean(axis=1)
        if sample_weight is None:
            self.total += float(values.sum())
            self.count += float(values.size)
            return
        weights = np.asarray(sample_weight, dtype=np.float64)
        if weights.ndim > values.ndim and weights.shape[-1] == 1:
            weights = weights.reshape(weights.shape[:-1])
        try:
            weights = np.broadcast_to(weights, values.shape)
        except ValueError:
            raise ValueError(
                f"`sample_weight` of shape {np.shape(sample_weight)} does not match the "
                f"values of shape {values.shape}."
            ) from None
        self.total += float(np.sum(values * weights))
        self.count += float(np.sum(weights))

    def result(self):
        return self.total / self.count if self.count else 0.0


class MeanMetricWrapper(Mean):
    """A `Mean` of `fn(y_true, y_pred)`, a per-sample metric function."""

    def __init__(self, fn, name=None, dtype=None, **kwargs):
        super().__init__(name=name or getattr(fn, "__name__", "mean_metric"), dtype=dtype)
        self._fn = fn
        self._fn_kwargs = kwargs

    def update_state(self, y_true, y_pred, sample_weight=None):
        super().update_state(self._fn(y_true, y_pred, **self._fn_kwargs), sample_weight=sample_weight)

    def get_config(self):
        config = super().get_config()
        config.update(self._fn_kwargs)
        return config


def _labels_like(y_true, y_pred):
    """Sparse labels squeezed to `y_pred.shape[:-1]` (Keras drops a trailing 1)."""
    y_true = np.asarray(y_true)
    if y_true.ndim == y_pred.ndim and y_true.shape[-1] == 1:
        y_true = y_true.reshape(y_true.shape[:-1])
    return y_true


def _same_rank(y_true, y_pred):
    if y_true.ndim == y_pred.ndim - 1 and y_pred.shape[-1] == 1:
        return y_true.reshape(y_true.shape + (1,))
    if y_true.ndim == y_pred.ndim + 1 and y_true.shape[-1] == 1:
        return y_true.reshape(y_true.shape[:-1])
    return y_true


def sparse_categorical_accuracy(y_true, y_pred):
    """Per-sample 1.0 where `argmax(y_pred) == y_true`, else 0.0."""
    y_pred = np.asarray(y_pred)
    y_true = _labels_like(y_true, y_pred)
    return (np.argmax(y_pred, axis=-1) == y_true).astype(np.float32)


def categorical_accuracy(y_true, y_pred):
    """Per-sample 1.0 where `argmax(y_pred) == argmax(y_true)`, else 0.0."""
    return (np.argmax(np.asarray(y_pred), axis=-1)
            == np.argmax(np.asarray(y_true), axis=-1)).astype(np.float32)


def binary_accuracy(y_true, y_pred, threshold=0.5):
    """Mean over the last axis of `(y_pred > threshold) == y_true`."""
    y_pred = np.asarray(y_pred)
    y_true = _same_rank(np.asarray(y_true), y_pred)
    hits = (y_true == (y_pred > threshold).astype(y_pred.dtype)).astype(np.float32)
    return hits.mean(axis=-1) if hits.ndim > 1 else hits


def accuracy(y_true, y_pred):
    """Mean over the last axis of `y_true == y_pred` (exact equality)."""
    y_pred = np.asarray(y_pred)
    y_true = _same_rank(np.asarray(y_true), y_pred)
    hits = (y_true == y_pred).astype(np.float32)
    return hits.mean(axis=-1) if hits.ndim > 1 else hits


class Accuracy(MeanMetricWrapper):
    """How often predictions equal labels exactly."""

    _direction = "up"

    def __init__(self, name="accuracy", dtype=None):
        super().__init__(accuracy, name=name, dtype=dtype)


class BinaryAccuracy(MeanMetricWrapper):
    """How often `y_pred > threshold` matches binary labels.

    Example:
        >>> m = BinaryAccuracy()
        >>> m.update_state([[1], [1], [0], [0]], [[0.98], [1], [0], [0.6]])
        >>> m.result()
        0.75
    """

    _direction = "up"

    def __init__(self, name="binary_accuracy", dtype=None, threshold=0.5):
        super().__init__(binary_accuracy, name=name, dtype=dtype, threshold=threshold)
        self.threshold = threshold


class CategoricalAccuracy(MeanMetricWrapper):
    """How often `argmax(y_pred)` matches `argmax` of one-hot labels."""

    _direction = "up"

    def __init__(self, name="categorical_accuracy", dtype=None):
        super().__init__(categorical_accuracy, name=name, dtype=dtype)


class SparseCategoricalAccuracy(MeanMetricWrapper):
    """How often `argmax(y_pred)` matches integer labels.

    Example:
        >>> m = SparseCategoricalAccuracy()
        >>> m.update_state([[2], [1]], [[0.1, 0.6, 0.3], [0.05, 0.95, 0]])
        >>> m.result()
        0.5
    """

    _direction = "up"

    def __init__(self, name="sparse_categorical_accuracy", dtype=None):
        super().__init__(sparse_categorical_accuracy, name=name, dtype=dtype)

    def update_state(self, y_true, y_pred, sample_weight=None):
        if sample_weight is None:
            y_pred = np.asarray(y_pred)
            hits = y_pred.argmax(axis=-1) == _labels_like(y_true, y_pred)
            if hits.ndim <= 1:  # one 0/1 value per sample: their float64 sum is the count
                self.total += float(np.count_nonzero(hits))
                self.count += float(hits.size)
                return
        super().update_state(y_true, y_pred, sample_weight=sample_weight)


def mean_squared_error(y_true, y_pred):
    y_pred = np.asarray(y_pred, dtype=np.float64)
    diff = np.square(y_pred - _same_rank(np.asarray(y_true, dtype=np.float64), y_pred))
    return diff.mean(axis=-1) if diff.ndim > 1 else diff


def mean_absolute_error(y_true, y_pred):
    y_pred = np.asarray(y_pred, dtype=np.float64)
    diff = np.abs(y_pred - _same_rank(np.asarray(y_true, dtype=np.float64), y_pred))
    return diff.mean(axis=-1) if diff.ndim > 1 else diff


def mean_absolute_percentage_error(y_true, y_pred):
    # Keras divides by max(|y_true|, epsilon) so zero targets give large, finite terms
    y_pred = np.asarray(y_pred, dtype=np.float64)
    y_true = _same_rank(np.asarray(y_true, dtype=np.float64), y_pred)
    diff = 100.0 * np.abs((y_true - y_pred) / np.maximum(np.abs(y_true), 1e-7))
    return diff.mean(axis=-1) if diff.ndim > 1 else diff


class MeanSquaredError(MeanMetricWrapper):
    def __init__(self, name="mean_squared_error", dtype=None):
        super().__init__(mean_squared_error, name=name, dtype=dtype)


class MeanAbsoluteError(MeanMetricWrapper):
    def __init__(self, name="mean_absolute_error", dtype=None):
        super().__init__(mean_absolute_error, name=name, dtype=dtype)


class MeanAbsolutePercentageError(MeanMetricWrapper):
    """Mean of `100 * |y_true - y_pred| / max(|y_true|, 1e-7)` over the last axis and the batch.

    Example:
        >>> m = MeanAbsolutePercentageError()
        >>> m.update_state([[1.0, 2.0], [4.0, 0.0]], [[1.5, 2.0], [2.0, 0.0]])
        >>> round(float(m.result()), 4)
        25.0
    """

    def __init__(self, name="mean_absolute_percentage_error", dtype=None):
        super().__init__(mean_absolute_percentage_error, name=name, dtype=dtype)


# after Metric is defined: the confusion metrics subclass it
from fastconv.metrics.confusion_metrics import (  # noqa: E402
    AUC,
    FalseNegatives,
    FalsePositives,
    Precision,
    Recall,
    TrueNegatives,
    TruePositives,
)


def _loss_kind(loss):
    """'binary', 'sparse', 'categorical' or None, from a loss object or name."""
    if loss is None:
        return None
    name = loss if isinstance(loss, str) else getattr(loss, "name", None) or type(loss).__name__
    name = str(name).lower().replace("_", "")
    if "sparsecategoricalcrossentropy" in name:
        return "sparse"
    if "categoricalcrossentropy" in name:
        return "categorical"
    if "binarycrossentropy" in name:
        return "binary"
    return None


def _kind_from_shapes(y_true_shape, y_pred_shape):
    """Keras 3's rule (trainers/compile_utils.is_binary_or_sparse_categorical)."""
    if y_pred_shape[-1] == 1:
        return "binary"
    if len(y_true_shape) < len(y_pred_shape) or (y_true_shape[-1] == 1 and y_pred_shape[-1] > 1):
        return "sparse"
    return "categorical"


_ACCURACIES = {
    "binary": BinaryAccuracy,
    "sparse": SparseCategoricalAccuracy,
    "categorical": CategoricalAccuracy,
}


class _AutoAccuracy(Mean):
    """'accuracy' whose kind is chosen from the first batch's shapes (Keras 3)."""

    _direction = "up"

    def __init__(self, name="accuracy", dtype=None):
        super().__init__(name=name, dtype=dtype)
        self.resolved = None

    def update_state(self, y_true, y_pred, sample_weight=None):
        if self.resolved is None:
            kind = _kind_from_shapes(np.shape(y_true), np.shape(y_pred))
            self.resolved = _ACCURACIES[kind](name=self.name)
        self.resolved.update_state(y_true, y_pred, sample_weight=sample_weight)

    def result(self):
        return self.resolved.result() if self.resolved is not None else 0.0

    def reset_state(self):
        if getattr(self, "resolved", None) is not None:
            self.resolved.reset_state()


_BY_NAME = {
    "sparse_categorical_accuracy": SparseCategoricalAccuracy,
    "categorical_accuracy": CategoricalAccuracy,
    "binary_accuracy": BinaryAccuracy,
    "mean_squared_error": MeanSquaredError,
    "mse": MeanSquaredError,
    "mean_absolute_error": MeanAbsoluteError,
    "mae": MeanAbsoluteError,
    "mean_absolute_percentage_error": MeanAbsolutePercentageError,
    "mape": MeanAbsolutePercentageError,
    "precision": Precision,
    "recall": Recall,
    "auc": AUC,
    "true_positives": TruePositives,
    "false_positives": FalsePositives,
    "true_negatives": TrueNegatives,
    "false_negatives": FalseNegatives,
}
_BY_CLASS_NAME = {cls.__name__.lower(): cls for cls in
                  (Mean, Accuracy, BinaryAccuracy, CategoricalAccuracy,
                   SparseCategoricalAccuracy, MeanSquaredError, MeanAbsoluteError,
                   MeanAbsolutePercentageError, TruePositives, FalsePositives, TrueNegatives,
                   FalseNegatives, Precision, Recall, AUC)}
_BY_FUNCTION = {
    sparse_categorical_accuracy: SparseCategoricalAccuracy,
    categorical_accuracy: CategoricalAccuracy,
    binary_accuracy: BinaryAccuracy,
    accuracy: Accuracy,
    mean_squared_error: MeanSquaredError,
    mean_absolute_error: MeanAbsoluteError,
    mean_absolute_percentage_error: MeanAbsolutePercentageError,
}


def get(identifier, loss=None, y_true=None, y_pred=None):
    """Resolves a metric from a name, config dict, class, function or instance.

    "accuracy" / "acc" (case-insensitive) become binary, sparse categorical
    or categorical accuracy, named as written ("accuracy" or "acc"):

    - from the loss, as Keras 2 did: binary crossentropy -> binary accuracy,
      sparse categorical crossentropy -> sparse categorical accuracy,
      categorical crossentropy -> categorical accuracy;
    - else from the shapes when `y_true`/`y_pred` (arrays or shapes) are
      given, as Keras 3 does: `y_pred.shape[-1] == 1` -> binary; labels of
      lower rank, or with a last axis of 1 against several classes -> sparse;
      otherwise categorical;
    - else a metric that applies the shape rule to its first batch.

    Args:
        identifier: a name ('accuracy', 'acc', 'sparse_categorical_accuracy',
            'categorical_accuracy', 'binary_accuracy', 'mse', 'mae', ...),
            a dict `{"class_name", "config"}`, a `Metric` class or instance,
            or one of this module's metric functions.
        loss: the compiled loss (a `Loss`, its name, or None).
        y_true, y_pred: sample targets and predictions, or their shapes.

    Returns:
        A `Metric` instance.

    Raises:
        ValueError: for an unknown identifier.
    """
    if isinstance(identifier, Metric):
        return identifier
    if isinstance(identifier, str):
        key = identifier.lower()
        if key in ("accuracy", "acc"):
            kind = _loss_kind(loss)
            if kind is None and y_true is not None and y_pred is not None:
                kind = _kind_from_shapes(_shape(y_true), _shape(y_pred))
            if kind is None:
                return _AutoAccuracy(name=identifier)
            return _ACCURACIES[kind](name=identifier)
        cls = _BY_NAME.get(key) or _BY_CLASS_NAME.get(key)
        if cls is None:
            valid = ", ".join(repr(name) for name in ("accuracy", "acc", *_BY_NAME))
            raise ValueError(f"Unknown metric: {identifier!r}. Valid names are {valid}.")
        return cls(name=identifier) if key in _BY_NAME else cls()
    if isinstance(identifier, dict):
        cls = _BY_CLASS_NAME.get(str(identifier.get("class_name", "")).lower())
        if cls is None:
            raise ValueError(f"Unknown metric config: {identifier!r}")
        return cls.from_config(dict(identifier.get("config") or {}))
    if isinstance(identifier, type) and issubclass(identifier, Metric):
        return identifier()
    if identifier in _BY_FUNCTION:
        return _BY_FUNCTION[identifier]()
    if callable(identifier):
        return MeanMetricWrapper(identifier)
    raise ValueError(f"Could not interpret metric identifier: {identifier!r}")


def _shape(value):
    if isinstance(value, tuple) and all(isinstance(d, (int, type(None))) for d in value):
        return value
    return np.shape(value)
