"""`SGD`: gradient descent with optional (Nesterov) momentum."""

import numpy as np

from fastconv.optimizers.base_optimizer import Optimizer, check_number


class SGD(Optimizer):
    """Gradient descent, with optional (Nesterov) momentum.

    With `momentum == 0`: `var -= lr * g`. Otherwise (Keras's form):
    `m = momentum * m - lr * g`, then `var += m`, or with Nesterov
    `var += momentum * m - lr * g`.

    Args:
        learning_rate: a float >= 0 (default 0.01) or a schedule.
        momentum: a float in [0, 1].
        nesterov: whether to apply Nesterov momentum.
        **kwargs: the base options (see `Optimizer`).

    Example:
        >>> import numpy as np
        >>> w = np.array([1.0, 2.0])
        >>> _ = SGD(learning_rate=0.1).apply_gradients([(np.array([1.0, -1.0]), w)])
        >>> w
        array([0.9, 2.1])
    """

    def __init__(self, learning_rate=0.01, momentum=0.0, nesterov=False, name="SGD", **kwargs):
        super().__init__(learning_rate=learning_rate, name=name, **kwargs)
        self.momentum = check_number("momentum", momentum, 0, 1)
        self.nesterov = bool(nesterov)

    def _active_slots(self):
        return ("momentum",) if self.momentum > 0 else ()

    def _update(self, var, grad, slots, lr, step, scratch):
        if self.momentum == 0:
            np.multiply(grad, lr, out=scratch)
            var -= scratch
            return
        m = slots["momentum"]
        m *= self.momentum
        np.multiply(grad, lr, out=scratch)
        m -= scratch
        if self.nesterov:
            # var += momentum * m - lr * g, with scratch still holding lr * g
            var -= scratch
            np.multiply(m, self.momentum, out=scratch)
            var += scratch
        else:
            var += m

    def get_config(self):
        config = super().get_config()
        config.update({"momentum": self.momentum, "nesterov": self.nesterov})
        return config
