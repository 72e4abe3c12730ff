"""`Loss`: the base of every loss, and the input checks all losses share."""

import math
import numbers

import numpy as np

from fastconv.autodiff import GradientTape, active_tape, record

EPSILON = 1e-7
REDUCTIONS = ("sum_over_batch_size", "sum")


_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))  # (`in` tests identity first)


def as_float(y_pred, name="y_pred"):
    y_pred = np.asarray(y_pred)
    if y_pred.dtype in _FLOATS:
        return y_pred
    if y_pred.dtype.kind in "biu":
        return y_pred.astype(np.float32)
    if y_pred.dtype.kind == "f":
        return y_pred.astype(np.float32)
    raise TypeError(f"`{name}` must hold real numbers. Received: {name}.dtype={y_pred.dtype}")


def as_targets(y_true):
    y_true = np.asarray(y_true)
    if y_true.dtype.kind not in "biuf":
        raise ValueError(
            f"Targets must be numbers (int, float or bool). Received: y_true.dtype={y_true.dtype}"
        )
    return y_true


def check_batch(y_true, y_pred_shape):
    y_pred_shape = tuple(y_pred_shape)
    if len(y_pred_shape) == 0:
        raise ValueError("`y_pred` must have a batch axis. Received: y_pred.shape=()")
    if y_true.ndim == 0:
        raise ValueError(f"`y_true` must have a batch axis. Received: y_true.shape=(), "
                         f"y_pred.shape={y_pred_shape}")
    if y_true.shape[0] != y_pred_shape[0]:
        raise ValueError(
            f"`y_true` and `y_pred` must have the same number of samples. Received: "
            f"y_true.shape={y_true.shape} ({y_true.shape[0]} samples), "
            f"y_pred.shape={y_pred_shape} ({y_pred_shape[0]} samples)"
        )
    if y_true.dtype.kind == "f" and not np.all(np.isfinite(y_true)):
        bad = int(np.count_nonzero(~np.isfinite(y_true)))
        raise ValueError(f"`y_true` contains {bad} NaN or Inf value(s); targets must be finite.")


def same_rank(y_true, y_pred_shape):
    """Keras's `squeeze_or_expand_to_same_rank` for element-wise losses."""
    if y_true.ndim == len(y_pred_shape) - 1 and y_pred_shape[-1] == 1:
        return y_true.reshape(y_true.shape + (1,))
    if y_true.ndim == len(y_pred_shape) + 1 and y_true.shape[-1] == 1:
        return y_true.reshape(y_true.shape[:-1])
    return y_true


def check_label_smoothing(value):
    """`label_smoothing` as a float in [0, 1], or ValueError in Keras's form."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not 0.0 <= value <= 1.0:
        raise ValueError("Argument `label_smoothing` must be a float in [0, 1]. "
                         f"Received: label_smoothing={value!r}")
    return float(value)


class Loss:
    """Base class of the losses: `call(y_true, y_pred)` gives the per-sample losses.

    The batch loss is the (sample-weighted) sum of the per-sample losses divided by
    their number ("sum_over_batch_size") or not divided ("sum").

    The built-in losses give their gradient by hand (`_gradient`, and for the
    crossentropies the fused `_logits_gradient`, both taking targets `_targets` checked;
    `value_and_gradient` gives a training step the value and gradient with one check). A
    subclass that implements only
    `call` (Keras 3's way, with NumPy or `fastconv.ops`) is differentiated by the
    gradient tape; its `y_true` arrives in `y_pred`'s dtype, as Keras casts it.

    Args:
        name: the loss's name.
        reduction: "sum_over_batch_size" (default) or "sum".
        dtype: accepted for Keras compatibility (the loss computes in `y_pred`'s dtype).

    Example:
        >>> import numpy as np
        >>> class MeanAbsolute(Loss):
        ...     def call(self, y_true, y_pred):
        ...         return np.mean(np.abs(y_true - y_pred), axis=-1)
        >>> loss = MeanAbsolute()
        >>> float(loss(np.zeros((2, 1)), np.array([[1.0], [-3.0]])))
        2.0
        >>> loss.gradient(np.zeros((2, 1)), np.array([[1.0], [-3.0]])).ravel().tolist()
        [0.5, -0.5]
    """

    from_logits = False

    def __init__(self, name=None, reduction="sum_over_batch_size", dtype=None):
        if reduction not in REDUCTIONS:
            raise ValueError(
                f"Invalid value for argument `reduction`. Expected one of {list(REDUCTIONS)}. "
                f"Received: reduction={reduction!r}"
            )
        self.name = name
        self.reduction = reduction

    # Public API --------------------------------------------------------------
    @classmethod
    def _on_tape(cls):
        """Whether the gradient comes from the tape (the subclass wrote no `gradient` or
        `_gradient`)."""
        return cls.gradient is Loss.gradient and cls._gradient is Loss._gradient

    def __call__(self, y_true, y_pred, sample_weight=None):
        """The reduced loss of a batch, as a Python float; under a recording
        `GradientTape` with a traced `y_pred`, a traced scalar (its gradient the loss's
        `gradient`)."""
        tape = active_tape()
        if tape is not None and tape.node_for(y_pred) is not None:
            return self._recorded(tape, y_true, y_pred, sample_weight)
        y_pred = as_float(y_pred)
        y_true = self._targets(y_true, y_pred.shape)
        if self._on_tape():
            return float(self._reduce(y_true, y_pred, sample_weight))
        return self._reduce_samples(self.call(y_true, y_pred), sample_weight)

    def call(self, y_true, y_pred):
        """Per-sample losses (shape `y_pred.shape[:-1]`), unreduced."""
        raise NotImplementedError

    def gradient(self, y_true, y_pred, sample_weight=None):
        """d(reduced loss) / d(y_pred), with y_pred's shape and float dtype (by default
        from the gradient tape over `call`)."""
        y_pred = as_float(y_pred)
        return self._gradient(self._targets(y_true, y_pred.shape), y_pred, sample_weight)

    def _gradient(self, y_true, y_pred, sample_weight):
        """`gradient` of checked targets (`_targets`' result) and a float `y_pred`: by default
        the gradient tape's over `call`; the built-in losses give theirs by hand."""
        with GradientTape() as tape:
            traced = tape.watch(y_pred)
            total = self._reduce(y_true, traced, sample_weight)
        return np.asarray(tape.gradient(total, traced, unconnected_gradients="zero"),
                          dtype=y_pred.dtype)

    def _reduce(self, y_true, y_pred, sample_weight):
        """The reduced loss from `call`, with NumPy operations the tape follows; `y_true`
        in `y_pred`'s dtype (Keras casts both to the loss's dtype)."""
        per_sample = self.call(np.asarray(y_true, dtype=y_pred.dtype), y_pred)
        weights = self._weights(sample_weight, np.shape(per_sample))
        if weights is not None:
            per_sample = per_sample * weights.astype(np.asarray(y_pred).dtype)
        total = np.sum(per_sample)
        if self.reduction == "sum_over_batch_size":
            total = total / max(np.size(per_sample), 1)
        return total

    def _recorded(self, tape, y_true, y_pred, sample_weight):
        """The loss as a traced scalar on `tape` (a user's training loop)."""
        if self._on_tape():
            y_true = self._targets(y_true, np.shape(y_pred))
            return self._reduce(y_true, y_pred.astype(as_float(y_pred).dtype), sample_weight)
        plain_pred = as_float(np.asarray(y_pred))
        value = self(y_true, plain_pred, sample_weight)
        grad = self.gradient(y_true, plain_pred, sample_weight)
        return record(tape, np.asarray(value, plain_pred.dtype), [y_pred],
                      lambda g: (g * grad,))

    def logits_gradient(self, y_true, probs, sample_weight=None):
        """Fused d(loss)/d(logits) when `probs` is the activation of `logits`."""
        probs = as_float(probs, "probs")
        return self._logits_gradient(self._targets(y_true, probs.shape), probs, sample_weight)

    def value_and_gradient(self, y_true, y_pred, sample_weight=None, logits=False,
                           targets_checked=False):
        """`(loss(...), gradient(...))` of one batch, checking the targets once.

        Args:
            logits: give `logits_gradient(...)` instead of `gradient(...)`.
            targets_checked: the caller has checked these targets against `y_pred`'s shape
                (`check_targets`), as the fit loop does for all of its arrays before the first
                step: a loss whose checks cost a pass over them then only converts them.

        A loss differentiated by the tape, or a subclass that overrides `gradient` or
        `logits_gradient` themselves (rather than `_gradient` / `_logits_gradient`, which take
        checked targets), gets the two calls.
        """
        own = type(self).logits_gradient if logits else type(self).gradient
        if self._on_tape() or own is not (Loss.logits_gradient if logits else Loss.gradient):
            return (self(y_true, y_pred, sample_weight),
                    own(self, y_true, y_pred, sample_weight=sample_weight))
        y_pred = as_float(y_pred)
        if targets_checked:
            targets = self._checked_targets(y_true, y_pred.shape)
        else:
            targets = self._targets(y_true, y_pred.shape)
        value = self._reduce_samples(self.call(targets, y_pred), sample_weight)
        if logits:
            return value, self._logits_gradient(targets, y_pred, sample_weight)
        return value, self._gradient(targets, y_pred, sample_weight)

    def _logits_gradient(self, y_true, probs, sample_weight):
        """`logits_gradient` of checked targets and float `probs`."""
        raise NotImplementedError(f"{type(self).__name__} has no fused logits gradient.")

    def check_targets(self, y_true, y_pred_shape):
        """Validates targets against the prediction shape; returns nothing.

        Raises:
            ValueError: with a message saying what is wrong with `y_true`.
        """
        self._targets(y_true, tuple(y_pred_shape))

    def get_config(self):
        return {"name": self.name, "reduction": self.reduction}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __repr__(self):
        return f"<{type(self).__name__} name={self.name!r}>"

    # Helpers -----------------------------------------------------------------
    def _targets(self, y_true, y_pred_shape):
        y_true = as_targets(y_true)
        check_batch(y_true, y_pred_shape)
        return y_true

    def _checked_targets(self, y_true, y_pred_shape):
        """`_targets` of targets `check_targets` accepted for this shape: by default the same
        (cheap) checks again; a loss whose checks read every label skips them."""
        return self._targets(y_true, y_pred_shape)

    def _reduce_samples(self, per_sample, sample_weight):
        """The (weighted) per-sample losses reduced to a Python float."""
        if sample_weight is not None:
            per_sample = per_sample * self._weights(sample_weight, per_sample.shape)
        total = float(np.add.reduce(per_sample, axis=None, dtype=np.float64))  # (= .sum)
        if self.reduction == "sum_over_batch_size":
            total /= max(per_sample.size, 1)
        return total

    def _weights(self, sample_weight, per_sample_shape):
        if sample_weight is None:
            return None
        weights = np.asarray(sample_weight, dtype=np.float64)
        if weights.ndim > len(per_sample_shape) and weights.shape[-1] == 1:
            weights = weights.reshape(weights.shape[:-1])
        try:
            return np.broadcast_to(
                weights.reshape(weights.shape + (1,) * (len(per_sample_shape) - weights.ndim)),
                per_sample_shape,
            )
        except ValueError:
            raise ValueError(
                f"`sample_weight` of shape {np.shape(sample_weight)} does not match the "
                f"per-sample losses of shape {per_sample_shape}."
            ) from None

    def _scale(self, sample_weight, per_sample_shape, dtype, inner=1):
        """Per-sample factor d(reduced loss)/d(per-sample loss), shaped to broadcast."""
        count = math.prod(per_sample_shape) if self.reduction == "sum_over_batch_size" else 1
        factor = 1.0 / (max(count, 1) * inner)
        if sample_weight is None:
            return dtype.type(factor)
        return (self._weights(sample_weight, per_sample_shape) * factor).astype(dtype)[..., None]


class LossFunctionWrapper(Loss):
    """A `Loss` from a plain function `fn(y_true, y_pred, **kwargs)` of per-sample losses
    (what `compile(loss=my_function)` makes), differentiated by the gradient tape.

    Args:
        fn: the function, written with NumPy or `fastconv.ops`.
        name: the loss's name (default: the function's).
        reduction: "sum_over_batch_size" (default) or "sum".
        **kwargs: further arguments of `fn`.
    """

    def __init__(self, fn, name=None, reduction="sum_over_batch_size", dtype=None, **kwargs):
        if not callable(fn):
            raise TypeError(f"`fn` must be callable. Received: fn={fn!r}")
        super().__init__(name=name or getattr(fn, "__name__", None), reduction=reduction,
                         dtype=dtype)
        self.fn = fn
        self._fn_kwargs = kwargs

    def call(self, y_true, y_pred):
        return self.fn(y_true, y_pred, **self._fn_kwargs)

    def get_config(self):
        config = super().get_config()
        config.update(fn=getattr(self.fn, "__name__", repr(self.fn)), **self._fn_kwargs)
        return config
