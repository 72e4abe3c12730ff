"""`Adam`, in Keras's epsilon-hat form."""

import math

import numpy as np

from fastconv.ops import optim
from fastconv.optimizers.base_optimizer import Optimizer, check_number


def _compiled_views(var, m, v, amsgrad):
    """(var, m, v) as flat views for the compiled Adam pass, or None: AMSGrad, another float
    dtype or a non-contiguous variable take the NumPy passes."""
    if amsgrad or not var.flags.c_contiguous or var.dtype.char not in "fd":
        return None
    return var.reshape(-1), m.reshape(-1), v.reshape(-1)


class Adam(Optimizer):
    """Adam, in Keras's epsilon-hat form.

    Per step t (1-based): `m += (g - m) * (1 - beta_1)`,
    `v += (g**2 - v) * (1 - beta_2)`,
    `lr_t = lr * sqrt(1 - beta_2**t) / (1 - beta_1**t)`,
    `var -= lr_t * m / (sqrt(v) + epsilon)`; with `amsgrad`, `v` in the last
    formula is replaced by the running maximum of `v`.

    Args:
        learning_rate: a float >= 0 (default 0.001) or a schedule.
        beta_1: decay rate of the first-moment estimates, in [0, 1).
        beta_2: decay rate of the second-moment estimates, in [0, 1).
        epsilon: the "epsilon hat" of Kingma and Ba (before Section 2.1).
        amsgrad: whether to use the AMSGrad variant.
        **kwargs: the base options (see `Optimizer`).

    Example:
        >>> import numpy as np
        >>> w = np.array([1.0])
        >>> _ = Adam(learning_rate=0.1).apply_gradients([(np.array([3.0]), w)])
        >>> bool(abs(w[0] - 0.9) < 1e-6)
        True
    """

    _slot_names = ("momentum", "velocity")

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7,
                 amsgrad=False, name="adam", **kwargs):
        super().__init__(learning_rate=learning_rate, name=name, **kwargs)
        self.beta_1 = check_number("beta_1", beta_1, 0, 1, high_open=True)
        self.beta_2 = check_number("beta_2", beta_2, 0, 1, high_open=True)
        self.epsilon = check_number("epsilon", epsilon, 0)
        self.amsgrad = bool(amsgrad)
        self._flat_views = (None, None)  # (the checked slots they are for, the views)

    def _active_slots(self):
        return self._slot_names + (("velocity_hat",) if self.amsgrad else ())

    def _before_step(self, step):
        self._correction = math.sqrt(1.0 - self.beta_2 ** step) / (1.0 - self.beta_1 ** step)

    def _apply_updates(self, variables, grads, lr, step):
        if type(self)._update is not Adam._update:  # a subclass's own rule
            super()._apply_updates(variables, grads, lr, step)
            return
        compiled = []  # one compiled pass per variable, all from one call
        for var, grad, slots, scratch, views in zip(variables, grads, self._checked_slots,
                                                    self._scratch_views, self._views(variables)):
            if grad is None:
                continue
            if self.weight_decay:
                self._decay(var, lr, scratch)
            if views is None:
                self._update(var, grad, slots, lr, step, scratch)
            else:
                compiled.append((*views, grad))
        optim.adam_update_checked(compiled, lr * self._correction, self.beta_1, self.beta_2,
                                  self.epsilon)

    def _views(self, variables):
        """The flat views of each checked variable, made once per checked set (the base
        optimizer makes a new `_checked_slots` list for each)."""
        made_for, views = self._flat_views
        if made_for is not self._checked_slots:
            views = [_compiled_views(var, slots["momentum"], slots["velocity"], self.amsgrad)
                     for var, slots in zip(variables, self._checked_slots)]
            self._flat_views = (self._checked_slots, views)
        return views

    def _update(self, var, grad, slots, lr, step, scratch):
        """The NumPy passes, for a variable the compiled pass does not take."""
        m, v = slots["momentum"], slots["velocity"]
        alpha = lr * self._correction
        np.subtract(grad, m, out=scratch)
        scratch *= 1.0 - self.beta_1
        m += scratch
        np.multiply(grad, grad, out=scratch)
        scratch -= v
        scratch *= 1.0 - self.beta_2
        v += scratch
        if self.amsgrad:
            v_hat = slots["velocity_hat"]
            np.maximum(v_hat, v, out=v_hat)
            v = v_hat
        np.sqrt(v, out=scratch)
        scratch += self.epsilon
        np.divide(m, scratch, out=scratch)
        scratch *= alpha
        var -= scratch

    def get_config(self):
        config = super().get_config()
        config.update({"beta_1": self.beta_1, "beta_2": self.beta_2,
                       "epsilon": self.epsilon, "amsgrad": self.amsgrad})
        return config
