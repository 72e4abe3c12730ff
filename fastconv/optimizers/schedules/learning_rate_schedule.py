"""Learning-rate schedules: the learning rate as a function of the optimizer's step count.

Names, arguments, defaults and formulas are Keras 3's
(`keras/src/optimizers/schedules/learning_rate_schedule.py`). An optimizer
built with `learning_rate=<schedule>` calls `schedule(iterations)` before each
update, where `iterations` counts the updates already applied (0 for the
first), as Keras does. The value is computed in float64 and returned as a
Python float.
"""

import bisect
import math
import numbers

from fastconv.utils.argument_validation import check_number


def _positive_steps(name, value):
    """A step count > 0, kept an int when given as one (configs stay as written)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not value > 0:
        raise ValueError(f"Argument `{name}` must be > 0. Received: {name}={value!r}")
    return int(value) if isinstance(value, numbers.Integral) else float(value)


def _step(step):
    if isinstance(step, bool) or not isinstance(step, numbers.Real) or not step >= 0:
        raise ValueError(f"A schedule's `step` must be a number >= 0. Received: step={step!r}")
    return float(step)


class LearningRateSchedule:
    """Base class of the learning-rate schedules.

    A subclass implements `__call__(step)`, returning the learning rate for
    the optimizer step `step` (the number of updates already applied), and
    `get_config()` if it is to be saved with the optimizer.

    Example:
        >>> class Halving(LearningRateSchedule):
        ...     def __call__(self, step):
        ...         return 0.1 / 2 ** (step // 10)
        >>> Halving()(25)
        0.025
    """

    def __call__(self, step):
        raise NotImplementedError(
            f"Learning rate schedule '{type(self).__name__}' must override `__call__(self, step)`."
        )

    def get_config(self):
        raise NotImplementedError(
            f"Learning rate schedule '{type(self).__name__}' must override `get_config()` in "
            "order to be serializable."
        )

    @classmethod
    def from_config(cls, config):
        """Builds the schedule from `get_config()`'s output."""
        return cls(**config)

    def __repr__(self):
        return f"{type(self).__name__}({self.get_config()})"


class _RateDecay(LearningRateSchedule):
    """The arguments and config that ExponentialDecay and InverseTimeDecay share."""

    def __init__(self, initial_learning_rate, decay_steps, decay_rate, staircase, name):
        self.initial_learning_rate = check_number("initial_learning_rate", initial_learning_rate)
        self.decay_steps = _positive_steps("decay_steps", decay_steps)
        self.decay_rate = check_number("decay_rate", decay_rate)
        self.staircase = bool(staircase)
        self.name = name

    def _periods(self, step):
        """step / decay_steps, rounded down with `staircase`."""
        periods = _step(step) / self.decay_steps
        return math.floor(periods) if self.staircase else periods

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate,
                "decay_steps": self.decay_steps, "decay_rate": self.decay_rate,
                "staircase": self.staircase, "name": self.name}


class ExponentialDecay(_RateDecay):
    """`initial_learning_rate * decay_rate ** (step / decay_steps)`.

    Args:
        initial_learning_rate: the learning rate at step 0.
        decay_steps: a number > 0.
        decay_rate: the factor applied every `decay_steps` steps.
        staircase: if True, `step / decay_steps` is floored (decay at
            discrete intervals).
        name: the schedule's name.

    Raises:
        ValueError: if `decay_steps <= 0` or an argument is not a number.

    Example:
        >>> schedule = ExponentialDecay(0.1, decay_steps=100, decay_rate=0.5)
        >>> round(schedule(200), 6), round(schedule(50), 6)
        (0.025, 0.070711)
    """

    def __init__(self, initial_learning_rate, decay_steps, decay_rate, staircase=False,
                 name="ExponentialDecay"):
        super().__init__(initial_learning_rate, decay_steps, decay_rate, staircase, name)

    def __call__(self, step):
        return self.initial_learning_rate * self.decay_rate ** self._periods(step)


class PiecewiseConstantDecay(LearningRateSchedule):
    """A constant learning rate per interval of steps.

    `values[0]` while `step <= boundaries[0]`, `values[i]` while
    `boundaries[i - 1] < step <= boundaries[i]`, and `values[-1]` once
    `step > boundaries[-1]`.

    Args:
        boundaries: strictly increasing step numbers.
        values: the learning rates, one more than `boundaries`.
        name: the schedule's name.

    Raises:
        ValueError: if `len(values) != len(boundaries) + 1`, or the
            boundaries do not increase strictly.

    Example:
        >>> schedule = PiecewiseConstantDecay([100, 110], [1.0, 0.5, 0.1])
        >>> schedule(100), schedule(101), schedule(111)
        (1.0, 0.5, 0.1)
    """

    def __init__(self, boundaries, values, name="PiecewiseConstant"):
        boundaries, values = list(boundaries), list(values)
        if len(boundaries) != len(values) - 1:
            raise ValueError(
                "The length of boundaries should be 1 less than the length of values. "
                f"Received: boundaries={boundaries} of length {len(boundaries)}, and "
                f"values={values} of length {len(values)}."
            )
        for i, boundary in enumerate(boundaries):
            check_number(f"boundaries[{i}]", boundary)
        if any(b >= a for b, a in zip(boundaries, boundaries[1:])):
            raise ValueError(f"Argument `boundaries` must increase strictly. Received: "
                             f"boundaries={boundaries}")
        self.boundaries = boundaries
        self.values = [check_number(f"values[{i}]", value) for i, value in enumerate(values)]
        self.name = name

    def __call__(self, step):
        # The number of boundaries strictly below `step` is the interval's index.
        return self.values[bisect.bisect_left(self.boundaries, _step(step))]

    def get_config(self):
        return {"boundaries": self.boundaries, "values": self.values, "name": self.name}


class PolynomialDecay(LearningRateSchedule):
    """Decays from `initial_learning_rate` to `end_learning_rate` along a polynomial.

    `(initial_learning_rate - end_learning_rate) * (1 - s / decay_steps) ** power
    + end_learning_rate` with `s = min(step, decay_steps)`. With `cycle`,
    `s = step` and `decay_steps` becomes its first multiple >= `step` (itself
    at step 0), so the decay restarts every `decay_steps` steps.

    Args:
        initial_learning_rate: the learning rate at step 0.
        decay_steps: a number > 0.
        end_learning_rate: the learning rate reached after `decay_steps`.
        power: the power of the polynomial.
        cycle: whether to restart after `decay_steps`.
        name: the schedule's name.

    Raises:
        ValueError: if `decay_steps <= 0` or an argument is not a number.

    Example:
        >>> schedule = PolynomialDecay(0.1, 100, end_learning_rate=0.01)
        >>> round(schedule(50), 6), round(schedule(500), 6)
        (0.055, 0.01)
    """

    def __init__(self, initial_learning_rate, decay_steps, end_learning_rate=0.0001, power=1.0,
                 cycle=False, name="PolynomialDecay"):
        self.initial_learning_rate = check_number("initial_learning_rate", initial_learning_rate)
        self.decay_steps = _positive_steps("decay_steps", decay_steps)
        self.end_learning_rate = check_number("end_learning_rate", end_learning_rate)
        self.power = check_number("power", power)
        self.cycle = bool(cycle)
        self.name = name

    def __call__(self, step):
        step = _step(step)
        decay_steps = self.decay_steps
        if self.cycle:
            decay_steps *= 1.0 if step == 0 else math.ceil(step / decay_steps)
        else:
            step = min(step, decay_steps)
        fraction_left = 1.0 - step / decay_steps
        return ((self.initial_learning_rate - self.end_learning_rate) * fraction_left ** self.power
                + self.end_learning_rate)

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate,
                "decay_steps": self.decay_steps, "end_learning_rate": self.end_learning_rate,
                "power": self.power, "cycle": self.cycle, "name": self.name}


class InverseTimeDecay(_RateDecay):
    """`initial_learning_rate / (1 + decay_rate * step / decay_steps)`.

    Args:
        initial_learning_rate: the learning rate at step 0.
        decay_steps: a number > 0.
        decay_rate: the decay rate.
        staircase: if True, `step / decay_steps` is floored.
        name: the schedule's name.

    Raises:
        ValueError: if `decay_steps <= 0` or an argument is not a number.

    Example:
        >>> InverseTimeDecay(0.1, decay_steps=1.0, decay_rate=0.5)(2)
        0.05
    """

    def __init__(self, initial_learning_rate, decay_steps, decay_rate, staircase=False,
                 name="InverseTimeDecay"):
        super().__init__(initial_learning_rate, decay_steps, decay_rate, staircase, name)

    def __call__(self, step):
        return self.initial_learning_rate / (1.0 + self.decay_rate * self._periods(step))


def _cosine(fraction, alpha):
    """The cosine factor: 1 at fraction 0, `alpha` at fraction 1."""
    return (1.0 - alpha) * 0.5 * (1.0 + math.cos(math.pi * fraction)) + alpha


class CosineDecay(LearningRateSchedule):
    """Cosine decay, after an optional linear warmup (SGDR, Loshchilov & Hutter 2016).

    Without `warmup_target`: `initial_learning_rate * c(min(step, decay_steps)
    / decay_steps)` with `c(f) = (1 - alpha) * 0.5 * (1 + cos(pi * f)) + alpha`.
    With it: for `step < warmup_steps` the rate rises linearly from
    `initial_learning_rate` to `warmup_target`; then it is
    `warmup_target * c(min(step - warmup_steps, decay_steps) / decay_steps)`.

    Args:
        initial_learning_rate: the learning rate at step 0.
        decay_steps: the number of decay steps, > 0.
        alpha: the final rate as a fraction of the rate the decay starts from.
        name: the schedule's name.
        warmup_target: the rate the warmup reaches, or None for no warmup.
        warmup_steps: the number of warmup steps, >= 0.

    Raises:
        ValueError: if `decay_steps <= 0`, `warmup_steps < 0` or an argument
            is not a number.

    Example:
        >>> schedule = CosineDecay(0.0, 100, warmup_target=0.1, warmup_steps=10)
        >>> round(schedule(5), 6), round(schedule(10), 6), round(schedule(60), 6)
        (0.05, 0.1, 0.05)
    """

    def __init__(self, initial_learning_rate, decay_steps, alpha=0.0, name="CosineDecay",
                 warmup_target=None, warmup_steps=0):
        self.initial_learning_rate = check_number("initial_learning_rate", initial_learning_rate)
        self.decay_steps = _positive_steps("decay_steps", decay_steps)
        self.alpha = check_number("alpha", alpha)
        self.name = name
        self.warmup_target = (None if warmup_target is None
                              else check_number("warmup_target", warmup_target))
        check_number("warmup_steps", warmup_steps, 0)
        self.warmup_steps = warmup_steps

    def __call__(self, step):
        step = _step(step)
        if self.warmup_target is None:
            return self.initial_learning_rate * _cosine(min(step, self.decay_steps)
                                                        / self.decay_steps, self.alpha)
        if step < self.warmup_steps:
            fraction = step / self.warmup_steps
            return (self.initial_learning_rate
                    + (self.warmup_target - self.initial_learning_rate) * fraction)
        decay_step = min(step - self.warmup_steps, self.decay_steps)
        return self.warmup_target * _cosine(decay_step / self.decay_steps, self.alpha)

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate,
                "decay_steps": self.decay_steps, "alpha": self.alpha, "name": self.name,
                "warmup_target": self.warmup_target, "warmup_steps": self.warmup_steps}


class CosineDecayRestarts(LearningRateSchedule):
    """Cosine decay with warm restarts (SGDR, Loshchilov & Hutter 2016).

    The factor decays from 1 to `alpha` over `first_decay_steps` steps, as in
    `CosineDecay`; then the decay restarts, period `i` lasting
    `first_decay_steps * t_mul**i` steps and starting from
    `initial_learning_rate * m_mul**i`.

    Args:
        initial_learning_rate: the learning rate at step 0.
        first_decay_steps: the length of the first period, > 0.
        t_mul: the growth factor of the period length, > 0.
        m_mul: the factor applied to the starting rate at each restart.
        alpha: the final rate of each period as a fraction of
            `initial_learning_rate`.
        name: the schedule's name.

    Raises:
        ValueError: if `first_decay_steps <= 0`, `t_mul <= 0` or an argument
            is not a number.

    Example:
        >>> schedule = CosineDecayRestarts(0.1, 10, t_mul=2.0, m_mul=0.5)
        >>> round(schedule(5), 6), round(schedule(10), 6), round(schedule(20), 6)
        (0.05, 0.05, 0.025)
    """

    def __init__(self, initial_learning_rate, first_decay_steps, t_mul=2.0, m_mul=1.0, alpha=0.0,
                 name="SGDRDecay"):
        self.initial_learning_rate = check_number("initial_learning_rate", initial_learning_rate)
        self.first_decay_steps = _positive_steps("first_decay_steps", first_decay_steps)
        self.t_mul = check_number("t_mul", t_mul, 0, low_open=True)
        self.m_mul = check_number("m_mul", m_mul, 0)
        self.alpha = check_number("alpha", alpha)
        self.name = name

    def __call__(self, step):
        fraction = _step(step) / self.first_decay_steps
        if self.t_mul == 1.0:
            restart = math.floor(fraction)
            fraction -= restart
        else:
            # Periods last 1, t, t**2, ... (in units of first_decay_steps): period i starts
            # at (1 - t**i) / (1 - t).
            restart = math.floor(math.log(1.0 - fraction * (1.0 - self.t_mul))
                                 / math.log(self.t_mul))
            start = (1.0 - self.t_mul ** restart) / (1.0 - self.t_mul)
            fraction = (fraction - start) / self.t_mul ** restart
        return self.initial_learning_rate * (
            (1.0 - self.alpha) * self.m_mul ** restart * 0.5 * (1.0 + math.cos(math.pi * fraction))
            + self.alpha)

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate,
                "first_decay_steps": self.first_decay_steps, "t_mul": self.t_mul,
                "m_mul": self.m_mul, "alpha": self.alpha, "name": self.name}
