"""`Adagrad`: per-coordinate rates from the accumulated squared gradients."""

import numpy as np

from fastconv.optimizers.base_optimizer import Optimizer, check_number


class Adagrad(Optimizer):
    """Adagrad: `acc += g**2`, `var -= lr * g / sqrt(acc + epsilon)`.

    Args:
        learning_rate: a float >= 0 (default 0.001) or a schedule.
        initial_accumulator_value: the accumulators' starting value (>= 0).
        epsilon: a small constant for numerical stability.
        **kwargs: the base options (see `Optimizer`).
    """

    _slot_names = ("accumulator",)

    def __init__(self, learning_rate=0.001, initial_accumulator_value=0.1, epsilon=1e-7,
                 name="adagrad", **kwargs):
        super().__init__(learning_rate=learning_rate, name=name, **kwargs)
        self.initial_accumulator_value = check_number(
            "initial_accumulator_value", initial_accumulator_value, 0)
        self.epsilon = check_number("epsilon", epsilon, 0)
        self._slot_init = {"accumulator": self.initial_accumulator_value}

    def _update(self, var, grad, slots, lr, step, scratch):
        acc = slots["accumulator"]
        np.multiply(grad, grad, out=scratch)
        acc += scratch
        np.add(acc, self.epsilon, out=scratch)
        np.sqrt(scratch, out=scratch)
        np.divide(grad, scratch, out=scratch)
        scratch *= lr
        var -= scratch

    def get_config(self):
        config = super().get_config()
        config.update({"initial_accumulator_value": self.initial_accumulator_value,
                       "epsilon": self.epsilon})
        return config
