"""Learning-rate schedules: Keras 3's formulas, written out here in float64, and their use by optimizers."""

import json
import math

import numpy as np
import pytest

from fastconv import optimizers
from fastconv.optimizers import schedules

STEPS = [0, 1, 7, 50, 99, 100, 101, 150, 333, 1000, 2500]


# Keras 3's formulas (keras/src/optimizers/schedules/learning_rate_schedule.py), one line each.
def exponential(step, lr, decay_steps, rate, staircase=False):
    p = step / decay_steps
    return lr * rate ** (math.floor(p) if staircase else p)


def polynomial(step, lr, decay_steps, end=0.0001, power=1.0, cycle=False):
    if cycle:
        decay_steps = decay_steps * max(1, math.ceil(step / decay_steps))
    else:
        step = min(step, decay_steps)
    return (lr - end) * (1 - step / decay_steps) ** power + end


def inverse_time(step, lr, decay_steps, rate, staircase=False):
    p = step / decay_steps
    return lr / (1 + rate * (math.floor(p) if staircase else p))


def cosine(step, lr, decay_steps, alpha=0.0, warmup_target=None, warmup_steps=0):
    if warmup_target is not None and step < warmup_steps:
        return lr + (warmup_target - lr) * step / warmup_steps
    start = lr if warmup_target is None else warmup_target
    step = min(step - (warmup_steps if warmup_target is not None else 0), decay_steps)
    return start * ((1 - alpha) * 0.5 * (1 + math.cos(math.pi * step / decay_steps)) + alpha)


def cosine_restarts(step, lr, first, t_mul=2.0, m_mul=1.0, alpha=0.0):
    """Walks the periods one by one (not Keras's closed form), as SGDR defines them."""
    start, length, i = 0.0, float(first), 0
    while step >= start + length:
        start, length, i = start + length, length * t_mul, i + 1
    fraction = (step - start) / length
    return lr * ((1 - alpha) * m_mul ** i * 0.5 * (1 + math.cos(math.pi * fraction)) + alpha)


CASES = [
    (schedules.ExponentialDecay(0.1, 100, 0.96), lambda s: exponential(s, 0.1, 100, 0.96)),
    (schedules.ExponentialDecay(0.1, 100, 0.5, staircase=True),
     lambda s: exponential(s, 0.1, 100, 0.5, True)),
    (schedules.PolynomialDecay(0.1, 100), lambda s: polynomial(s, 0.1, 100)),
    (schedules.PolynomialDecay(0.1, 100, 0.01, power=0.5),
     lambda s: polynomial(s, 0.1, 100, 0.01, 0.5)),
    (schedules.PolynomialDecay(0.1, 100, 0.01, power=2.0, cycle=True),
     lambda s: polynomial(s, 0.1, 100, 0.01, 2.0, True)),
    (schedules.InverseTimeDecay(0.1, 10, 0.5), lambda s: inverse_time(s, 0.1, 10, 0.5)),
    (schedules.InverseTimeDecay(0.1, 10, 0.5, staircase=True),
     lambda s: inverse_time(s, 0.1, 10, 0.5, True)),
    (schedules.CosineDecay(0.1, 1000), lambda s: cosine(s, 0.1, 1000)),
    (schedules.CosineDecay(0.1, 200, alpha=0.1), lambda s: cosine(s, 0.1, 200, 0.1)),
    (schedules.CosineDecay(0.0, 1000, warmup_target=0.1, warmup_steps=100),
     lambda s: cosine(s, 0.0, 1000, 0.0, 0.1, 100)),
    (schedules.CosineDecay(0.01, 300, alpha=0.2, warmup_target=0.1, warmup_steps=150),
     lambda s: cosine(s, 0.01, 300, 0.2, 0.1, 150)),
    (schedules.CosineDecayRestarts(0.1, 100), lambda s: cosine_restarts(s, 0.1, 100)),
    (schedules.CosineDecayRestarts(0.1, 100, t_mul=1.0, m_mul=0.5, alpha=0.1),
     lambda s: cosine_restarts(s, 0.1, 100, 1.0, 0.5, 0.1)),
    (schedules.CosineDecayRestarts(0.1, 30, t_mul=1.5, m_mul=0.9, alpha=0.05),
     lambda s: cosine_restarts(s, 0.1, 30, 1.5, 0.9, 0.05)),
]
IDS = [f"{type(s).__name__}-{i}" for i, (s, _) in enumerate(CASES)]


@pytest.mark.parametrize("schedule,formula", CASES, ids=IDS)
def test_values_follow_the_formula(schedule, formula):
    for step in STEPS:
        assert isinstance(schedule(step), float)
        assert schedule(step) == pytest.approx(formula(step), rel=1e-12, abs=1e-15), step
    assert schedule(np.int64(7)) == schedule(7)  # a NumPy step count works too


def test_piecewise_constant_matches_the_keras_docstring():
    # "a learning rate that's 1.0 for the first 100001 steps, 0.5 for the next 10000 steps,
    # and 0.1 for any additional steps"
    schedule = schedules.PiecewiseConstantDecay([100000, 110000], [1.0, 0.5, 0.1])
    assert [schedule(s) for s in (0, 100000, 100001, 110000, 110001, 10**7)] == [
        1.0, 1.0, 0.5, 0.5, 0.1, 0.1]
    assert schedules.PiecewiseConstantDecay([], [0.3])(12) == 0.3


def test_cosine_decay_ends_at_alpha_and_warmup_peaks_at_the_target():
    schedule = schedules.CosineDecay(0.2, 100, alpha=0.25)
    assert schedule(0) == 0.2 and schedule(100) == pytest.approx(0.05) and schedule(10**6) == schedule(100)
    warm = schedules.CosineDecay(0.0, 100, warmup_target=1.0, warmup_steps=10)
    assert warm(0) == 0.0 and warm(5) == 0.5 and warm(10) == 1.0


@pytest.mark.parametrize("schedule,formula", CASES[:1] + CASES[7:8] + CASES[11:12], ids=IDS[:1] + IDS[7:8] + IDS[11:12])
@pytest.mark.parametrize("make", [lambda lr: optimizers.SGD(learning_rate=lr, momentum=0.9),
                                  lambda lr: optimizers.Adam(learning_rate=lr)],
                         ids=["SGD", "Adam"])
def test_optimizer_with_schedule_equals_learning_rate_set_by_hand(schedule, formula, make):
    rng = np.random.default_rng(0)
    grads = rng.standard_normal((40, 3, 4))
    scheduled, by_hand = make(schedule), make(1.0)
    w1, w2 = np.ones((3, 4)), np.ones((3, 4))
    for step, grad in enumerate(grads):
        # Keras evaluates the schedule at `iterations` (updates already applied) before it
        # increments it: 0 for the first update.
        assert scheduled.iterations == step
        assert scheduled.learning_rate == schedule(step)
        by_hand.learning_rate = schedule(step)
        scheduled.apply_gradients([(grad, w1)])
        by_hand.apply_gradients([(grad, w2)])
    np.testing.assert_array_equal(w1, w2)
    assert scheduled.learning_rate == schedule(40)
    assert not np.array_equal(w1, np.ones((3, 4)))


def test_sgd_update_uses_the_schedule_value_at_the_step():
    schedule = schedules.PiecewiseConstantDecay([1], [1.0, 0.1])
    opt = optimizers.SGD(learning_rate=schedule)
    w = np.array([0.0])
    for _ in range(3):  # steps 0 and 1 use 1.0, step 2 uses 0.1
        opt.apply_gradients([(np.array([1.0]), w)])
    np.testing.assert_allclose(w, [-2.1], rtol=1e-15)


@pytest.mark.parametrize("schedule", [s for s, _ in CASES], ids=IDS)
def test_config_round_trip(schedule):
    config = json.loads(json.dumps(schedules.serialize(schedule)))
    assert config["class_name"] == type(schedule).__name__
    rebuilt = schedules.deserialize(config)
    assert type(rebuilt) is type(schedule) and rebuilt.get_config() == schedule.get_config()
    assert [rebuilt(s) for s in STEPS] == [schedule(s) for s in STEPS]
    assert type(schedule).from_config(schedule.get_config()).get_config() == schedule.get_config()


def test_keras_argument_names_and_defaults():
    assert schedules.ExponentialDecay(0.1, 10, 0.9).get_config() == {
        "initial_learning_rate": 0.1, "decay_steps": 10, "decay_rate": 0.9, "staircase": False,
        "name": "ExponentialDecay"}
    assert schedules.PiecewiseConstantDecay([1], [0.1, 0.01]).get_config()["name"] == "PiecewiseConstant"
    assert schedules.PolynomialDecay(0.1, 10).get_config() == {
        "initial_learning_rate": 0.1, "decay_steps": 10, "end_learning_rate": 0.0001,
        "power": 1.0, "cycle": False, "name": "PolynomialDecay"}
    assert schedules.InverseTimeDecay(0.1, 10, 0.5).get_config()["name"] == "InverseTimeDecay"
    assert schedules.CosineDecay(0.1, 10).get_config() == {
        "initial_learning_rate": 0.1, "decay_steps": 10, "alpha": 0.0, "name": "CosineDecay",
        "warmup_target": None, "warmup_steps": 0}
    assert schedules.CosineDecayRestarts(0.1, 10).get_config() == {
        "initial_learning_rate": 0.1, "first_decay_steps": 10, "t_mul": 2.0, "m_mul": 1.0,
        "alpha": 0.0, "name": "SGDRDecay"}


def test_optimizer_config_carries_the_schedule():
    schedule = schedules.CosineDecay(0.01, 500, warmup_target=0.1, warmup_steps=20)
    opt = optimizers.Adam(learning_rate=schedule, beta_1=0.8)
    config = json.loads(json.dumps(optimizers.serialize(opt)))
    assert config["config"]["learning_rate"]["class_name"] == "CosineDecay"
    rebuilt = optimizers.deserialize(config)
    assert isinstance(rebuilt, optimizers.Adam) and rebuilt.beta_1 == 0.8
    rebuilt.iterations = 30
    assert rebuilt.learning_rate == schedule(30)
    assert optimizers.get(config).get_config() == opt.get_config()


def test_custom_schedule_needs_custom_objects_to_load():
    class Halving(schedules.LearningRateSchedule):
        def __init__(self, lr):
            self.lr = lr

        def __call__(self, step):
            return self.lr / 2 ** step

        def get_config(self):
            return {"lr": self.lr}

    opt = optimizers.SGD(learning_rate=Halving(0.4))
    config = opt.get_config()
    with pytest.raises(ValueError, match="Unknown learning rate schedule: 'Halving'"):
        optimizers.SGD.from_config(config)
    rebuilt = optimizers.SGD.from_config(config, custom_objects={"Halving": Halving})
    rebuilt.iterations = 2
    assert rebuilt.learning_rate == 0.1
    with pytest.raises(NotImplementedError, match="must override `get_config"):
        optimizers.SGD(learning_rate=type("NoConfig", (schedules.LearningRateSchedule,), {
            "__call__": lambda self, step: 0.1})()).get_config()


def test_schedule_learning_rate_is_not_settable_with_a_number():
    opt = optimizers.SGD(learning_rate=schedules.ExponentialDecay(0.1, 10, 0.5))
    with pytest.raises(TypeError, match="created with a `LearningRateSchedule`.*not settable"):
        opt.learning_rate = 0.01
    opt.learning_rate = schedules.InverseTimeDecay(1.0, 1, 1.0)  # another schedule is fine
    assert opt.learning_rate == 1.0
    plain = optimizers.SGD(learning_rate=lambda step: 0.5)  # a plain callable is replaceable
    plain.learning_rate = 0.25
    assert plain.learning_rate == 0.25


def test_model_save_and_load_keeps_the_schedule(tmp_path):
    import fastconv as keras

    schedule = schedules.ExponentialDecay(0.05, 3, 0.5)
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=schedule), loss="mse")
    x = np.linspace(-1, 1, 12, dtype=np.float32).reshape(4, 3)
    model.train_on_batch(x, np.zeros((4, 2), np.float32))
    model.save(tmp_path / "m.keras")
    loaded = keras.models.load_model(tmp_path / "m.keras")
    assert loaded.optimizer.get_config()["learning_rate"] == schedules.serialize(schedule)
    assert loaded.optimizer.iterations == 1
    assert loaded.optimizer.learning_rate == schedule(1)


@pytest.mark.parametrize("make,match", [
    (lambda: schedules.ExponentialDecay(0.1, 0, 0.9), r"`decay_steps` must be > 0. Received: decay_steps=0"),
    (lambda: schedules.PolynomialDecay(0.1, -5), "decay_steps"),
    (lambda: schedules.InverseTimeDecay(0.1, 0.0, 0.5), "decay_steps"),
    (lambda: schedules.CosineDecay(0.1, 0), "decay_steps"),
    (lambda: schedules.CosineDecayRestarts(0.1, 0), "first_decay_steps"),
    (lambda: schedules.CosineDecayRestarts(0.1, 10, t_mul=0.0), "t_mul"),
    (lambda: schedules.CosineDecay(0.1, 10, warmup_target=0.2, warmup_steps=-1), "warmup_steps"),
    (lambda: schedules.CosineDecay(0.1, 10, warmup_target="high"), "warmup_target"),
    (lambda: schedules.ExponentialDecay("0.1", 10, 0.9), "initial_learning_rate"),
    (lambda: schedules.ExponentialDecay(0.1, 10, None), "decay_rate"),
    (lambda: schedules.PolynomialDecay(0.1, 10, power=float("nan")), "power"),
    (lambda: schedules.PiecewiseConstantDecay([10, 20], [0.1, 0.01]), "1 less than the length of values"),
    (lambda: schedules.PiecewiseConstantDecay([20, 10], [0.1, 0.01, 0.001]), "boundaries"),
    (lambda: schedules.PiecewiseConstantDecay([10], [0.1, "x"]), r"values\[1\]"),
    (lambda: schedules.ExponentialDecay(0.1, 10, 0.9)(-1), "step"),
    (lambda: schedules.deserialize({"class_name": "Nope", "config": {}}), "Unknown learning rate schedule"),
    (lambda: schedules.deserialize("ExponentialDecay"), "class_name"),
])
def test_bad_arguments_name_the_argument(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_base_class_must_be_subclassed():
    with pytest.raises(NotImplementedError, match="must override `__call__"):
        schedules.LearningRateSchedule()(0)
