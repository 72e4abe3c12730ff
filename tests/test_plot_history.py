"""fastconv.utils.plot_history: matplotlib optional, clear message without it."""

import builtins

import pytest

from fastconv import utils

HISTORY = {"loss": [1.0, 0.5], "accuracy": [0.5, 0.8], "val_loss": [1.1, 0.7],
           "val_accuracy": [0.4, 0.7]}


def test_missing_matplotlib_names_the_install_command(monkeypatch):
    real_import = builtins.__import__

    def no_matplotlib(name, *args, **kwargs):
        if name.startswith("matplotlib"):
            raise ImportError("No module named 'matplotlib'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_matplotlib)
    with pytest.raises(ImportError, match=r"pip install matplotlib.*fastconv\[plot\]"):
        utils.plot_history(HISTORY)


def test_plots_loss_and_accuracy_with_validation(tmp_path):
    pytest.importorskip("matplotlib")
    import matplotlib
    matplotlib.use("Agg")
    figure = utils.plot_history(HISTORY, path=tmp_path / "history.png")
    assert [axis.get_title() for axis in figure.axes] == ["loss", "accuracy"]
    assert all(len(axis.lines) == 2 for axis in figure.axes)
    assert (tmp_path / "history.png").stat().st_size > 0
    with pytest.raises(ValueError, match="not in the history"):
        utils.plot_history(HISTORY, metrics=["auc"])
