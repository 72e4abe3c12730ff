"""`Nadam`: Adam with Nesterov momentum and Keras's momentum schedule."""

import numpy as np

from fastconv.optimizers.base_optimizer import Optimizer, check_number


class Nadam(Optimizer):
    """Nadam: Adam with Nesterov momentum, with Keras's momentum schedule.

    With `u_t = beta_1 * (1 - 0.5 * 0.96**t)` and `U_t = u_1 * ... * u_t`:
    `m += (g - m) * (1 - beta_1)`, `v += (g**2 - v) * (1 - beta_2)`,
    `m_hat = u_{t+1} * m / (1 - U_t * u_{t+1}) + (1 - u_t) * g / (1 - U_t)`,
    `v_hat = v / (1 - beta_2**t)`, `var -= lr * m_hat / (sqrt(v_hat) + epsilon)`.

    Args:
        learning_rate: a float >= 0 (default 0.001) or a schedule.
        beta_1, beta_2, epsilon: as in `Adam`.
        **kwargs: the base options (see `Optimizer`).

    Reference: Dozat, 2015, "Incorporating Nesterov Momentum into Adam".
    """

    _slot_names = ("momentum", "velocity")
    _num_scratch = 2

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7,
                 name="nadam", **kwargs):
        super().__init__(learning_rate=learning_rate, name=name, **kwargs)
        self.beta_1 = check_number("beta_1", beta_1, 0, 1, high_open=True)
        self.beta_2 = check_number("beta_2", beta_2, 0, 1, high_open=True)
        self.epsilon = check_number("epsilon", epsilon, 0)
        self._u_product = 1.0

    def _u(self, t):
        return self.beta_1 * (1.0 - 0.5 * 0.96 ** t)

    def _before_step(self, step):
        self._u_product *= self._u(step)

    def _update(self, var, grad, slots, lr, step, scratch):
        m, v = slots["momentum"], slots["velocity"]
        u_t, u_next = self._u(step), self._u(step + 1)
        u_prod = self._u_product
        u_prod_next = u_prod * u_next
        np.subtract(grad, m, out=scratch)
        scratch *= 1.0 - self.beta_1
        m += scratch
        np.multiply(grad, grad, out=scratch)
        scratch -= v
        scratch *= 1.0 - self.beta_2
        v += scratch
        # var -= (c1 * m + c2 * g) / (sqrt(v_hat) + epsilon), lr folded into c1, c2
        denominator = self._scratch_like(var, 1)
        np.multiply(v, 1.0 / (1.0 - self.beta_2 ** step), out=denominator)
        np.sqrt(denominator, out=denominator)
        denominator += self.epsilon
        np.multiply(m, lr * u_next / (1.0 - u_prod_next), out=scratch)
        var -= np.divide(scratch, denominator, out=scratch)
        np.multiply(grad, lr * (1.0 - u_t) / (1.0 - u_prod), out=scratch)
        var -= np.divide(scratch, denominator, out=scratch)

    def _extra_state(self):
        return [self._u_product]

    def _set_extra_state(self, values):
        self._u_product = float(values[0])

    def get_config(self):
        config = super().get_config()
        config.update({"beta_1": self.beta_1, "beta_2": self.beta_2, "epsilon": self.epsilon})
        return config
