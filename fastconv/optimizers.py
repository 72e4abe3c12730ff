"""Keras-style optimizers that update NumPy weight arrays in place.

The model hands `apply_gradients` the same weights in the same order every
step. Slot arrays (momentums, velocities, ...) are created on the first call
and addressed by position, and each step runs as in-place NumPy ufuncs
through one reusable scratch buffer, so a step allocates no array-sized
temporaries (gradient clipping, when enabled, does).

Update rules follow Keras 3 (`keras/src/optimizers/*.py`), including the
base-optimizer options `weight_decay`, `clipnorm`, `clipvalue` and
`global_clipnorm`, and the Keras 2 `lr` and `decay` arguments.
"""

import math
import numbers

import numpy as np

from fastconv import ops

__all__ = [
    "Optimizer", "SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "Nadam",
    "get", "serialize", "deserialize",
]


def _check_number(name, value, low=None, high=None, low_open=False, high_open=False):
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or math.isnan(value):
        raise ValueError(f"Argument `{name}` must be a number. Received: {name}={value!r}")
    value = float(value)
    too_low = low is not None and (value <= low if low_open else value < low)
    too_high = high is not None and (value >= high if high_open else value > high)
    if too_low or too_high:
        left = "(" if low_open else "["
        right = ")" if high_open else "]"
        span = f"{left}{low if low is not None else '-inf'}, {high if high is not None else 'inf'}{right}"
        raise ValueError(f"Argument `{name}` must be in {span}. Received: {name}={value}")
    return value


class Optimizer:
    """Base class: learning rate, step counter, slots, clipping and weight decay.

    Subclasses name their slots in `_slot_names` (with initial values in
    `_slot_init`) and implement `_update(var, grad, slots, lr, step, scratch)`,
    where `slots` maps slot name -> array shaped like `var`, `step` is the
    1-based step number, and `scratch` is a free array shaped like `var`.

    Args:
        learning_rate: a float >= 0, or a schedule: a callable taking the
            step count (`iterations`) and returning the learning rate.
        weight_decay: if set, each step first does
            `var -= var * weight_decay * learning_rate` (decoupled decay).
        clipnorm: if set, each gradient is rescaled so its L2 norm is at
            most this value.
        clipvalue: if set, each gradient is clipped to `[-clipvalue, clipvalue]`.
        global_clipnorm: if set, all gradients are rescaled together so
            their joint L2 norm is at most this value.
        name: the optimizer's name.
        lr: legacy (Keras 2) alias of `learning_rate`; wins when given.
        decay: legacy (Keras 2) inverse-time decay:
            `lr_t = learning_rate / (1 + decay * iterations)`.
    """

    _slot_names = ()
    _slot_init = {}
    _num_scratch = 1  # work arrays (of the largest variable's size) a step needs

    def __init__(self, learning_rate=0.001, weight_decay=None, clipnorm=None,
                 clipvalue=None, global_clipnorm=None, name=None, **kwargs):
        if "lr" in kwargs:
            learning_rate = kwargs.pop("lr")
        decay = kwargs.pop("decay", None)
        if kwargs:
            raise ValueError(f"Argument(s) not recognized: {kwargs}")
        clips = [arg for arg, value in (("clipnorm", clipnorm), ("clipvalue", clipvalue),
                                        ("global_clipnorm", global_clipnorm))
                 if value is not None]
        if len(clips) > 1:
            raise ValueError(
                "Only one of `clipnorm`, `clipvalue` and `global_clipnorm` can be set. "
                f"Received: {', '.join(clips)}"
            )
        self.clipnorm = None if clipnorm is None else _check_number("clipnorm", clipnorm, 0, low_open=True)
        self.clipvalue = None if clipvalue is None else _check_number("clipvalue", clipvalue, 0, low_open=True)
        self.global_clipnorm = (None if global_clipnorm is None
                                else _check_number("global_clipnorm", global_clipnorm, 0, low_open=True))
        self.weight_decay = None if weight_decay is None else _check_number("weight_decay", weight_decay, 0)
        self.decay = 0.0 if decay is None else _check_number("decay", decay, 0)
        self.name = name if name is not None else type(self).__name__.lower()
        self._schedule = None
        self._learning_rate = None
        self.learning_rate = learning_rate
        self.iterations = 0
        self._slots = None  # list (one per variable) of {slot name: array}
        self._shapes = None
        self._scratch = {}

    # ----------------------------------------------------------- learning rate
    @property
    def learning_rate(self):
        """The learning rate of the next step, as a float (settable)."""
        if self._schedule is not None:
            return float(self._schedule(self.iterations))
        return self._learning_rate

    @learning_rate.setter
    def learning_rate(self, value):
        if callable(value) and not isinstance(value, numbers.Number):
            self._schedule = value
            self._learning_rate = None
            return
        if isinstance(value, np.ndarray) and value.size == 1:
            value = value.item()
        self._schedule = None
        self._learning_rate = _check_number("learning_rate", value, 0)

    lr = learning_rate  # Keras 2 spelling: `optimizer.lr`

    def _current_learning_rate(self):
        lr = self.learning_rate
        if self.decay:
            lr = lr / (1.0 + self.decay * self.iterations)
        return lr

    # ----------------------------------------------------------------- slots
    @property
    def built(self):
        return self._slots is not None

    def build(self, var_list):
        """Creates the slot arrays for `var_list` (done by the first step)."""
        var_list = [self._check_variable(i, var) for i, var in enumerate(var_list)]
        self._slots = [
            {slot: np.full(var.shape, self._slot_init.get(slot, 0.0), dtype=var.dtype)
             for slot in self._active_slots()}
            for var in var_list
        ]
        self._shapes = [(var.shape, var.dtype) for var in var_list]
        largest = {}
        for var in var_list:
            largest[var.dtype] = max(largest.get(var.dtype, 0), var.size)
        self._scratch = {dtype: [np.empty(size, dtype) for _ in range(self._num_scratch)]
                         for dtype, size in largest.items()}

    def _active_slots(self):
        return self._slot_names

    @staticmethod
    def _check_variable(index, var):
        if not isinstance(var, np.ndarray):
            raise TypeError(
                "Optimizers update NumPy arrays in place; variable "
                f"{index} is a {type(var).__name__}."
            )
        if var.dtype.kind != "f":
            raise TypeError(f"Variable {index} must be a float array. Received: dtype={var.dtype}")
        if not var.flags.writeable:
            raise ValueError(f"Variable {index} is read-only and cannot be updated in place.")
        return var

    def _scratch_like(self, var, index=0):
        return self._scratch[var.dtype][index][: var.size].reshape(var.shape)

    # ----------------------------------------------------------------- steps
    def apply_gradients(self, grads_and_vars):
        """Applies one step: each variable (an ndarray) is updated in place.

        Args:
            grads_and_vars: an iterable of `(gradient, variable)` pairs, the
                same variables in the same order at every call. A `None`
                gradient leaves its variable (and its slots) unchanged.

        Returns:
            The number of steps taken so far (`iterations`).

        Raises:
            ValueError: if the number of variables, or a variable's shape,
                differs from the first call, or a gradient's shape differs
                from its variable's.
        """
        pairs = list(grads_and_vars)
        grads = [grad for grad, _ in pairs]
        variables = [var for _, var in pairs]
        if not self.built:
            self.build(variables)
        elif len(variables) != len(self._slots):
            raise ValueError(
                f"This optimizer was built for {len(self._slots)} variables, but "
                f"apply_gradients received {len(variables)}. Create a new optimizer "
                "for a different model."
            )
        for i, (var, (shape, dtype)) in enumerate(zip(variables, self._shapes)):
            if not isinstance(var, np.ndarray) or var.shape != shape or var.dtype != dtype:
                raise ValueError(
                    f"Variable {i} changed since the optimizer was built: expected "
                    f"shape={shape}, dtype={dtype}. Received: "
                    f"shape={getattr(var, 'shape', None)}, dtype={getattr(var, 'dtype', None)}"
                )
        grads = [self._check_gradient(i, g, v) for i, (g, v) in enumerate(zip(grads, variables))]
        grads = self._clip(grads)

        lr = self._current_learning_rate()
        step = self.iterations + 1
        self._before_step(step)
        for var, grad, slots in zip(variables, grads, self._slots):
            if grad is None:
                continue
            scratch = self._scratch_like(var)
            if self.weight_decay:
                np.multiply(var, self.weight_decay * lr, out=scratch)
                var -= scratch
            self._update(var, grad, slots, lr, step, scratch)
        self.iterations = step
        return self.iterations

    def apply(self, grads, trainable_variables):
        """Keras 3 spelling: `apply(grads, variables)`."""
        return self.apply_gradients(zip(grads, trainable_variables))

    @staticmethod
    def _check_gradient(index, grad, var):
        if grad is None:
            return None
        grad = np.asarray(grad)
        if grad.shape != var.shape:
            raise ValueError(
                f"Gradient {index} has shape {grad.shape} but its variable has shape {var.shape}."
            )
        return grad

    def _clip(self, grads):
        if self.clipvalue is not None:
            return [None if g is None else np.clip(g, -self.clipvalue, self.clipvalue) for g in grads]
        if self.clipnorm is not None:
            clipped = []
            for g in grads:
                if g is None:
                    clipped.append(None)
                    continue
                norm = math.sqrt(float(np.vdot(g, g)))
                clipped.append(g * (self.clipnorm / norm) if norm > self.clipnorm else g)
            return clipped
        if self.global_clipnorm is not None:
            total = math.sqrt(sum(float(np.vdot(g, g)) for g in grads if g is not None))
            if total > self.global_clipnorm:
                scale = self.global_clipnorm / total
                return [None if g is None else g * scale for g in grads]
        return grads

    def _before_step(self, step):
        """Hook for state shared by all variables (Nadam's momentum product)."""

    def _update(self, var, grad, slots, lr, step, scratch):
        raise NotImplementedError

    # ----------------------------------------------------------------- state
    def variables(self):
        """The optimizer state as a list of arrays, for saving.

        Order: `iterations` (a 0-d int64 array), then each variable's slots in
        variable order, each variable's slots in `_slot_names` order, then any
        extra state of the subclass (Nadam's momentum product).
        """
        state = [np.array(self.iterations, dtype=np.int64)]
        for slots in self._slots or ():
            state.extend(slots[name] for name in self._active_slots())
        state.extend(np.array(value) for value in self._extra_state())
        return state

    def set_variables(self, values):
        """Restores a state saved by `variables()`.

        Slots are overwritten in place when the optimizer is built, and
        allocated from the saved arrays otherwise (the next `apply_gradients`
        then checks the variables against them).
        """
        values = [np.asarray(value) for value in values]
        names = self._active_slots()
        extra = len(self._extra_state())
        if len(values) < 1 + extra:
            raise ValueError(
                f"{type(self).__name__}.set_variables expects at least {1 + extra} arrays "
                f"(iterations{', extra state' if extra else ''}). Received: {len(values)}"
            )
        slot_values = values[1:len(values) - extra]
        if names:
            if len(slot_values) % len(names):
                raise ValueError(
                    f"{type(self).__name__} keeps {len(names)} slot(s) per variable; received "
                    f"{len(slot_values)} slot arrays, which is not a multiple."
                )
            count = len(slot_values) // len(names)
            if self.built and count != len(self._slots):
                raise ValueError(
                    f"This optimizer holds slots for {len(self._slots)} variables; "
                    f"received state for {count}."
                )
            if not self.built and count:
                self.build([np.empty(v.shape, v.dtype if v.dtype.kind == "f" else np.float32)
                            for v in slot_values[::len(names)]])
            for i, slots in enumerate(self._slots or ()):
                for j, name in enumerate(names):
                    value = slot_values[i * len(names) + j]
                    if value.shape != slots[name].shape:
                        raise ValueError(
                            f"Slot {name!r} of variable {i} has shape {slots[name].shape}. "
                            f"Received: shape={value.shape}"
                        )
                    slots[name][...] = value
        elif slot_values:
            raise ValueError(
                f"{type(self).__name__} keeps no slots. Received: {len(slot_values)} slot arrays"
            )
        self.iterations = int(values[0])
        self._set_extra_state(values[len(values) - extra:])

    def get_state(self):
        return self.variables()

    def set_state(self, values):
        self.set_variables(values)

    def _extra_state(self):
        return []

    def _set_extra_state(self, values):
        pass

    # ---------------------------------------------------------------- config
    def get_config(self):
        if self._schedule is not None:
            schedule = self._schedule
            learning_rate = ({"class_name": type(schedule).__name__, "config": schedule.get_config()}
                             if hasattr(schedule, "get_config") else schedule)
        else:
            learning_rate = self._learning_rate
        config = {
            "name": self.name,
            "learning_rate": learning_rate,
            "weight_decay": self.weight_decay,
            "clipnorm": self.clipnorm,
            "global_clipnorm": self.global_clipnorm,
            "clipvalue": self.clipvalue,
        }
        if self.decay:
            config["decay"] = self.decay
        return config

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __repr__(self):
        return f"<{type(self).__name__} name={self.name!r} learning_rate={self.learning_rate}>"


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
        self.momentum = _check_number("momentum", momentum, 0, 1)
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
        self.beta_1 = _check_number("beta_1", beta_1, 0, 1, high_open=True)
        self.beta_2 = _check_number("beta_2", beta_2, 0, 1, high_open=True)
        self.epsilon = _check_number("epsilon", epsilon, 0)
        self.amsgrad = bool(amsgrad)

    def _active_slots(self):
        return self._slot_names + (("velocity_hat",) if self.amsgrad else ())

    def _update(self, var, grad, slots, lr, step, scratch):
        m, v = slots["momentum"], slots["velocity"]
        alpha = lr * math.sqrt(1.0 - self.beta_2 ** step) / (1.0 - self.beta_1 ** step)
        if not self.amsgrad and var.flags.c_contiguous and var.dtype in (np.float32, np.float64):
            # One compiled pass instead of eight NumPy ones.
            ops.adam_update(var, m, v, grad, alpha=alpha, beta_1=self.beta_1,
                            beta_2=self.beta_2, epsilon=self.epsilon)
            return
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


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov and Hutter).

    Each step first does `var -= var * weight_decay * lr`, then the Adam step.

    Args:
        learning_rate: a float >= 0 (default 0.001) or a schedule.
        weight_decay: the decay rate (default 0.004).
        beta_1, beta_2, epsilon, amsgrad: as in `Adam`.
        **kwargs: the base options (see `Optimizer`).
    """

    def __init__(self, learning_rate=0.001, weight_decay=0.004, beta_1=0.9, beta_2=0.999,
                 epsilon=1e-7, amsgrad=False, name="adamw", **kwargs):
        if weight_decay is None:
            raise ValueError("Argument `weight_decay` must be a float for AdamW. Received: weight_decay=None")
        super().__init__(learning_rate=learning_rate, beta_1=beta_1, beta_2=beta_2,
                         epsilon=epsilon, amsgrad=amsgrad, name=name,
                         weight_decay=weight_decay, **kwargs)


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
        self.rho = _check_number("rho", rho, 0, 1)
        self.momentum = _check_number("momentum", momentum, 0, 1)
        self.epsilon = _check_number("epsilon", epsilon, 0)
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
        self.initial_accumulator_value = _check_number(
            "initial_accumulator_value", initial_accumulator_value, 0)
        self.epsilon = _check_number("epsilon", epsilon, 0)
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
        self.beta_1 = _check_number("beta_1", beta_1, 0, 1, high_open=True)
        self.beta_2 = _check_number("beta_2", beta_2, 0, 1, high_open=True)
        self.epsilon = _check_number("epsilon", epsilon, 0)
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


_CLASSES = {
    "sgd": SGD,
    "adam": Adam,
    "adamw": AdamW,
    "rmsprop": RMSprop,
    "adagrad": Adagrad,
    "nadam": Nadam,
}


def serialize(optimizer):
    """`{"class_name": ..., "config": ...}` for `optimizer`."""
    return {"class_name": type(optimizer).__name__, "config": optimizer.get_config()}


def deserialize(config):
    """Builds an optimizer from `serialize`'s output."""
    if not isinstance(config, dict) or "class_name" not in config:
        raise ValueError(
            "An optimizer config must be a dict with a 'class_name' key. "
            f"Received: config={config!r}"
        )
    cls = _lookup(config["class_name"])
    return cls.from_config(dict(config.get("config") or {}))


def _lookup(name):
    cls = _CLASSES.get(str(name).lower())
    if cls is None:
        valid = ", ".join(repr(key) for key in _CLASSES)
        raise ValueError(f"Unknown optimizer: {name!r}. Valid names are {valid} (case-insensitive).")
    return cls


def get(identifier):
    """Resolves an optimizer from a name, a config dict, a class or an instance.

    Args:
        identifier: a string ('adam', 'SGD', ..., case-insensitive) for an
            optimizer with default arguments, a dict `{"class_name",
            "config"}`, an `Optimizer` subclass, or an `Optimizer` instance
            (returned as is).

    Returns:
        An `Optimizer` instance.

    Raises:
        ValueError: for an unknown name or identifier.
    """
    if isinstance(identifier, Optimizer):
        return identifier
    if isinstance(identifier, str):
        return _lookup(identifier)()
    if isinstance(identifier, dict):
        return deserialize(identifier)
    if isinstance(identifier, type) and issubclass(identifier, Optimizer):
        return identifier()
    raise ValueError(f"Could not interpret optimizer identifier: {identifier!r}")
