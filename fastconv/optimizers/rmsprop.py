"""`RMSprop`, as Keras computes it."""

import numpy as np

from fastconv.optimizers.base_optimizer import Optimizer, check_number


class RMSprop(Optimizer):
    """RMSprop, as Keras computes it (epsilon inside the square root).

    `v = rho * v + (1 - rho) * g**2`; centered: `a = rho * a + (1 - rho) * g`
    and the denominator is `sqrt(v - a**2 + epsilon)`, else `sqrt(v + epsilon)`;
    `inc = lr * g / denominator`; with momentum `mom = momentum * mom + inc`
    and `var -= mom`, else `var -= inc`.

    Args:
        learning_rate: a float >= 0 (default 0.001) or a schedule.
        rho: discounting factor of the old gradients.
        momentum: a float in [0, 1].
        epsilon: a small constant for numerical stability.
        centered: whether to normalize by the estimated gradient variance.
        **kwargs: the base options (see `Optimizer`).
    """

    def __init__(self, learning_rate=0.001, rho=0.9, momentum=0.0, epsilon=1e-7,
                 centered=False, name="rmsprop", **kwargs):
        super().__init__(learning_rate=learning_rate, name=name, **kwargs)
        self.rho = check_number("rho", rho, 0, 1)
        self.momentum = check_number("momentum", momentum, 0, 1)
        self.epsilon = check_number("epsilon", epsilon, 0)
        self.centered = bool(centered)

    def _active_slots(self):
        slots = ("velocity",)
        if self.momentum > 0:
            slots += ("momentum",)
        if self.centered:
            slots += ("average_gradient",)
        return slots

    def _update(self, var, grad, slots, lr, step, scratch):
        v = slots["velocity"]
        rho = self.rho
        v *= rho
        np.multiply(grad, grad, out=scratch)
        scratch *= 1.0 - rho
        v += scratch
        if self.centered:
            a = slots["average_gradient"]
            a *= rho
            np.multiply(grad, 1.0 - rho, out=scratch)
            a += scratch
            np.multiply(a, a, out=scratch)
            np.subtract(v, scratch, out=scratch)
            scratch += self.epsilon
        else:
            np.add(v, self.epsilon, out=scratch)
        np.sqrt(scratch, out=scratch)
        np.divide(grad, scratch, out=scratch)
        scratch *= lr
        if self.momentum > 0:
            mom = slots["momentum"]
            mom *= self.momentum
            mom += scratch
            var -= mom
        else:
            var -= scratch

    def get_config(self):
        config = super().get_config()
        config.update({"rho": self.rho, "momentum": self.momentum,
                       "epsilon": self.epsilon, "centered": self.centered})
        return config
