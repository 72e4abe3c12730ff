"""`keras.ops.image`: `resize` (bilinear or nearest, half-pixel centers, as Keras and
TensorFlow 2) and `rgb_to_grayscale`, differentiable in the images.

A resize is linear along each spatial axis: it is one interpolation matrix per axis applied
with `einsum`, whose gradient the tape knows.
"""

import numpy as np

from fastconv.ops import _args
from fastconv.ops._tensor import as_float
from fastconv.ops.linalg import einsum, tensordot

__all__ = ["resize", "rgb_to_grayscale"]

# ITU-R 601 luma weights, as tf.image.rgb_to_grayscale and Keras use.
_LUMA = (0.2989, 0.5870, 0.1140)

_INTERPOLATIONS = ("bilinear", "nearest")


def _interpolation_matrix(out_size, in_size, interpolation, dtype):
    """(out_size, in_size) weights: output pixel o reads input pixels around
    (o + 0.5) * in_size / out_size - 0.5, the half-pixel-center rule."""
    scale = in_size / out_size
    rows = np.arange(out_size)
    weights = np.zeros((out_size, in_size), dtype)
    if interpolation == "nearest":
        weights[rows, np.minimum(np.floor((rows + 0.5) * scale).astype(np.int64), in_size - 1)] = 1
        return weights
    source = np.clip((rows + 0.5) * scale - 0.5, 0, in_size - 1)
    low = np.floor(source).astype(np.int64)
    high = np.minimum(low + 1, in_size - 1)
    fraction = source - low
    np.add.at(weights, (rows, low), 1 - fraction)
    np.add.at(weights, (rows, high), fraction)
    return weights


def resize(images, size, interpolation="bilinear", antialias=False, crop_to_aspect_ratio=False,
           pad_to_aspect_ratio=False, fill_mode="constant", fill_value=0.0, data_format=None):
    """Images resized to `size` = (height, width).

    Args:
        images: (H, W, C) or (N, H, W, C) (channels first: (C, H, W) or (N, C, H, W)).
        size: (height, width) of the result.
        interpolation: "bilinear" or "nearest".
        antialias, crop_to_aspect_ratio, pad_to_aspect_ratio: must stay False (not
            supported); fill_mode and fill_value only matter with padding.
        data_format: "channels_last" (the default for None) or "channels_first".

    Returns:
        The resized images, float32 for int inputs.

    Example:
        >>> import numpy as np
        >>> from fastconv import ops
        >>> ops.image.resize(np.array([[[0.0], [1.0]]]), (1, 4))[0, :, 0]
        array([0.  , 0.25, 0.75, 1.  ])
    """
    if interpolation not in _INTERPOLATIONS:
        raise ValueError(f"Invalid value for argument `interpolation`. Expected one of "
                         f"{_INTERPOLATIONS}. Received: interpolation={interpolation}")
    if antialias or crop_to_aspect_ratio or pad_to_aspect_ratio:
        raise ValueError("resize in fastconv supports antialias=False, "
                         "crop_to_aspect_ratio=False and pad_to_aspect_ratio=False only.")
    height, width = _args.normalize_pair(size, "size")
    fmt = _args.normalize_data_format(data_format, allow_none=True)
    images = as_float(images)
    if images.ndim not in (3, 4):
        raise ValueError("Invalid images rank: expected rank 3 (single image) or rank 4 "
                         f"(batch of images). Received: images.shape={images.shape}")
    spatial = "hwc" if fmt == "channels_last" else "chw"
    term = ("n" if images.ndim == 4 else "") + spatial
    h_axis, w_axis = term.index("h"), term.index("w")
    rows = _interpolation_matrix(height, images.shape[h_axis], interpolation, images.dtype)
    cols = _interpolation_matrix(width, images.shape[w_axis], interpolation, images.dtype)
    output = term.replace("h", "y").replace("w", "x")
    return einsum(f"yh,{term},xw->{output}", rows, images, cols)


def rgb_to_grayscale(images, data_format=None):
    """RGB images (3 channels) as one-channel luma images; one-channel images are copied.

    Args:
        images: (H, W, C) or (N, H, W, C) (channels first: (C, H, W) or (N, C, H, W)).
        data_format: "channels_last" (the default for None) or "channels_first".
    """
    fmt = _args.normalize_data_format(data_format, allow_none=True)
    images = as_float(images)
    if images.ndim not in (3, 4):
        raise ValueError("Invalid images rank: expected rank 3 (single image) or rank 4 "
                         f"(batch of images). Received: images.shape={images.shape}")
    axis = -1 if fmt == "channels_last" else -3
    if images.shape[axis] not in (1, 3):
        raise ValueError("Invalid channel size: expected 3 (RGB) or 1 (Grayscale). "
                         f"Received: images.shape={images.shape}")
    if images.shape[axis] == 1:
        return images.copy()
    weights = np.array(_LUMA, images.dtype)
    return np.expand_dims(tensordot(images, weights, axes=([images.ndim + axis], [0])), axis)
