"""Image augmentation layers: RandomFlip, RandomRotation, RandomTranslation, RandomZoom.

They transform when called with `training=True` (as inside `fit`) or, as in
Keras 3, when called directly without `training` (`RandomFlip()(images)`
flips); they are the identity with `training=False` (`predict`, `evaluate`). Each sample of a batch gets its own
random transform; with `seed=` a layer draws from its own generator, so two
layers built with the same seed give the same outputs, otherwise from
`fastconv.backend.random_generator()`.

Geometry follows Keras 3 (`keras.layers.Random*` on the NumPy backend, which
uses scipy's `map_coordinates` conventions): pixel centers at integer
coordinates, every output pixel `(x, y)` reads the input at an affine image
`(a0*x + a1*y + a2, b0*x + b1*y + b2)` of itself, bilinearly (or nearest)
interpolated over the whole batch at once. Neighbors outside the image come
from `fill_mode`:

- "reflect": `(d c b a | a b c d | d c b a)`, about the edge of the last pixel;
- "constant": `(k k k k | a b c d | k k k k)` with `k = fill_value`;
- "nearest": `(a a a a | a b c d | d d d d)`;
- "wrap": `(a b c d | a b c d | a b c d)`.

Gradients: `backward` applies the adjoint of the same sampling (a scatter-add
of the output gradient onto the pixels that were read), so the layers may sit
anywhere in a model. Models do not ask these layers for an input gradient when
nothing before them is trainable, which is the usual case.
"""

import math

import numpy as np

from fastconv import backend
from fastconv.layers import _args
from fastconv.layers.base import Layer

__all__ = ["RandomFlip", "RandomRotation", "RandomTranslation", "RandomZoom"]

_FILL_MODES = ("reflect", "wrap", "constant", "nearest")
_INTERPOLATIONS = ("nearest", "bilinear")
HORIZONTAL, VERTICAL, HORIZONTAL_AND_VERTICAL = "horizontal", "vertical", "horizontal_and_vertical"


def _factor_range(factor, name, bound=None):
    """Keras's factor convention: f -> (-|f|, |f|); a pair (lo, hi) -> sorted."""
    if isinstance(factor, (list, tuple)):
        if len(factor) != 2:
            raise ValueError(f"`{name}` must be a float or a pair of floats. "
                             f"Received: {name}={factor!r}")
        lower, upper = sorted(float(f) for f in factor)
    elif isinstance(factor, (int, float, np.integer, np.floating)) and not isinstance(factor, bool):
        lower, upper = -abs(float(factor)), abs(float(factor))
    else:
        raise ValueError(f"`{name}` must be a float or a pair of floats. "
                         f"Received: {name}={factor!r}")
    if bound is not None and (lower < -bound or upper > bound):
        raise ValueError(f"`{name}` must be in [-{bound}, {bound}]. Received: {name}={factor!r}")
    return lower, upper


def _map_index(index, size, fill_mode):
    """Integer pixel indices mapped into [0, size) by `fill_mode`, and which are inside."""
    inside = (index >= 0) & (index < size)
    if fill_mode == "reflect":
        index = np.mod(index, 2 * size)
        index = np.where(index >= size, 2 * size - 1 - index, index)
    elif fill_mode == "wrap":
        index = np.mod(index, size)
    else:  # "nearest"; "constant" reads a clipped index with weight zero outside
        index = np.clip(index, 0, size - 1)
    return index, inside


class _Sampler:
    """One batch's resampling `out[n, y, x] = sum_t w_t * img[idx_t] (+ fill)`, kept for backward.

    Args:
        x_in, y_in: (N, H, W) input coordinates read by every output pixel.
        shape: (N, H, W) of the images.
    """

    def __init__(self, x_in, y_in, shape, interpolation, fill_mode, fill_value):
        n, h, w = shape
        if interpolation == "nearest":
            taps = [(np.floor(y_in + 0.5), np.floor(x_in + 0.5), None)]
        else:
            x0, y0 = np.floor(x_in), np.floor(y_in)
            fx, fy = x_in - x0, y_in - y0
            taps = [(y0, x0, (1 - fy) * (1 - fx)), (y0, x0 + 1, (1 - fy) * fx),
                    (y0 + 1, x0, fy * (1 - fx)), (y0 + 1, x0 + 1, fy * fx)]
        batch = np.arange(n).reshape(n, 1, 1) * (h * w)
        self.taps, fill_weight = [], np.zeros(shape)
        for ys, xs, weight in taps:
            yi, y_inside = _map_index(ys.astype(np.int64), h, fill_mode)
            xi, x_inside = _map_index(xs.astype(np.int64), w, fill_mode)
            weight = np.ones(shape) if weight is None else weight
            if fill_mode == "constant":
                outside = ~(y_inside & x_inside)
                fill_weight += np.where(outside, weight, 0.0)
                weight = np.where(outside, 0.0, weight)
            self.taps.append(((batch + yi * w + xi).reshape(-1), weight.reshape(-1)))
        self.fill = (fill_weight * fill_value).reshape(-1, 1) if fill_mode == "constant" \
            and fill_value != 0 else None
        self.shape = shape

    def forward(self, images):
        n, h, w = self.shape
        flat = images.reshape(n * h * w, -1)
        out = np.zeros_like(flat)
        for index, weight in self.taps:
            out += flat[index] * weight.astype(flat.dtype)[:, None]
        if self.fill is not None:
            out += self.fill.astype(flat.dtype)
        return out.reshape(images.shape)

    def adjoint(self, dy):
        n, h, w = self.shape
        flat_dy = dy.reshape(n * h * w, -1)
        dx = np.zeros_like(flat_dy)
        for index, weight in self.taps:
            np.add.at(dx, index, flat_dy * weight.astype(flat_dy.dtype)[:, None])
        return dx.reshape(dy.shape)


class _RandomImageLayer(Layer):
    """Shared machinery: training switch, seeding, data formats, unbatched inputs."""

    def __init__(self, seed=None, data_format=None, **kwargs):
        super().__init__(**kwargs)
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, (int, np.integer))):
            raise ValueError(f"`seed` must be an int or None. Received: seed={seed!r}")
        self.seed = seed
        self.data_format = _args.data_format(data_format)
        self._generator = None if seed is None else np.random.default_rng(seed)

    def _rng(self):
        return self._generator or backend.random_generator()

    def check_input_shape(self, input_shape):
        if len(input_shape) not in (3, 4):
            raise self._incompatible(
                f"expected images of rank 4 (batch, height, width, channels) or 3 (unbatched), "
                f"found ndim={len(input_shape)}", input_shape)

    def _to_nhwc(self, x):
        unbatched = x.ndim == 3
        if unbatched:
            x = x[None]
        if self.data_format == "channels_first":
            x = np.moveaxis(x, 1, -1)
        return np.ascontiguousarray(x), unbatched

    def _from_nhwc(self, x, unbatched):
        if self.data_format == "channels_first":
            x = np.moveaxis(x, -1, 1)
        x = np.ascontiguousarray(x)
        return x[0] if unbatched else x

    # Keras 3's image preprocessing layers default `training` to True: called directly,
    # `RandomFlip("horizontal")(images)` flips (the Deep Learning with Python pattern).
    training_default = True

    def forward(self, state, inputs, training):
        if not training:
            state.transform = None
            return inputs
        images, unbatched = self._to_nhwc(inputs)
        state.transform = self._draw(images.shape, self._rng())
        return self._from_nhwc(self._apply(state.transform, images), unbatched)

    def grad(self, state, dy):
        if state.transform is None:
            return dy
        grads, unbatched = self._to_nhwc(dy)
        return self._from_nhwc(self._adjoint(state.transform, grads), unbatched)

    def get_config(self):
        config = super().get_config()
        config.update({"seed": self.seed, "data_format": self.data_format})
        return config


class RandomFlip(_RandomImageLayer):
    """Flips each image left-right and/or upside-down with probability 1/2 (when training).

    Args:
        mode: "horizontal" (left-right), "vertical" (upside-down) or
            "horizontal_and_vertical" (each independently, the default).
        seed: optional int for reproducible flips.
        data_format: "channels_last" (default) or "channels_first".
        **kwargs: base `Layer` arguments.

    Input shape:
        `(batch, height, width, channels)` (or unbatched `(height, width, channels)`).

    Output shape:
        Same as the input.

    Example:
        >>> import numpy as np
        >>> x = np.arange(4.0).reshape(1, 2, 2, 1)
        >>> RandomFlip("horizontal")(x, training=False).ravel().tolist()  # inference
        [0.0, 1.0, 2.0, 3.0]
        >>> flipped = RandomFlip("horizontal", seed=1)(x)  # called directly: augments
        >>> sorted(flipped.ravel().tolist())
        [0.0, 1.0, 2.0, 3.0]
    """

    def __init__(self, mode=HORIZONTAL_AND_VERTICAL, seed=None, data_format=None, **kwargs):
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        if mode not in (HORIZONTAL, VERTICAL, HORIZONTAL_AND_VERTICAL):
            raise ValueError(
                f"RandomFlip layer {self.name} received an unknown mode argument {mode!r}. "
                f"Expected one of {HORIZONTAL!r}, {VERTICAL!r}, {HORIZONTAL_AND_VERTICAL!r}."
            )
        self.mode = mode

    def _draw(self, shape, rng):
        n = shape[0]
        flip_h = rng.random(n) < 0.5 if self.mode != VERTICAL else None
        flip_v = rng.random(n) < 0.5 if self.mode != HORIZONTAL else None
        return flip_h, flip_v

    def _apply(self, transform, images):
        flip_h, flip_v = transform
        out = images
        if flip_h is not None:
            out = np.where(flip_h[:, None, None, None], out[:, :, ::-1], out)
        if flip_v is not None:
            out = np.where(flip_v[:, None, None, None], out[:, ::-1], out)
        return np.ascontiguousarray(out)

    def _adjoint(self, transform, dy):
        return self._apply(transform, dy)  # a flip is its own transpose

    def get_config(self):
        config = super().get_config()
        config["mode"] = self.mode
        return config


class _AffineLayer(_RandomImageLayer):
    """A random per-sample affine resampling (rotation, translation, zoom)."""

    def __init__(self, fill_mode="reflect", interpolation="bilinear", seed=None, fill_value=0.0,
                 data_format=None, **kwargs):
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        if fill_mode not in _FILL_MODES:
            raise ValueError(f"Unknown `fill_mode` {fill_mode!r}. Expected one of {_FILL_MODES}.")
        if interpolation not in _INTERPOLATIONS:
            raise ValueError(f"Unknown `interpolation` {interpolation!r}. Expected one of "
                             f"{_INTERPOLATIONS}.")
        self.fill_mode = fill_mode
        self.interpolation = interpolation
        self.fill_value = float(fill_value)

    def _matrices(self, n, h, w, rng):
        """(a0, a1, a2, b0, b1, b2), each (n,): output (x, y) reads input (a.(x,y,1), b.(x,y,1))."""
        raise NotImplementedError

    def _draw(self, shape, rng):
        n, h, w, _ = shape
        a0, a1, a2, b0, b1, b2 = (m.reshape(n, 1, 1) for m in self._matrices(n, h, w, rng))
        y, x = np.meshgrid(np.arange(h, dtype=np.float64), np.arange(w, dtype=np.float64),
                           indexing="ij")
        x_in = a0 * x + a1 * y + a2
        y_in = b0 * x + b1 * y + b2
        return _Sampler(x_in, y_in, (n, h, w), self.interpolation, self.fill_mode,
                        self.fill_value)

    def _apply(self, transform, images):
        return transform.forward(images)

    def _adjoint(self, transform, dy):
        return transform.adjoint(dy)

    def get_config(self):
        config = super().get_config()
        config.update({"fill_mode": self.fill_mode, "interpolation": self.interpolation,
                       "fill_value": self.fill_value})
        return config


class RandomRotation(_AffineLayer):
    """Rotates each image by a random angle about its center (when training).

    Args:
        factor: a fraction of a full turn (2*pi): a float f draws angles in
            [-f * 2pi, f * 2pi], a pair (lo, hi) in [lo * 2pi, hi * 2pi].
            Positive angles rotate counter-clockwise (as Keras).
        fill_mode: "reflect" (default), "constant", "nearest" or "wrap".
        interpolation: "bilinear" (default) or "nearest".
        seed: optional int for reproducible rotations.
        fill_value: the value outside the image with fill_mode="constant".
        data_format: "channels_last" (default) or "channels_first".
        **kwargs: base `Layer` arguments.

    Input shape:
        `(batch, height, width, channels)` (or unbatched).

    Output shape:
        Same as the input.

    Example:
        >>> import numpy as np
        >>> layer = RandomRotation(0.1, seed=0)
        >>> layer(np.ones((2, 8, 8, 3)), training=True).shape
        (2, 8, 8, 3)
    """

    def __init__(self, factor, fill_mode="reflect", interpolation="bilinear", seed=None,
                 fill_value=0.0, data_format=None, **kwargs):
        super().__init__(fill_mode=fill_mode, interpolation=interpolation, seed=seed,
                         fill_value=fill_value, data_format=data_format, **kwargs)
        self.factor = factor
        self._lower, self._upper = _factor_range(factor, "factor")

    def _matrices(self, n, h, w, rng):
        angle = rng.uniform(self._lower, self._upper, size=n) * 2 * math.pi
        cos, sin = np.cos(angle), np.sin(angle)
        cx, cy = (w - 1) / 2, (h - 1) / 2
        return (cos, -sin, cx - cos * cx + sin * cy, sin, cos, cy - sin * cx - cos * cy)

    def get_config(self):
        config = super().get_config()
        config["factor"] = self.factor
        return config


class RandomTranslation(_AffineLayer):
    """Shifts each image by a random fraction of its height and width (when training).

    Args:
        height_factor: a fraction of the height: f shifts by a random amount
            in [-f * height, f * height], a pair (lo, hi) in
            [lo * height, hi * height]; positive moves the image down.
        width_factor: the same for the width; positive moves the image right.
        fill_mode: "reflect" (default), "constant", "nearest" or "wrap".
        interpolation: "bilinear" (default) or "nearest".
        seed: optional int for reproducible shifts.
        fill_value: the value outside the image with fill_mode="constant".
        data_format: "channels_last" (default) or "channels_first".
        **kwargs: base `Layer` arguments.

    Input shape:
        `(batch, height, width, channels)` (or unbatched).

    Output shape:
        Same as the input.

    Example:
        >>> import numpy as np
        >>> RandomTranslation(0.1, 0.1, seed=0)(np.ones((2, 8, 8, 1)), training=True).shape
        (2, 8, 8, 1)
    """

    def __init__(self, height_factor, width_factor, fill_mode="reflect",
                 interpolation="bilinear", seed=None, fill_value=0.0, data_format=None,
                 **kwargs):
        super().__init__(fill_mode=fill_mode, interpolation=interpolation, seed=seed,
                         fill_value=fill_value, data_format=data_format, **kwargs)
        self.height_factor = height_factor
        self.width_factor = width_factor
        self._height = _factor_range(height_factor, "height_factor", bound=1.0)
        self._width = _factor_range(width_factor, "width_factor", bound=1.0)

    def _matrices(self, n, h, w, rng):
        dy = rng.uniform(*self._height, size=n) * h
        dx = rng.uniform(*self._width, size=n) * w
        zeros, ones = np.zeros(n), np.ones(n)
        return (ones, zeros, -dx, zeros, ones, -dy)

    def get_config(self):
        config = super().get_config()
        config.update({"height_factor": self.height_factor, "width_factor": self.width_factor})
        return config


class RandomZoom(_AffineLayer):
    """Zooms each image in or out about its center by a random amount (when training).

    As in Keras 3, a positive factor zooms OUT (the image shrinks, the border
    is filled) and a negative one zooms in: the input is read at
    `center + (1 + factor) * (output - center)`.

    Args:
        height_factor: f draws the vertical factor in [-f, f]; a pair (lo, hi)
            in [lo, hi]; each in [-1, 1].
        width_factor: the same horizontally; None (default) uses the vertical
            factor, preserving the aspect ratio.
        fill_mode: "reflect" (default), "constant", "nearest" or "wrap".
        interpolation: "bilinear" (default) or "nearest".
        seed: optional int for reproducible zooms.
        fill_value: the value outside the image with fill_mode="constant".
        data_format: "channels_last" (default) or "channels_first".
        **kwargs: base `Layer` arguments.

    Input shape:
        `(batch, height, width, channels)` (or unbatched).

    Output shape:
        Same as the input.

    Example:
        >>> import numpy as np
        >>> RandomZoom(0.2, seed=0)(np.ones((2, 8, 8, 1)), training=True).shape
        (2, 8, 8, 1)
    """

    def __init__(self, height_factor, width_factor=None, fill_mode="reflect",
                 interpolation="bilinear", seed=None, fill_value=0.0, data_format=None,
                 **kwargs):
        super().__init__(fill_mode=fill_mode, interpolation=interpolation, seed=seed,
                         fill_value=fill_value, data_format=data_format, **kwargs)
        self.height_factor = height_factor
        self.width_factor = width_factor
        self._height = _factor_range(height_factor, "height_factor", bound=1.0)
        self._width = None if width_factor is None else \
            _factor_range(width_factor, "width_factor", bound=1.0)

    def _matrices(self, n, h, w, rng):
        zoom_y = 1.0 + rng.uniform(*self._height, size=n)
        zoom_x = zoom_y if self._width is None else 1.0 + rng.uniform(*self._width, size=n)
        cx, cy = (w - 1) / 2, (h - 1) / 2
        zeros = np.zeros(n)
        return (zoom_x, zeros, cx * (1 - zoom_x), zeros, zoom_y, cy * (1 - zoom_y))

    def get_config(self):
        config = super().get_config()
        config.update({"height_factor": self.height_factor, "width_factor": self.width_factor})
        return config
