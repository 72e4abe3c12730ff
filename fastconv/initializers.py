"""Weight initializers with Keras names, defaults and fan computations.

An initializer is called as `initializer(shape, dtype=None)` and returns a new
NumPy array. Random ones draw from `fastconv.backend.random_generator()`, or,
when given a `seed`, from their own generator (the same values at every call,
as Keras 3's seeded initializers).
"""

import math

import numpy as np

from fastconv import backend

__all__ = [
    "Initializer", "Zeros", "Ones", "Constant", "RandomNormal", "RandomUniform",
    "TruncatedNormal", "VarianceScaling", "GlorotUniform", "GlorotNormal", "HeNormal",
    "HeUniform", "LecunNormal", "LecunUniform", "compute_fans", "get", "serialize",
]

# Standard deviation of a unit normal truncated to [-2, 2]: Keras divides by it
# so a truncated draw keeps the requested variance.
_TRUNCATED_STDDEV = 0.87962566103423978


def compute_fans(shape):
    """Keras's (fan_in, fan_out) of a weight shape.

    A dense kernel `(in, out)` has fans (in, out); a conv kernel
    `(KH, KW, Cin, F)` has (KH*KW*Cin, KH*KW*F).

    Example:
        >>> compute_fans((3, 3, 1, 32))
        (9, 288)
    """
    shape = tuple(int(d) for d in shape)
    if len(shape) == 0:
        return 1, 1
    if len(shape) == 1:
        return shape[0], shape[0]
    if len(shape) == 2:
        return shape[0], shape[1]
    receptive_field = math.prod(shape[:-2])
    return shape[-2] * receptive_field, shape[-1] * receptive_field


def _dtype(dtype):
    return np.dtype(dtype or backend.floatx())


def _truncated_normal(generator, shape, mean, stddev, dtype):
    """Normal draws, redrawn until all lie within two standard deviations."""
    values = generator.standard_normal(shape)
    outside = np.abs(values) > 2
    while np.any(outside):
        values[outside] = generator.standard_normal(int(outside.sum()))
        outside = np.abs(values) > 2
    return (values * stddev + mean).astype(dtype)


class Initializer:
    """Base class: `__call__(shape, dtype=None)`, `get_config()`, `from_config()`."""

    def __call__(self, shape, dtype=None):
        raise NotImplementedError

    def get_config(self):
        return {}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __repr__(self):
        return f"{type(self).__name__}({self.get_config()})"


class Zeros(Initializer):
    """All zeros."""

    def __call__(self, shape, dtype=None):
        return np.zeros(shape, dtype=_dtype(dtype))


class Ones(Initializer):
    """All ones."""

    def __call__(self, shape, dtype=None):
        return np.ones(shape, dtype=_dtype(dtype))


class Constant(Initializer):
    """Every value equal to `value` (default 0)."""

    def __init__(self, value=0.0):
        self.value = value

    def __call__(self, shape, dtype=None):
        return np.full(shape, self.value, dtype=_dtype(dtype))

    def get_config(self):
        return {"value": self.value}


class _Random(Initializer):
    def __init__(self, seed=None):
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, (int, np.integer))):
            raise ValueError(f"`seed` must be an int or None. Received: seed={seed!r}")
        self.seed = seed

    def _generator(self):
        if self.seed is None:
            return backend.random_generator()
        return np.random.default_rng(self.seed)

    def get_config(self):
        return {"seed": self.seed}


class RandomNormal(_Random):
    """Normal draws with `mean` (0) and `stddev` (0.05)."""

    def __init__(self, mean=0.0, stddev=0.05, seed=None):
        super().__init__(seed)
        self.mean, self.stddev = mean, stddev

    def __call__(self, shape, dtype=None):
        values = self._generator().normal(self.mean, self.stddev, size=shape)
        return values.astype(_dtype(dtype))

    def get_config(self):
        return {"mean": self.mean, "stddev": self.stddev, "seed": self.seed}


class RandomUniform(_Random):
    """Uniform draws in [`minval`, `maxval`) (default [-0.05, 0.05))."""

    def __init__(self, minval=-0.05, maxval=0.05, seed=None):
        super().__init__(seed)
        self.minval, self.maxval = minval, maxval

    def __call__(self, shape, dtype=None):
        values = self._generator().uniform(self.minval, self.maxval, size=shape)
        return values.astype(_dtype(dtype))

    def get_config(self):
        return {"minval": self.minval, "maxval": self.maxval, "seed": self.seed}


class TruncatedNormal(_Random):
    """Normal draws within two standard deviations of `mean` (0); `stddev` 0.05."""

    def __init__(self, mean=0.0, stddev=0.05, seed=None):
        super().__init__(seed)
        self.mean, self.stddev = mean, stddev

    def __call__(self, shape, dtype=None):
        return _truncated_normal(self._generator(), shape, self.mean, self.stddev, _dtype(dtype))

    def get_config(self):
        return {"mean": self.mean, "stddev": self.stddev, "seed": self.seed}


class VarianceScaling(_Random):
    """Draws scaled to the weight's fans, as Keras's VarianceScaling.

    Args:
        scale: positive float; the variance is `scale / n`.
        mode: "fan_in", "fan_out" or "fan_avg": what `n` is.
        distribution: "truncated_normal", "untruncated_normal" or "uniform".
        seed: optional int.
    """

    def __init__(self, scale=1.0, mode="fan_in", distribution="truncated_normal", seed=None):
        super().__init__(seed)
        if scale <= 0:
            raise ValueError(
                f"Argument `scale` must be positive float. Received: scale={scale}"
            )
        if mode not in ("fan_in", "fan_out", "fan_avg"):
            raise ValueError(
                "Invalid `mode` argument: expected 'fan_in', 'fan_out' or 'fan_avg'. "
                f"Received: mode={mode!r}"
            )
        distribution = distribution.lower()
        if distribution == "normal":
            distribution = "truncated_normal"
        if distribution not in ("truncated_normal", "untruncated_normal", "uniform"):
            raise ValueError(
                "Invalid `distribution` argument: expected 'truncated_normal', "
                f"'untruncated_normal' or 'uniform'. Received: distribution={distribution!r}"
            )
        self.scale, self.mode, self.distribution = scale, mode, distribution

    def __call__(self, shape, dtype=None):
        fan_in, fan_out = compute_fans(shape)
        fan = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2}[self.mode]
        variance = self.scale / max(1.0, fan)
        generator = self._generator()
        if self.distribution == "uniform":
            limit = math.sqrt(3.0 * variance)
            return generator.uniform(-limit, limit, size=shape).astype(_dtype(dtype))
        if self.distribution == "untruncated_normal":
            values = generator.standard_normal(shape) * math.sqrt(variance)
            return values.astype(_dtype(dtype))
        stddev = math.sqrt(variance) / _TRUNCATED_STDDEV
        return _truncated_normal(generator, shape, 0.0, stddev, _dtype(dtype))

    def get_config(self):
        return {"scale": self.scale, "mode": self.mode,
                "distribution": self.distribution, "seed": self.seed}


def _preset(class_name, scale, mode, distribution, doc):
    def __init__(self, seed=None):
        VarianceScaling.__init__(self, scale=scale, mode=mode,
                                 distribution=distribution, seed=seed)

    def get_config(self):
        return {"seed": self.seed}

    return type(class_name, (VarianceScaling,),
                {"__init__": __init__, "get_config": get_config, "__doc__": doc})


GlorotUniform = _preset("GlorotUniform", 1.0, "fan_avg", "uniform",
                        "Uniform in +-sqrt(6 / (fan_in + fan_out)); the Keras default kernel initializer.")
GlorotNormal = _preset("GlorotNormal", 1.0, "fan_avg", "truncated_normal",
                       "Truncated normal with variance 2 / (fan_in + fan_out).")
HeNormal = _preset("HeNormal", 2.0, "fan_in", "truncated_normal",
                   "Truncated normal with variance 2 / fan_in.")
HeUniform = _preset("HeUniform", 2.0, "fan_in", "uniform", "Uniform in +-sqrt(6 / fan_in).")
LecunNormal = _preset("LecunNormal", 1.0, "fan_in", "truncated_normal",
                      "Truncated normal with variance 1 / fan_in.")
LecunUniform = _preset("LecunUniform", 1.0, "fan_in", "uniform", "Uniform in +-sqrt(3 / fan_in).")

_CLASSES = (Zeros, Ones, Constant, RandomNormal, RandomUniform, TruncatedNormal,
            VarianceScaling, GlorotUniform, GlorotNormal, HeNormal, HeUniform,
            LecunNormal, LecunUniform)
_BY_NAME = {
    "zeros": Zeros, "zero": Zeros, "ones": Ones, "one": Ones, "constant": Constant,
    "random_normal": RandomNormal, "random_uniform": RandomUniform,
    "normal": RandomNormal, "uniform": RandomUniform,  # Keras 3 accepts these short names
    "truncated_normal": TruncatedNormal, "variance_scaling": VarianceScaling,
    "glorot_uniform": GlorotUniform, "glorot_normal": GlorotNormal,
    "he_normal": HeNormal, "he_uniform": HeUniform,
    "lecun_normal": LecunNormal, "lecun_uniform": LecunUniform,
}
_BY_CLASS_NAME = {cls.__name__: cls for cls in _CLASSES}


def serialize(initializer):
    """`{"class_name": ..., "config": ...}`, as Keras stores an initializer in a layer config."""
    if not isinstance(initializer, Initializer):
        return initializer
    return {"class_name": type(initializer).__name__, "config": initializer.get_config()}


def get(identifier):
    """Resolves an initializer from a name, a config dict, a class or an instance.

    Args:
        identifier: a Keras name ("glorot_uniform", "he_normal", "zeros", ...),
            a class name ("GlorotUniform"), a `serialize` dict, an
            `Initializer` class or instance, or a callable `f(shape, dtype)`.

    Returns:
        A callable `initializer(shape, dtype=None)`.

    Raises:
        ValueError: for an unknown identifier.

    Example:
        >>> get("zeros")((2,)).tolist()
        [0.0, 0.0]
    """
    if isinstance(identifier, Initializer):
        return identifier
    if isinstance(identifier, str):
        cls = _BY_NAME.get(identifier.lower()) or _BY_CLASS_NAME.get(identifier)
        if cls is None:
            raise ValueError(
                f"Could not interpret initializer identifier: {identifier!r}. Expected "
                f"one of {sorted(_BY_NAME)}. Received: initializer={identifier!r}"
            )
        return cls()
    if isinstance(identifier, dict):
        cls = _BY_CLASS_NAME.get(identifier.get("class_name"))
        if cls is None:
            raise ValueError(f"Unknown initializer config: {identifier!r}")
        return cls.from_config(dict(identifier.get("config") or {}))
    if isinstance(identifier, type) and issubclass(identifier, Initializer):
        return identifier()
    if callable(identifier):
        return identifier
    raise ValueError(
        f"Could not interpret initializer identifier. Received: initializer={identifier!r}"
    )
