"""`Optimizer`: the base of every optimizer (learning rate, steps, slots, clipping, decay).

The model hands `apply_gradients` the same weights in the same order every
step. Slot arrays (momentums, velocities, ...) are created on the first call
and addressed by position, and each step runs as in-place NumPy ufuncs
through one reusable scratch buffer, so a step allocates no array-sized
temporaries (gradient clipping, when enabled, does). The variables are
checked once per variable set (the same arrays with the same shapes), not at
every step.

Update rules follow Keras 3 (`keras/src/optimizers/*.py`), including the
base-optimizer options `weight_decay`, `clipnorm`, `clipvalue` and
`global_clipnorm`, and the Keras 2 `lr` and `decay` arguments.
"""

import math
import numbers
import operator

import numpy as np

from fastconv.optimizers.schedules import LearningRateSchedule
from fastconv.optimizers.schedules import deserialize as deserialize_schedule
from fastconv.optimizers.schedules import serialize as serialize_schedule
from fastconv.utils.argument_validation import check_number


class Optimizer:
    """Base class: learning rate, step counter, slots, clipping and weight decay.

    Subclasses name their slots in `_slot_names` (with initial values in
    `_slot_init`) and implement `_update(var, grad, slots, lr, step, scratch)`,
    where `slots` maps slot name -> array shaped like `var`, `step` is the
    1-based step number, and `scratch` is a free array shaped like `var`.

    Args:
        learning_rate: a float >= 0, a `LearningRateSchedule`
            (`fastconv.optimizers.schedules`), or a callable taking the step
            count and returning the learning rate. A schedule is called with
            `iterations` (the updates already applied: 0 for the first)
            before each update, as in Keras 3.
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
        self.clipnorm = None if clipnorm is None else check_number("clipnorm", clipnorm, 0, low_open=True)
        self.clipvalue = None if clipvalue is None else check_number("clipvalue", clipvalue, 0, low_open=True)
        self.global_clipnorm = (None if global_clipnorm is None
                                else check_number("global_clipnorm", global_clipnorm, 0, low_open=True))
        self.weight_decay = None if weight_decay is None else check_number("weight_decay", weight_decay, 0)
        self.decay = 0.0 if decay is None else check_number("decay", decay, 0)
        self.name = name if name is not None else type(self).__name__.lower()
        self._schedule = None
        self._learning_rate = None
        self.learning_rate = learning_rate
        self.iterations = 0
        self._slots = None  # list (one per variable) of {slot name: array}
        self._shapes = None
        self._scratch = {}
        self._checked = None  # the variables last checked, and their shapes
        self._scratch_views = None  # one scratch view shaped like each checked variable
        self._checked_slots = None  # the slots of each checked variable
        self._built_variables = None  # the variables the slots were made for

    # ----------------------------------------------------------- learning rate
    @property
    def learning_rate(self):
        """The learning rate of the next step, as a float.

        Settable to a number or a schedule, except that an optimizer built
        with a `LearningRateSchedule` refuses a number, as Keras 3 does (so
        `ReduceLROnPlateau` and `LearningRateScheduler` refuse it).
        """
        if self._schedule is not None:
            return float(self._schedule(self.iterations))
        return self._learning_rate

    @learning_rate.setter
    def learning_rate(self, value):
        if callable(value) and not isinstance(value, numbers.Number):
            self._schedule = value
            self._learning_rate = None
            return
        if isinstance(self._schedule, LearningRateSchedule):
            raise TypeError(
                "This optimizer was created with a `LearningRateSchedule` object as its "
                "`learning_rate` constructor argument, hence its learning rate is not "
                "settable. If you need the learning rate to be settable, you should "
                "instantiate the optimizer with a float `learning_rate` argument."
            )
        if isinstance(value, np.ndarray) and value.size == 1:
            value = value.item()
        self._schedule = None
        self._learning_rate = check_number("learning_rate", value, 0)

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
        self._built_variables = list(var_list)
        largest = {}
        for var in var_list:
            largest[var.dtype] = max(largest.get(var.dtype, 0), var.size)
        self._scratch = {dtype: [np.empty(size, dtype) for _ in range(self._num_scratch)]
                         for dtype, size in largest.items()}
        self._checked = None

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
        variables = [var for _, var in pairs]
        if not self.built:
            self.build(variables)
        if not self._is_checked(variables):
            self._check_variables(variables)
        # (a plain array of the variable's shape is what _check_gradient would return)
        grads = [grad if type(grad) is np.ndarray and grad.shape == var.shape
                 else self._check_gradient(i, grad, var) for i, (grad, var) in enumerate(pairs)]
        grads = self._clip(grads)

        lr = self._current_learning_rate()
        step = self.iterations + 1
        self._before_step(step)
        self._apply_updates(variables, grads, lr, step)
        self.iterations = step
        return self.iterations

    def _apply_updates(self, variables, grads, lr, step):
        """Updates each checked variable with its gradient (None: left as it is); a subclass
        with one pass for all of them overrides this."""
        for var, grad, slots, scratch in zip(variables, grads, self._checked_slots,
                                             self._scratch_views):
            if grad is None:
                continue
            if self.weight_decay:
                self._decay(var, lr, scratch)
            self._update(var, grad, slots, lr, step, scratch)

    def _decay(self, var, lr, scratch):
        """The decoupled weight decay, before a variable's update: `var -= var * wd * lr`."""
        np.multiply(var, self.weight_decay * lr, out=scratch)
        var -= scratch

    def _is_checked(self, variables):
        """Whether `variables` are the arrays last checked (held, so their ids stay unique),
        with the same shapes: the per-step test that replaces checking each variable."""
        checked = self._checked
        return (checked is not None and len(variables) == len(checked[0])
                and all(map(operator.is_, variables, checked[0]))
                and [var.shape for var in variables] == checked[1])

    def _check_variables(self, variables):
        if len(variables) == len(self._slots):
            positions = range(len(variables))
        else:
            # A subset of the variables it was built for (a layer frozen after compile, as
            # Keras allows): their slots by identity, the others' left as they are.
            built = {id(var): i for i, var in enumerate(self._built_variables)}
            positions = [built.get(id(var)) for var in variables]
            if None in positions:
                raise ValueError(
                    f"This optimizer was built for {len(self._slots)} variables, but "
                    f"apply_gradients received {len(variables)} that are not a subset of them. "
                    "Create a new optimizer for a different model."
                )
        for i, position in enumerate(positions):
            var, (shape, dtype) = variables[i], self._shapes[position]
            if not isinstance(var, np.ndarray) or var.shape != shape or var.dtype != dtype:
                raise ValueError(
                    f"Variable {i} changed since the optimizer was built: expected "
                    f"shape={shape}, dtype={dtype}. Received: "
                    f"shape={getattr(var, 'shape', None)}, dtype={getattr(var, 'dtype', None)}"
                )
            self._check_variable(i, var)
        if len(variables) == len(self._slots):
            self._built_variables = list(variables)
        self._checked_slots = [self._slots[position] for position in positions]
        self._scratch_views = [self._scratch_like(var) for var in variables]
        self._checked = (list(variables), [var.shape for var in variables])

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
        if isinstance(self._schedule, LearningRateSchedule):
            learning_rate = serialize_schedule(self._schedule)
        elif self._schedule is not None:
            learning_rate = self._schedule  # a plain callable: saving refuses it
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
    def from_config(cls, config, custom_objects=None):
        """Builds the optimizer from `get_config()`'s output.

        A `learning_rate` dict is a serialized schedule; `custom_objects`
        maps the class names of schedules defined outside fastconv to their
        classes.
        """
        config = dict(config)
        if isinstance(config.get("learning_rate"), dict):
            config["learning_rate"] = deserialize_schedule(config["learning_rate"], custom_objects)
        return cls(**config)

    def __repr__(self):
        return f"<{type(self).__name__} name={self.name!r} learning_rate={self.learning_rate}>"
