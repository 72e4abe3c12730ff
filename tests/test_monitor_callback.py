"""MonitorCallback: the one mode/"auto"/min_delta rule of EarlyStopping, ModelCheckpoint and
ReduceLROnPlateau (Keras 3's keras/src/callbacks/monitor_callback.py)."""

import numpy as np
import pytest

from fastconv import callbacks, metrics
from test_callbacks import FakeModel, fit

MONITORING = [
    lambda **kw: callbacks.EarlyStopping(**kw),
    lambda **kw: callbacks.ModelCheckpoint("unused.keras", save_best_only=True, **kw),
    lambda **kw: callbacks.ReduceLROnPlateau(**kw),
]


def direction(callback, model):
    callback.set_model(model)
    callback._set_monitor_op()
    return "min" if callback.monitor_op is np.less else "max"


@pytest.mark.parametrize("make", MONITORING)
def test_every_monitoring_callback_shares_the_rule(make):
    assert isinstance(make(), callbacks.MonitorCallback)
    assert direction(make(monitor="val_loss"), FakeModel()) == "min"
    assert direction(make(monitor="loss", mode="max"), FakeModel()) == "max"
    assert direction(make(monitor="val_accuracy"), FakeModel()) == "max"  # no model.metrics
    with pytest.raises(ValueError, match="maximized or minimized"):
        direction(make(monitor="val_score"), FakeModel())
    with pytest.warns(UserWarning, match="mode 'sideways' is unknown, fallback to auto"):
        assert make(mode="sideways").mode == "auto"


class Container:
    """What Keras 3's CompileMetrics looks like to the rule: a list of metrics."""

    def __init__(self, *inner):
        self.name = "compile_metrics"
        self.metrics = list(inner)


@pytest.mark.parametrize("make", MONITORING)
def test_auto_mode_reads_the_models_metric_objects(make):
    model = FakeModel()
    model.metrics = [metrics.Mean(name="loss"),
                     Container(metrics.SparseCategoricalAccuracy(name="score"),
                               metrics.MeanSquaredError(name="err"))]
    assert direction(make(monitor="val_score"), model) == "max"
    assert direction(make(monitor="err"), model) == "min"
    # Keras 3: a model that lists its metrics decides; a name it does not list is unknown,
    # even one that looks like an accuracy.
    with pytest.raises(ValueError, match="monitor=val_accuracy"):
        direction(make(monitor="val_accuracy"), model)


def test_min_delta_counts_against_the_improvement_in_both_directions():
    minimize = callbacks.EarlyStopping(monitor="loss", min_delta=0.1)
    minimize.set_model(FakeModel())
    minimize._set_monitor_op()
    assert minimize._is_improvement(1.0, None)
    assert not minimize._is_improvement(0.95, 1.0) and minimize._is_improvement(0.85, 1.0)
    maximize = callbacks.ReduceLROnPlateau(monitor="acc", min_delta=0.1)
    maximize.set_model(FakeModel())
    maximize._set_monitor_op()
    assert not maximize._is_improvement(0.55, 0.5) and maximize._is_improvement(0.65, 0.5)


def test_early_stopping_reused_for_a_second_fit_keeps_min_delta():
    stopper = callbacks.EarlyStopping(monitor="loss", min_delta=0.1, patience=1)
    values = [{"loss": v} for v in (1.0, 0.95, 0.9, 0.5)]
    first = fit(FakeModel(), [stopper], values)
    second = fit(FakeModel(), [stopper], values)
    # epoch 1 improves by 0.05 < min_delta: stop there, both times
    assert first.epoch == second.epoch == [0, 1]


def test_reduce_lr_unknown_direction_raises_at_first_epoch_end():
    with pytest.raises(ValueError, match="ReduceLROnPlateau callback received monitor=score"):
        fit(FakeModel(), [callbacks.ReduceLROnPlateau(monitor="score")], [{"score": 1.0}])
