"""Keras-style losses with the analytic gradients the model's backward pass needs.

Each `Loss` gives the batch loss (`loss(y_true, y_pred)`, reduced as Keras's
default "sum_over_batch_size": the mean of the per-sample losses), its
gradient with respect to `y_pred` (`loss.gradient`), and for the
crossentropies the fused gradient with respect to the logits feeding a final
softmax (resp. sigmoid) layer (`loss.logits_gradient`), which is both faster
and better conditioned than chaining through the activation. A training step takes both the
value and the gradient from `loss.value_and_gradient`, which checks the targets once.

Values follow Keras 3 (`keras/src/backend/numpy/nn.py`): probability inputs of
the categorical losses are renormalized to sum to 1 along the class axis and
clipped to `[1e-7, 1 - 1e-7]` (the gradient is zero where the clip is
active); `from_logits=True` uses log-sum-exp forms.

One module per family, as Keras 3 groups them: `loss.py` (the base and shared input
checks), `categorical.py`, `elementwise.py`; this module resolves identifiers.
"""

from fastconv.losses.categorical import (
    CategoricalCrossentropy,
    SparseCategoricalCrossentropy,
    categorical_crossentropy,
    sparse_categorical_crossentropy,
)
from fastconv.losses.elementwise import (
    BinaryCrossentropy,
    MeanSquaredError,
    binary_crossentropy,
    mean_squared_error,
)
from fastconv.losses.loss import Loss, LossFunctionWrapper
from fastconv.losses.regression import (
    CosineSimilarity,
    Huber,
    KLDivergence,
    LogCosh,
    MeanAbsoluteError,
    MeanAbsolutePercentageError,
    MeanSquaredLogarithmicError,
    cosine_similarity,
    huber,
    kl_divergence,
    log_cosh,
    mean_absolute_error,
    mean_absolute_percentage_error,
    mean_squared_logarithmic_error,
)

__all__ = [
    "Loss", "LossFunctionWrapper", "SparseCategoricalCrossentropy", "CategoricalCrossentropy",
    "BinaryCrossentropy", "MeanSquaredError", "MeanAbsoluteError", "MeanAbsolutePercentageError",
    "MeanSquaredLogarithmicError", "Huber", "LogCosh", "CosineSimilarity", "KLDivergence",
    "sparse_categorical_crossentropy", "categorical_crossentropy",
    "binary_crossentropy", "mean_squared_error", "mse", "mean_absolute_error", "mae",
    "mean_absolute_percentage_error", "mape", "mean_squared_logarithmic_error", "msle", "huber",
    "log_cosh", "logcosh", "cosine_similarity", "kl_divergence", "kld", "get",
]

mse = MSE = mean_squared_error
mae = MAE = mean_absolute_error
mape = MAPE = mean_absolute_percentage_error
msle = MSLE = mean_squared_logarithmic_error
kld = KLD = kl_divergence
logcosh = log_cosh

_BY_NAME = {
    "sparse_categorical_crossentropy": SparseCategoricalCrossentropy,
    "categorical_crossentropy": CategoricalCrossentropy,
    "binary_crossentropy": BinaryCrossentropy,
    "mean_squared_error": MeanSquaredError,
    "mse": MeanSquaredError,
    "mean_absolute_error": MeanAbsoluteError,
    "mae": MeanAbsoluteError,
    "mean_absolute_percentage_error": MeanAbsolutePercentageError,
    "mape": MeanAbsolutePercentageError,
    "mean_squared_logarithmic_error": MeanSquaredLogarithmicError,
    "msle": MeanSquaredLogarithmicError,
    "huber": Huber,
    "huber_loss": Huber,
    "log_cosh": LogCosh,
    "logcosh": LogCosh,
    "cosine_similarity": CosineSimilarity,
    "kl_divergence": KLDivergence,
    "kld": KLDivergence,
    "kullback_leibler_divergence": KLDivergence,
}
_BY_CLASS_NAME = {cls.__name__.lower(): cls for cls in set(_BY_NAME.values())}
_BY_FUNCTION = {
    sparse_categorical_crossentropy: SparseCategoricalCrossentropy,
    categorical_crossentropy: CategoricalCrossentropy,
    binary_crossentropy: BinaryCrossentropy,
    mean_squared_error: MeanSquaredError,
    mean_absolute_error: MeanAbsoluteError,
    mean_absolute_percentage_error: MeanAbsolutePercentageError,
    mean_squared_logarithmic_error: MeanSquaredLogarithmicError,
    huber: Huber,
    log_cosh: LogCosh,
    cosine_similarity: CosineSimilarity,
    kl_divergence: KLDivergence,
}


def serialize(loss):
    return {"class_name": type(loss).__name__, "config": loss.get_config()}


def get(identifier):
    """Resolves a loss from a name, a config dict, a class, a function or an instance.

    Args:
        identifier: a snake_case name ('sparse_categorical_crossentropy',
            'categorical_crossentropy', 'binary_crossentropy', 'mse',
            'mean_squared_error', 'mae', 'mape', 'msle', 'huber', 'log_cosh',
            'cosine_similarity', 'kl_divergence', 'kld', ...), a class name ('SparseCategoricalCrossentropy'),
            a dict `{"class_name", "config"}`, a `Loss` subclass or instance,
            one of this module's loss functions, or None.

    Returns:
        A `Loss` instance (None for None).

    Raises:
        ValueError: for an unknown name.

    A plain function `fn(y_true, y_pred)` of per-sample losses becomes a
    `LossFunctionWrapper`, differentiated by the gradient tape.
    """
    if identifier is None or isinstance(identifier, Loss):
        return identifier
    if isinstance(identifier, str):
        key = identifier.lower()
        cls = _BY_NAME.get(key) or _BY_CLASS_NAME.get(key)
        if cls is None:
            valid = ", ".join(repr(name) for name in _BY_NAME)
            raise ValueError(f"Unknown loss: {identifier!r}. Valid names are {valid}.")
        return cls()
    if isinstance(identifier, dict):
        if "class_name" not in identifier:
            raise ValueError(f"A loss config needs a 'class_name' key. Received: {identifier!r}")
        cls = _BY_CLASS_NAME.get(str(identifier["class_name"]).lower())
        if cls is None:
            raise ValueError(f"Unknown loss class: {identifier['class_name']!r}")
        return cls.from_config(dict(identifier.get("config") or {}))
    if isinstance(identifier, type) and issubclass(identifier, Loss):
        return identifier()
    if identifier in _BY_FUNCTION:
        return _BY_FUNCTION[identifier]()
    if callable(identifier):
        return LossFunctionWrapper(identifier)
    raise ValueError(f"Could not interpret loss identifier: {identifier!r}")
