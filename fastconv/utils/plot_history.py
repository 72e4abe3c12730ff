"""`plot_history`: training curves from a `History`, drawn with matplotlib."""


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
