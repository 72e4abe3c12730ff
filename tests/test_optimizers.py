"""Optimizers against Keras 3's update formulas, written out step by step in float64."""

import math

import numpy as np
import pytest

import fastconv
from fastconv import optimizers


def _problem(seed=0, shapes=((3, 4), (5,))):
    rng = np.random.default_rng(seed)
    variables = [rng.normal(size=s) for s in shapes]
    grads = [[rng.normal(size=s) for s in shapes] for _ in range(5)]
    return variables, grads


def _run(opt, variables, grads):
    variables = [v.copy() for v in variables]
    for step_grads in grads:
        opt.apply_gradients(zip(step_grads, variables))
    return variables


# Reference updates: one function per optimizer, plain formulas on copies -----
def ref_sgd(w, gs, lr, momentum=0.0, nesterov=False):
    w, m = w.copy(), np.zeros_like(w)
    for g in gs:
        if momentum == 0:
            w = w - lr * g
        else:
            m = momentum * m - lr * g
            w = w + (momentum * m - lr * g if nesterov else m)
    return w


def ref_adam(w, gs, lr, b1=0.9, b2=0.999, eps=1e-7, amsgrad=False, wd=None):
    w, m, v, vhat = w.copy(), np.zeros_like(w), np.zeros_like(w), np.zeros_like(w)
    for t, g in enumerate(gs, start=1):
        if wd:
            w = w - w * wd * lr
        m = m + (g - m) * (1 - b1)
        v = v + (g * g - v) * (1 - b2)
        alpha = lr * math.sqrt(1 - b2 ** t) / (1 - b1 ** t)
        if amsgrad:
            vhat = np.maximum(vhat, v)
            w = w - alpha * m / (np.sqrt(vhat) + eps)
        else:
            w = w - alpha * m / (np.sqrt(v) + eps)
    return w


def ref_rmsprop(w, gs, lr, rho=0.9, momentum=0.0, eps=1e-7, centered=False):
    w, v, a, mom = w.copy(), np.zeros_like(w), np.zeros_like(w), np.zeros_like(w)
    for g in gs:
        v = rho * v + (1 - rho) * g * g
        if centered:
            a = rho * a + (1 - rho) * g
            denominator = v - a * a + eps
        else:
            denominator = v + eps
        increment = lr * g / np.sqrt(denominator)
        if momentum > 0:
            mom = momentum * mom + increment
            w = w - mom
        else:
            w = w - increment
    return w


def ref_adagrad(w, gs, lr, init=0.1, eps=1e-7):
    w, acc = w.copy(), np.full_like(w, init)
    for g in gs:
        acc = acc + g * g
        w = w - lr * g / np.sqrt(acc + eps)
    return w


def ref_nadam(w, gs, lr, b1=0.9, b2=0.999, eps=1e-7):
    w, m, v, u_product = w.copy(), np.zeros_like(w), np.zeros_like(w), 1.0
    for t, g in enumerate(gs, start=1):
        u_t = b1 * (1 - 0.5 * 0.96 ** t)
        u_t1 = b1 * (1 - 0.5 * 0.96 ** (t + 1))
        u_product = u_product * u_t
        m = m + (g - m) * (1 - b1)
        v = v + (g * g - v) * (1 - b2)
        m_hat = u_t1 * m / (1 - u_product * u_t1) + (1 - u_t) * g / (1 - u_product)
        v_hat = v / (1 - b2 ** t)
        w = w - lr * m_hat / (np.sqrt(v_hat) + eps)
    return w


CASES = [
    (lambda: optimizers.SGD(0.1), lambda w, gs: ref_sgd(w, gs, 0.1)),
    (lambda: optimizers.SGD(0.1, momentum=0.9), lambda w, gs: ref_sgd(w, gs, 0.1, 0.9)),
    (lambda: optimizers.SGD(0.1, momentum=0.9, nesterov=True),
     lambda w, gs: ref_sgd(w, gs, 0.1, 0.9, True)),
    (lambda: optimizers.Adam(0.01), lambda w, gs: ref_adam(w, gs, 0.01)),
    (lambda: optimizers.Adam(0.01, beta_1=0.8, beta_2=0.99, epsilon=1e-3),
     lambda w, gs: ref_adam(w, gs, 0.01, 0.8, 0.99, 1e-3)),
    (lambda: optimizers.Adam(0.01, amsgrad=True), lambda w, gs: ref_adam(w, gs, 0.01, amsgrad=True)),
    (lambda: optimizers.AdamW(0.01), lambda w, gs: ref_adam(w, gs, 0.01, wd=0.004)),
    (lambda: optimizers.AdamW(0.01, weight_decay=0.1), lambda w, gs: ref_adam(w, gs, 0.01, wd=0.1)),
    (lambda: optimizers.RMSprop(0.01), lambda w, gs: ref_rmsprop(w, gs, 0.01)),
    (lambda: optimizers.RMSprop(0.01, momentum=0.5, centered=True),
     lambda w, gs: ref_rmsprop(w, gs, 0.01, momentum=0.5, centered=True)),
    (lambda: optimizers.Adagrad(0.1), lambda w, gs: ref_adagrad(w, gs, 0.1)),
    (lambda: optimizers.Adagrad(0.1, initial_accumulator_value=1.0),
     lambda w, gs: ref_adagrad(w, gs, 0.1, init=1.0)),
    (lambda: optimizers.Nadam(0.01), lambda w, gs: ref_nadam(w, gs, 0.01)),
]


@pytest.mark.parametrize("make, reference", CASES)
def test_several_steps_match_keras_formulas(make, reference):
    variables, grads = _problem()
    got = _run(make(), variables, grads)
    for i, w in enumerate(got):
        expected = reference(variables[i], [g[i] for g in grads])
        np.testing.assert_allclose(w, expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("make, reference", CASES)
def test_float32_variables_stay_float32_and_close(make, reference):
    variables, grads = _problem(1)
    got = _run(make(), [v.astype(np.float32) for v in variables],
               [[g.astype(np.float32) for g in step] for step in grads])
    for i, w in enumerate(got):
        assert w.dtype == np.float32
        expected = reference(variables[i].astype(np.float32).astype(np.float64),
                             [g[i].astype(np.float32).astype(np.float64) for g in grads])
        np.testing.assert_allclose(w, expected, rtol=2e-5, atol=2e-6)


def test_first_adam_step_is_lr_times_sign():
    # Closed form: m1 = 0.1 g, v1 = 0.001 g^2, lr_t = lr sqrt(0.001) / 0.1,
    # so the step is lr * g / (|g| + eps / sqrt(0.001)) ~= lr * sign(g).
    w = np.array([1.0, -2.0, 3.0])
    g = np.array([0.5, -4.0, 1e-3])
    optimizers.Adam(learning_rate=0.1).apply_gradients([(g, w)])
    expected = np.array([1.0, -2.0, 3.0]) - 0.1 * g / (np.abs(g) + 1e-7 / math.sqrt(0.001))
    np.testing.assert_allclose(w, expected, rtol=1e-12)
    np.testing.assert_allclose(w, [0.9, -1.9, 2.9], atol=1e-3)


def test_updates_in_place_and_reuses_slots():
    w = np.ones((4, 4), np.float32)
    before = w.__array_interface__["data"][0]
    opt = optimizers.Adam()
    opt.apply_gradients([(np.ones((4, 4), np.float32), w)])
    slots = [id(a) for a in opt.variables()[1:]]
    opt.apply_gradients([(np.ones((4, 4), np.float32), w)])
    assert w.__array_interface__["data"][0] == before
    assert not np.all(w == 1)
    assert [id(a) for a in opt.variables()[1:]] == slots
    assert opt.iterations == 2


def test_a_step_allocates_no_array_sized_temporaries():
    import tracemalloc

    w = np.zeros(1_000_000, np.float32)
    g = np.ones_like(w)
    for opt in (optimizers.Adam(), optimizers.Nadam(), optimizers.RMSprop(centered=True, momentum=0.9),
                optimizers.SGD(momentum=0.9, nesterov=True), optimizers.Adagrad(), optimizers.AdamW()):
        opt.apply_gradients([(g, w)])  # builds slots and scratch
        tracemalloc.start()
        opt.apply_gradients([(g, w)])
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        assert peak < 100_000, (type(opt).__name__, peak)


def test_variable_count_change_raises():
    opt = optimizers.SGD()
    a, b = np.zeros(3), np.zeros(2)
    opt.apply_gradients([(np.ones(3), a), (np.ones(2), b)])
    opt.apply_gradients([(np.ones(3), a)])  # a subset of its variables is allowed ...
    with pytest.raises(ValueError, match="built for 2 variables"):  # ... other arrays are not
        opt.apply_gradients([(np.ones(3), np.zeros(3))])
    with pytest.raises(ValueError, match="changed since the optimizer was built"):
        opt.apply_gradients([(np.ones(3), a), (np.ones(5), np.zeros(5))])
    with pytest.raises(ValueError, match="Gradient 1 has shape"):
        opt.apply_gradients([(np.ones(3), a), (np.ones(3), b)])


def test_variables_are_checked_once_per_variable_set(monkeypatch):
    opt = optimizers.Adam(0.1)
    a, b = np.zeros(3), np.zeros((2, 2))
    checks = []
    original = optimizers.Optimizer._check_variable
    monkeypatch.setattr(optimizers.Optimizer, "_check_variable",
                        staticmethod(lambda i, var: checks.append(i) or original(i, var)))
    for _ in range(5):
        opt.apply_gradients([(np.ones(3), a), (np.ones((2, 2)), b)])
    assert checks == [0, 1, 0, 1]  # build, then the first step's check; none after
    # Other arrays (same shapes) are a new variable set: checked again, and refused if bad.
    frozen = np.zeros((2, 2))
    frozen.flags.writeable = False
    with pytest.raises(ValueError, match="Variable 1 is read-only"):
        opt.apply_gradients([(np.ones(3), a), (np.ones((2, 2)), frozen)])
    # The same array reshaped in place is caught too.
    b.shape = (4,)
    with pytest.raises(ValueError, match="Variable 1 changed since the optimizer was built"):
        opt.apply_gradients([(np.ones(3), a), (np.ones(4), b)])
    b.shape = (2, 2)
    opt.apply_gradients([(np.ones(3), a), (np.ones((2, 2)), b)])
    assert opt.iterations == 6


def test_none_gradient_skips_the_variable():
    a, b = np.zeros(3), np.zeros(2)
    optimizers.Adam(0.1).apply_gradients([(None, a), (np.ones(2), b)])
    assert np.all(a == 0) and np.all(b < 0)


def test_lr_alias_and_settable_learning_rate():
    opt = optimizers.SGD(lr=0.5)
    assert opt.learning_rate == 0.5 and opt.lr == 0.5
    opt.learning_rate = 0.25
    assert opt.learning_rate == 0.25
    opt.lr = 0.125
    assert opt.learning_rate == 0.125
    opt.learning_rate = np.float32(0.5)
    assert isinstance(opt.learning_rate, float)
    w = np.array([1.0])
    opt.apply_gradients([(np.array([1.0]), w)])
    assert w[0] == 0.5
    with pytest.raises(ValueError, match="learning_rate"):
        opt.learning_rate = -1.0
    assert optimizers.Adam(lr=0.02).get_config()["learning_rate"] == 0.02


def test_schedule_and_legacy_decay():
    opt = optimizers.SGD(learning_rate=lambda step: 1.0 / (step + 1))
    w = np.array([0.0])
    for _ in range(3):
        opt.apply_gradients([(np.array([1.0]), w)])
    np.testing.assert_allclose(w, [-(1 + 1 / 2 + 1 / 3)])
    assert opt.learning_rate == 0.25
    opt = optimizers.SGD(learning_rate=1.0, decay=1.0)
    w = np.array([0.0])
    for _ in range(2):
        opt.apply_gradients([(np.array([1.0]), w)])
    np.testing.assert_allclose(w, [-1.5])


def test_clipping_options():
    g = np.array([3.0, 4.0])
    w = np.zeros(2)
    optimizers.SGD(1.0, clipnorm=1.0).apply_gradients([(g, w)])
    np.testing.assert_allclose(w, [-0.6, -0.8])
    w = np.zeros(2)
    optimizers.SGD(1.0, clipvalue=3.5).apply_gradients([(g, w)])
    np.testing.assert_allclose(w, [-3.0, -3.5])
    w1, w2 = np.zeros(2), np.zeros(2)
    optimizers.SGD(1.0, global_clipnorm=5.0).apply_gradients([(g, w1), (g, w2)])
    np.testing.assert_allclose(w1, -g * 5 / math.sqrt(50))
    assert np.all(g == [3.0, 4.0])  # the caller's gradient is not modified
    with pytest.raises(ValueError, match="Only one of"):
        optimizers.SGD(clipnorm=1.0, clipvalue=1.0)


def test_config_round_trip_and_get():
    opt = optimizers.RMSprop(learning_rate=0.01, rho=0.8, momentum=0.1, centered=True, name="r")
    clone = optimizers.RMSprop.from_config(opt.get_config())
    assert clone.get_config() == opt.get_config()
    assert isinstance(optimizers.get("ADAM"), optimizers.Adam)
    assert isinstance(optimizers.get("AdamW"), optimizers.AdamW)
    assert isinstance(optimizers.get("sgd"), optimizers.SGD)
    assert optimizers.get(opt) is opt
    restored = optimizers.get(optimizers.serialize(opt))
    assert restored.rho == 0.8 and restored.centered
    assert optimizers.get({"class_name": "Adam", "config": {"learning_rate": 0.5}}).learning_rate == 0.5
    assert isinstance(optimizers.get(optimizers.Nadam), optimizers.Nadam)
    for name, cls in [("rmsprop", optimizers.RMSprop), ("adagrad", optimizers.Adagrad),
                      ("nadam", optimizers.Nadam)]:
        assert type(optimizers.get(name)) is cls


def test_get_errors():
    with pytest.raises(ValueError, match="Unknown optimizer: 'adamax'.*'sgd'.*'adam'.*'nadam'"):
        optimizers.get("adamax")
    with pytest.raises(ValueError, match="Could not interpret"):
        optimizers.get(3)
    with pytest.raises(ValueError, match="not recognized"):
        optimizers.Adam(foo=1)
    with pytest.raises(ValueError, match="beta_1"):
        optimizers.Adam(beta_1=1.0)


def test_state_round_trip_continues_identically():
    variables, grads = _problem(2)
    for make in (optimizers.Adam, optimizers.Nadam, lambda: optimizers.SGD(momentum=0.9),
                 optimizers.SGD, lambda: optimizers.RMSprop(centered=True)):
        a = make()
        wa = [v.copy() for v in variables]
        for step in grads[:3]:
            a.apply_gradients(zip(step, wa))
        b = make()
        wb = [v.copy() for v in wa]
        b.set_variables([x.copy() for x in a.variables()])
        assert b.iterations == 3
        for step in grads[3:]:
            a.apply_gradients(zip(step, wa))
            b.apply_gradients(zip(step, wb))
        for x, y in zip(wa, wb):
            np.testing.assert_array_equal(x, y)


def test_set_variables_checks_counts():
    opt = optimizers.Adam()
    opt.apply_gradients([(np.ones(2), np.zeros(2))])
    with pytest.raises(ValueError, match="not a multiple"):
        opt.set_variables(opt.variables()[:2])
    with pytest.raises(ValueError, match="shape"):
        opt.set_variables([np.array(1), np.zeros(3), np.zeros(3)])


@pytest.mark.parametrize("name", ["adam", "sgd_momentum", "rmsprop"])
def test_a_subset_of_the_variables_keeps_each_ones_slots(name):
    # A layer frozen after compile drops its weights from the step: the others must keep
    # their own slots, so they update exactly as an optimizer built for them alone.
    make = {"adam": lambda: fastconv.optimizers.Adam(0.1),
            "sgd_momentum": lambda: fastconv.optimizers.SGD(0.1, momentum=0.9),
            "rmsprop": lambda: fastconv.optimizers.RMSprop(0.1)}[name]
    rng = np.random.default_rng(3)
    full = [rng.standard_normal(shape) for shape in ((3, 4), (4,), (4, 2), (2,))]
    alone = [w.copy() for w in full[2:]]
    grads = [[rng.standard_normal(w.shape) for w in full] for _ in range(3)]
    both, only = make(), make()
    both.apply_gradients(zip(grads[0], full))
    only.apply_gradients(zip(grads[0][2:], alone))
    for step in grads[1:]:  # the first two variables frozen from here on
        before = [w.copy() for w in full[:2]]
        both.apply_gradients(zip(step[2:], full[2:]))
        only.apply_gradients(zip(step[2:], alone))
        for got, want in zip(full[2:], alone):
            np.testing.assert_array_equal(got, want)
        for got, want in zip(full[:2], before):
            np.testing.assert_array_equal(got, want)
    with pytest.raises(ValueError, match="not a subset of them"):
        both.apply_gradients([(np.ones(2), np.zeros(2))])


def test_freezing_a_layer_after_compile_takes_effect_at_the_next_fit():
    model = fastconv.Sequential([fastconv.Input((3,)), fastconv.layers.Dense(4),
                                 fastconv.layers.Dense(2)])
    model.compile(optimizer="adam", loss="mse")
    x, y = np.ones((8, 3), np.float32), np.ones((8, 2), np.float32)
    model.fit(x, y, verbose=0)
    model.layers[0].trainable = False
    frozen, other = model.layers[0].get_weights(), model.layers[1].get_weights()
    model.fit(x, y, verbose=0)
    for got, want in zip(model.layers[0].get_weights(), frozen):
        np.testing.assert_array_equal(got, want)
    assert not np.array_equal(model.layers[1].get_weights()[0], other[0])
