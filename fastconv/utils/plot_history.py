"""`plot_history`: training curves from a `History`, drawn with matplotlib."""


def plot_history(history, metrics=None, path=None):
    """Plots training curves (and their `val_` versions) as the Keras tutorials draw them.

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
        ValueError: a requested metric is not in the history.
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
        epochs = range(1, len(logs[name]) + 1)
        axis.plot(epochs, logs[name], label=f"training {name}")
        if "val_" + name in logs:
            val = logs["val_" + name]
            axis.plot(range(1, len(val) + 1), val, label=f"validation {name}")
        axis.set_xlabel("epoch")
        axis.set_ylabel(name)
        axis.set_title(name)
        axis.legend()
    figure.tight_layout()
    if path is not None:
        figure.savefig(path)
    return figure
