"""Callbacks, driven by a small fake training loop and a fake model."""

import csv
import io
import math
import sys

import numpy as np
import pytest

from fastconv import callbacks, optimizers


class FakeModel:
    """What callbacks use: weights, stop_training, optimizer (and history)."""

    def __init__(self):
        self.weights = [np.zeros(2)]
        self.stop_training = False
        self.optimizer = optimizers.SGD(learning_rate=0.1)

    def get_weights(self):
        return [w.copy() for w in self.weights]

    def set_weights(self, weights):
        self.weights = [np.array(w) for w in weights]


def fit(model, cbs, epoch_logs, steps=2, verbose=0):
    """Runs the hook sequence of Keras's fit; weights[0] records the epoch index."""
    cb_list = callbacks.CallbackList(cbs, model=model, add_history=True, add_progbar=verbose != 0,
                                     verbose=verbose, epochs=len(epoch_logs), steps=steps)
    model.stop_training = False
    cb_list.on_train_begin()
    for epoch, logs in enumerate(epoch_logs):
        cb_list.on_epoch_begin(epoch)
        for batch in range(steps):
            cb_list.on_train_batch_begin(batch)
            model.weights = [np.full(2, float(epoch))]
            cb_list.on_train_batch_end(batch, {"loss": logs.get("loss", 0.0)})
            if model.stop_training:
                break
        cb_list.on_epoch_end(epoch, dict(logs))
        if model.stop_training:
            break
    cb_list.on_train_end()
    return cb_list.history


def test_history_records_logs_and_sets_model_history():
    model = FakeModel()
    history = fit(model, [], [{"loss": 1.0, "accuracy": 0.5}, {"loss": 0.5, "accuracy": 0.75}])
    assert history.history == {"loss": [1.0, 0.5], "accuracy": [0.5, 0.75]}
    assert history.epoch == [0, 1]
    assert model.history is history
    assert history.params["epochs"] == 2 and history.model is model


def test_callback_list_order_and_every_hook():
    calls = []

    class Recorder(callbacks.Callback):
        def __init__(self, tag):
            super().__init__()
            self.tag = tag

    hooks = [name for name in dir(callbacks.Callback) if name.startswith("on_")]
    for hook in hooks:
        def record(self, *args, _hook=hook, **kwargs):
            calls.append((self.tag, _hook))
        setattr(Recorder, hook, record)

    first, second = Recorder("a"), Recorder("b")
    cb_list = callbacks.CallbackList([first, second], model=FakeModel(), add_history=True,
                                     add_progbar=True, verbose=0, epochs=1, steps=1)
    # Keras 3 order: the user's callbacks, then History, then the progress bar
    assert cb_list.callbacks[:2] == [first, second]
    assert isinstance(cb_list.callbacks[2], callbacks.History)
    assert isinstance(cb_list.callbacks[3], callbacks.ProgbarLogger)
    assert first.params == {"verbose": 0, "epochs": 1, "steps": 1}
    for hook in hooks:
        calls.clear()
        if hook.endswith(("_begin", "_end")) and ("batch" in hook or "epoch" in hook):
            getattr(cb_list, hook)(0, {})
        else:
            getattr(cb_list, hook)({})
        assert calls == [("a", hook), ("b", hook)], hook
    assert cb_list.model.history is cb_list.history


def test_train_batch_hooks_forward_to_legacy_batch_hooks():
    seen = []
    cb = callbacks.LambdaCallback(on_batch_end=lambda batch, logs: seen.append((batch, logs["loss"])))
    fit(FakeModel(), [cb], [{"loss": 3.0}], steps=2)
    assert seen == [(0, 3.0), (1, 3.0)]


def test_user_history_is_not_duplicated():
    history = callbacks.History()
    cb_list = callbacks.CallbackList([history], add_history=True)
    assert cb_list.callbacks == [history] and cb_list.history is history


def test_early_stopping_stops_after_patience():
    losses = [1.0, 0.5, 0.6, 0.55, 0.7, 0.4]
    model = FakeModel()
    stopper = callbacks.EarlyStopping(monitor="loss", patience=2)
    history = fit(model, [stopper], [{"loss": v} for v in losses])
    # best at epoch 1; epochs 2 and 3 do not improve -> stop at epoch 3
    assert history.epoch == [0, 1, 2, 3]
    assert stopper.stopped_epoch == 3 and stopper.best == 0.5
    assert model.weights[0][0] == 3  # no restoring asked


def test_early_stopping_restores_best_weights():
    model = FakeModel()
    stopper = callbacks.EarlyStopping(monitor="val_loss", patience=1, restore_best_weights=True, verbose=1)
    fit(model, [stopper], [{"val_loss": v} for v in (0.9, 0.3, 0.8, 0.2)])
    assert stopper.stopped_epoch == 2 and stopper.best_epoch == 1
    np.testing.assert_array_equal(model.weights[0], [1.0, 1.0])


def test_early_stopping_restores_even_without_stopping():
    model = FakeModel()
    stopper = callbacks.EarlyStopping(monitor="loss", patience=5, restore_best_weights=True)
    fit(model, [stopper], [{"loss": v} for v in (0.9, 0.3, 0.8)])
    assert stopper.stopped_epoch == 0
    np.testing.assert_array_equal(model.weights[0], [1.0, 1.0])


def test_early_stopping_min_delta_mode_auto_and_max():
    # accuracy is maximized in mode "auto"; +0.005 is below min_delta=0.01
    stopper = callbacks.EarlyStopping(monitor="val_accuracy", min_delta=0.01, patience=1)
    history = fit(FakeModel(), [stopper], [{"val_accuracy": v} for v in (0.5, 0.9, 0.905, 0.95)])
    assert history.epoch == [0, 1, 2]
    stopper = callbacks.EarlyStopping(monitor="score", mode="max", patience=0)
    history = fit(FakeModel(), [stopper], [{"score": v} for v in (1, 2, 3, 2, 5)])
    assert history.epoch == [0, 1, 2, 3]
    with pytest.raises(ValueError, match="maximized or minimized"):
        fit(FakeModel(), [callbacks.EarlyStopping(monitor="score")], [{"score": 1.0}])


def test_early_stopping_uses_metric_direction_from_model():
    class Metric:
        name = "score"
        _direction = "up"

    model = FakeModel()
    model.metrics = [Metric()]
    stopper = callbacks.EarlyStopping(monitor="val_score", patience=0)
    history = fit(model, [stopper], [{"val_score": v} for v in (1, 2, 1.5, 3)])
    assert history.epoch == [0, 1, 2]


def test_early_stopping_baseline_and_start_from_epoch():
    # Improvements that miss the baseline 0.1 do not restart the patience count.
    values = [{"loss": v} for v in (0.9, 0.8, 0.85, 0.85, 0.85)]
    history = fit(FakeModel(), [callbacks.EarlyStopping(monitor="loss", patience=2)], values)
    assert history.epoch == [0, 1, 2, 3]
    stopper = callbacks.EarlyStopping(monitor="loss", patience=2, baseline=0.1)
    history = fit(FakeModel(), [stopper], values)
    assert history.epoch == [0, 1, 2]
    # Warm-up epochs are ignored entirely.
    stopper = callbacks.EarlyStopping(monitor="loss", patience=0, start_from_epoch=2)
    history = fit(FakeModel(), [stopper], [{"loss": v} for v in (0.5, 0.9, 0.9, 1.0, 0.1)])
    assert history.epoch == [0, 1, 2, 3]


def test_early_stopping_missing_monitor_warns():
    with pytest.warns(UserWarning, match="not available"):
        history = fit(FakeModel(), [callbacks.EarlyStopping(patience=0)], [{"loss": 1.0}] * 3)
    assert history.epoch == [0, 1, 2]


def test_reduce_lr_on_plateau():
    model = FakeModel()
    reducer = callbacks.ReduceLROnPlateau(monitor="loss", factor=0.5, patience=2, min_lr=0.02, verbose=1)
    history = fit(model, [reducer], [{"loss": v} for v in (1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0)])
    # reductions after epochs 2, 4, 6: 0.1 -> 0.05 -> 0.025 -> 0.02 (min_lr)
    assert history.history["learning_rate"] == pytest.approx([0.1, 0.1, 0.1, 0.05, 0.05, 0.025, 0.025])
    assert model.optimizer.learning_rate == pytest.approx(0.02)


def test_reduce_lr_cooldown_and_accuracy_mode():
    model = FakeModel()
    reducer = callbacks.ReduceLROnPlateau(monitor="val_acc", factor=0.1, patience=1, cooldown=2)
    fit(model, [reducer], [{"val_acc": v} for v in (0.5, 0.6, 0.6, 0.6, 0.6)])
    # "acc" is maximized; reduce at epoch 2, cooldown at epoch 3 (Keras counts
    # the cooldown down at the start of each epoch), reduce again at epoch 4
    assert model.optimizer.learning_rate == pytest.approx(0.001)
    with pytest.raises(ValueError, match="factor >= 1.0"):
        callbacks.ReduceLROnPlateau(factor=1.0)


def test_csv_logger(tmp_path):
    path = tmp_path / "log.csv"
    logs = [{"loss": 0.5, "accuracy": 0.75}, {"loss": 0.25, "accuracy": 0.875}]
    fit(FakeModel(), [callbacks.CSVLogger(path)], logs)
    assert path.read_text() == (
        "epoch,accuracy,loss,val_accuracy,val_loss\n"
        "0,0.75,0.5,NA,NA\n"
        "1,0.875,0.25,NA,NA\n"
    )
    fit(FakeModel(), [callbacks.CSVLogger(path, separator=";", append=True)], logs[:1])
    rows = path.read_text().splitlines()
    assert len(rows) == 4 and rows[-1] == "0;0.75;0.5;NA;NA"
    with_val = [{"loss": 0.5, "val_loss": 0.625}]
    fit(FakeModel(), [callbacks.CSVLogger(path)], with_val)
    assert list(csv.reader(io.StringIO(path.read_text()))) == [["epoch", "loss", "val_loss"],
                                                                ["0", "0.5", "0.625"]]


def test_terminate_on_nan():
    model = FakeModel()
    history = fit(model, [callbacks.TerminateOnNaN()], [{"loss": 1.0}, {"loss": math.nan}, {"loss": 1.0}])
    assert history.epoch == [0, 1] and model.stop_training
    model = FakeModel()
    fit(model, [callbacks.TerminateOnNaN()], [{"loss": math.inf}])
    assert model.stop_training


def test_learning_rate_scheduler():
    model = FakeModel()
    seen = []
    scheduler = callbacks.LearningRateScheduler(lambda epoch, lr: lr * 0.5 if epoch else lr)
    spy = callbacks.LambdaCallback(on_epoch_begin=lambda epoch, logs: seen.append(model.optimizer.learning_rate))
    history = fit(model, [scheduler, spy], [{"loss": 1.0}] * 3)
    assert seen == pytest.approx([0.1, 0.05, 0.025])
    assert history.history["learning_rate"] == pytest.approx([0.1, 0.05, 0.025])
    fit(model, [callbacks.LearningRateScheduler(lambda epoch: 0.5)], [{"loss": 1.0}])
    assert model.optimizer.learning_rate == 0.5
    with pytest.raises(ValueError, match="should be a float"):
        fit(model, [callbacks.LearningRateScheduler(lambda epoch: "fast")], [{"loss": 1.0}])


def test_learning_rate_callbacks_refuse_a_schedule():
    """Keras 3: an optimizer built with a LearningRateSchedule refuses a number as its rate."""
    schedule = optimizers.schedules.ExponentialDecay(0.1, decay_steps=1, decay_rate=0.5)
    model = FakeModel()
    model.optimizer = optimizers.SGD(learning_rate=schedule)
    with pytest.raises(TypeError, match="created with a `LearningRateSchedule`"):
        fit(model, [callbacks.LearningRateScheduler(lambda epoch, lr: lr)], [{"loss": 1.0}])
    model.optimizer = optimizers.SGD(learning_rate=schedule)
    reducer = callbacks.ReduceLROnPlateau(monitor="loss", patience=1)
    fit(model, [reducer], [{"loss": 1.0}])  # no reduction yet: the schedule's rate is logged
    with pytest.raises(TypeError, match="learning rate is not settable"):
        fit(model, [reducer], [{"loss": 1.0}, {"loss": 1.0}])


def test_lambda_callback_rejects_unknown_hooks():
    with pytest.raises(TypeError, match="unknown hook"):
        callbacks.LambdaCallback(on_epoch_ending=print)


def test_progbar_logger_output(capsys):
    fit(FakeModel(), [], [{"loss": 0.5, "accuracy": 0.75}, {"loss": 0.25, "accuracy": 0.875}],
        steps=3, verbose=1)
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert lines[0] == "Epoch 1/2"
    assert "Epoch 2/2" in lines
    final = [line for line in lines if line.startswith("3/3 [")]
    assert len(final) == 2
    assert final[0].startswith("3/3 [==============================] - 0s ")
    assert final[0].endswith(" - loss: 0.5000 - accuracy: 0.7500")
    assert "/step" in final[0]


def test_progbar_verbose_2_prints_one_line_per_epoch(capsys):
    fit(FakeModel(), [], [{"loss": 0.5}, {"loss": 0.25}], steps=4, verbose=2)
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "Epoch 1/2"
    assert lines[1].startswith("4/4 - 0s - ") and lines[1].endswith("/step - loss: 0.5000")
    assert len(lines) == 4


def test_progbar_rates_and_formats(capsys, monkeypatch):
    bar = callbacks.Progbar(target=10, verbose=1)
    for step in range(1, 10):
        bar.update(step, [("loss", 1.0)])
    # Not a terminal: intermediate lines at most every 10 s, so none here.
    assert capsys.readouterr().out == ""
    bar.update(10, [("loss", 3.0)])
    out = capsys.readouterr().out
    # non-stateful values are averaged over steps: (9 * 1 + 1 * 3) / 10
    assert out.startswith("10/10 [==============================]") and out.endswith("loss: 1.2000\n")
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True, raising=False)
    bar = callbacks.Progbar(target=4, verbose=1, stateful_metrics=["acc"])
    bar.update(2, [("acc", 1e-5)])
    bar.update(4, [("acc", 0.5)])
    out = capsys.readouterr().out
    assert out.startswith("\r2/4 [==============>...............] - ETA: ")
    assert "acc: 1.0000e-05" in out and out.endswith("acc: 0.5000\n")
    assert out.count("\r") == 2
    unknown = callbacks.Progbar(target=None, verbose=1)
    unknown.update(5, finalize=True)
    assert capsys.readouterr().out.startswith("\r      5/Unknown - ")
