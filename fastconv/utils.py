"""Keras-style utilities: one-hot encoding, seeding, and the progress bar."""

import numpy as np

from fastconv import backend
from fastconv.callbacks import Progbar

__all__ = ["to_categorical", "set_random_seed", "plot_history", "Progbar"]


def to_categorical(y, num_classes=None, dtype="float32"):
    """One-hot encodes integer class labels.

    Args:
        y: integer labels (any int dtype, or floats holding integers), of
            any shape; a trailing axis of size 1, as in `(n, 1)`, is dropped
            (Keras semantics).
        num_classes: the number of classes; defaults to `max(y) + 1`.
        dtype: the output dtype.

    Returns:
        An array of shape `y.shape + (num_classes,)` (after dropping a
        trailing 1), with a 1 at each label's index.

    Raises:
        ValueError: for non-integer or negative labels, or labels
            `>= num_classes`.

    Example:
        >>> to_categorical([0, 2, 1], num_classes=3)
        array([[1., 0., 0.],
               [0., 0., 1.],
               [0., 1., 0.]], dtype=float32)
    """
    y = np.asarray(y)
    if y.dtype.kind not in "biuf":
        raise ValueError(f"`y` must hold integer class labels. Received: y.dtype={y.dtype}")
    if y.dtype.kind == "f":
        if not np.all(np.isfinite(y)) or np.any(y != np.floor(y)):
            raise ValueError("`y` must hold integer class labels; it holds non-integer values.")
    shape = y.shape
    if len(shape) > 1 and shape[-1] == 1:
        shape = shape[:-1]
    labels = y.reshape(-1).astype(np.int64)
    if labels.size and labels.min() < 0:
        raise ValueError(f"Class labels must be >= 0. Received: min(y)={labels.min()}")
    if num_classes is None or num_classes == 0:
        num_classes = int(labels.max()) + 1 if labels.size else 0
    elif isinstance(num_classes, bool) or not isinstance(num_classes, (int, np.integer)) or num_classes < 0:
        raise ValueError(f"`num_classes` must be a positive int. Received: num_classes={num_classes!r}")
    elif labels.size and labels.max() >= num_classes:
        raise ValueError(
            f"Class labels must be < num_classes={num_classes}. Received: max(y)={labels.max()}"
        )
    categorical = np.zeros((labels.size, int(num_classes)), dtype=dtype)
    categorical[np.arange(labels.size), labels] = 1
    return categorical.reshape(shape + (int(num_classes),))


def set_random_seed(seed):
    """Seeds fastconv's generator, NumPy's global generator and Python's `random`.

    Args:
        seed: an int.
    """
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise ValueError(f"Expected `seed` argument to be an integer. Received: seed={seed!r}")
    backend.set_seed(int(seed))


def plot_history(history, metrics=None, path=None):
    """Plots training curves (and their `val_` versions) as the Keras tutorials draw them.

    Each value is drawn at the epoch it was logged at: with `fit(...,
    validation_freq=n)` the validation curve has a point every n epochs (read
    from the History's params; for a bare dict, n is inferred from the lengths),
    and a fit resumed with `initial_epoch` starts at its first epoch.

    Args:
        history: the `History` returned by `fit`, or its `.history` dict.
        metrics: the names to plot, one panel each (default: "loss", then
            every other key without a "val_" prefix, e.g. "accuracy").
        path: optional file name to save the figure to (PNG, PDF, ...).

    Returns:
        The matplotlib `Figure`.

    Raises:
        ImportError: matplotlib is not installed (`pip install matplotlib`,
            or `pip install fastconv[plot]`).
        ValueError: a requested metric is not in the history, or validation
            values that cannot be placed on epochs.
    """
    try:
        import matplotlib.pyplot as plt
    except ImportError as error:
        raise ImportError(
            "fastconv.utils.plot_history needs matplotlib: `pip install matplotlib` "
            "(or `pip install fastconv[plot]`)."
        ) from error
    logs = getattr(history, "history", history)
    if not isinstance(logs, dict) or not logs:
        raise ValueError("`history` must be the History returned by `fit` (or its .history "
                         f"dict) with at least one entry. Received: {history!r}")
    if metrics is None:
        metrics = [k for k in logs if not k.startswith("val_")]
        metrics.sort(key=lambda k: k != "loss")
    elif isinstance(metrics, str):
        metrics = [metrics]
    missing = [m for m in metrics if m not in logs]
    if missing:
        raise ValueError(f"Metrics {missing} are not in the history; it holds {sorted(logs)}.")
    figure, axes = plt.subplots(1, len(metrics), figsize=(5 * len(metrics), 4), squeeze=False)
    for axis, name in zip(axes[0], metrics):
        epochs = _epochs(history, len(logs[name]))
        axis.plot(epochs, logs[name], label=f"training {name}")
        if "val_" + name in logs:
            val = logs["val_" + name]
            axis.plot(_validation_epochs(history, epochs, len(val), name), val,
                      label=f"validation {name}")
        axis.set_xlabel("epoch")
        axis.set_ylabel(name)
        axis.set_title(name)
        axis.legend()
    figure.tight_layout()
    if path is not None:
        figure.savefig(path)
    return figure


def _epochs(history, count):
    """The 1-based epoch numbers of `count` per-epoch values."""
    epoch = getattr(history, "epoch", None)
    if epoch is not None and len(epoch) == count:
        return [e + 1 for e in epoch]
    return list(range(1, count + 1))


def _validation_epochs(history, epochs, count, name):
    """The epochs (among `epochs`) at which `fit` logged the `count` validation values."""
    if count == len(epochs):
        return epochs
    freq = getattr(history, "params", {}).get("validation_freq")
    if freq is None:  # a bare dict: infer the frequency when only one fits
        fits = [f for f in range(1, len(epochs) + 1) if len(epochs) // f == count]
        freq = fits[0] if len(fits) == 1 else None
    placed = [e for e in epochs if freq and e % freq == 0]
    if len(placed) != count:
        raise ValueError(
            f"Cannot tell at which epochs the {count} values of 'val_{name}' were logged "
            f"({len(epochs)} epochs of '{name}'). Pass the History returned by `fit`.")
    return placed
