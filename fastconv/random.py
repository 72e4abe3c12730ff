"""`keras.random`: random tensors drawn with NumPy, seeded as Keras 3 seeds them.

`seed` may be None (fastconv's global generator, which `keras.utils.set_random_seed`
reseeds), an int (the same numbers on every call with that int), or a `SeedGenerator`
(new numbers on every call, reproducible from the generator's seed). The draws are
constants for the gradient tape; `dropout` is differentiable in its `inputs`.
"""

import numpy as np

from fastconv import backend
from fastconv.ops._tensor import standardize_dtype

__all__ = ["SeedGenerator", "normal", "uniform", "truncated_normal", "randint", "dropout",
           "shuffle", "categorical"]


class SeedGenerator:
    """A stream of random numbers for the `seed=` of `keras.random` functions.

    Hold one in a layer (`self.seed_generator = keras.random.SeedGenerator(1337)`) so that
    each call draws new numbers while the whole run stays reproducible.

    Args:
        seed: an int, or None for a seed taken from fastconv's global generator.

    Example:
        >>> gen = SeedGenerator(42)
        >>> a, b = normal((2,), seed=gen), normal((2,), seed=gen)
        >>> bool((a != b).all())
        True
    """

    def __init__(self, seed=None, **kwargs):
        if seed is None:
            seed = int(backend.random_generator().integers(2**31))
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
            raise ValueError(f"`seed` must be an int or None. Received: seed={seed!r}")
        self.seed = int(seed)
        self.generator = np.random.default_rng(self.seed)

    def get_config(self):
        return {"seed": self.seed}


def _generator(seed):
    if seed is None:
        return backend.random_generator()
    if isinstance(seed, SeedGenerator):
        return seed.generator
    if isinstance(seed, (int, np.integer)) and not isinstance(seed, bool):
        return np.random.default_rng(int(seed))
    raise ValueError("`seed` must be None, an int or a keras.random.SeedGenerator. "
                     f"Received: seed={seed!r}")


def _shape(shape):
    return (int(shape),) if np.ndim(shape) == 0 else tuple(int(size) for size in shape)


def _float_dtype(dtype):
    dtype = standardize_dtype(dtype)
    if dtype.kind != "f":
        raise ValueError(f"Expected a float dtype. Received: dtype={dtype}")
    return dtype


def normal(shape, mean=0.0, stddev=1.0, dtype=None, seed=None):
    """Samples of a normal distribution with `mean` and `stddev` (float32 unless `dtype`)."""
    values = _generator(seed).normal(mean, stddev, size=_shape(shape))
    return values.astype(_float_dtype(dtype))


def uniform(shape, minval=0.0, maxval=1.0, dtype=None, seed=None):
    """Samples of the uniform distribution on [minval, maxval)."""
    dtype = standardize_dtype(dtype)
    if dtype.kind not in "f":
        raise ValueError("uniform draws floats; use keras.random.randint for integers. "
                         f"Received: dtype={dtype}")
    return _generator(seed).uniform(minval, maxval, size=_shape(shape)).astype(dtype)


def truncated_normal(shape, mean=0.0, stddev=1.0, dtype=None, seed=None):
    """Normal samples redrawn until they lie within two `stddev` of `mean` (as Keras)."""
    generator = _generator(seed)
    values = generator.standard_normal(_shape(shape))
    outside = np.abs(values) > 2.0
    while outside.any():
        values[outside] = generator.standard_normal(int(outside.sum()))
        outside = np.abs(values) > 2.0
    return (mean + stddev * values).astype(_float_dtype(dtype))


def randint(shape, minval, maxval, dtype="int32", seed=None):
    """Integers drawn uniformly from [minval, maxval)."""
    dtype = standardize_dtype(dtype)
    return _generator(seed).integers(minval, maxval, size=_shape(shape)).astype(dtype)


def dropout(inputs, rate, noise_shape=None, seed=None):
    """Zeros each entry of `inputs` with probability `rate` and scales the others by
    `1 / (1 - rate)`, so the expected value is unchanged. Differentiable in `inputs`.

    Args:
        inputs: an array.
        rate: in [0, 1).
        noise_shape: the shape of the keep mask, broadcast against `inputs` (e.g.
            `(batch, 1, 1, channels)` drops whole feature maps); defaults to `inputs.shape`.
        seed: None, an int or a `SeedGenerator`.
    """
    rate = float(rate)
    if not 0.0 <= rate < 1.0:
        raise ValueError(f"`rate` must be in [0, 1). Received: rate={rate}")
    inputs = inputs if isinstance(inputs, np.ndarray) else np.asarray(inputs, np.float32)
    shape = inputs.shape if noise_shape is None else tuple(
        inputs.shape[i] if size is None else int(size) for i, size in enumerate(noise_shape))
    keep = _generator(seed).random(shape) >= rate
    return inputs * (keep / (1.0 - rate)).astype(inputs.dtype)


def shuffle(x, axis=0, seed=None):
    """A copy of `x` with its entries permuted along `axis`."""
    x = np.asarray(x)
    order = _generator(seed).permutation(x.shape[axis])
    return np.take(x, order, axis=axis)


def categorical(logits, num_samples, dtype="int32", seed=None):
    """For each row of `logits` (shape `(batch, classes)`), `num_samples` class indices drawn
    with probabilities `softmax(row)`; returns shape `(batch, num_samples)`."""
    logits = np.asarray(logits, dtype=np.float64)
    if logits.ndim != 2:
        raise ValueError("`logits` must have shape (batch_size, num_classes). "
                         f"Received: logits.shape={logits.shape}")
    probs = np.exp(logits - logits.max(axis=1, keepdims=True))
    cumulative = np.cumsum(probs / probs.sum(axis=1, keepdims=True), axis=1)
    draws = _generator(seed).random((logits.shape[0], int(num_samples)))
    samples = (draws[:, :, None] >= cumulative[:, None, :-1]).sum(axis=2)
    return samples.astype(standardize_dtype(dtype))
