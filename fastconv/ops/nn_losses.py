"""`keras.ops.nn` encodings, cross-entropies and normalization statistics: one_hot,
multi_hot, binary/categorical/sparse_categorical_crossentropy, moments,
batch_normalization, normalize.

The cross-entropies are Keras's per-sample values (reduced over the class axis only), with
its clipping of probabilities to [1e-7, 1 - 1e-7]; they are written with differentiable ops,
so their gradients are those of the formulas (zero where the clip is active).
"""

import numpy as np

from fastconv.ops._tensor import as_float, axis_tuple, standardize_dtype, tensor
from fastconv.ops.linalg import norm
from fastconv.ops.nn_activations import log_softmax, sigmoid

__all__ = ["one_hot", "multi_hot", "binary_crossentropy", "categorical_crossentropy",
           "sparse_categorical_crossentropy", "moments", "batch_normalization", "normalize"]

_EPSILON = 1e-7  # Keras's backend.epsilon()


def one_hot(x, num_classes, axis=-1, dtype=None, sparse=False):
    """Integer labels (or whole-number floats, as Keras accepts) as one-hot vectors along a new `axis` (float32 unless `dtype`); labels
    outside [0, num_classes) give all-zero vectors. No gradient.

    Example:
        >>> from fastconv import ops
        >>> ops.one_hot([0, 2], 3)
        array([[1., 0., 0.],
               [0., 0., 1.]], dtype=float32)
    """
    if sparse:
        raise ValueError("`sparse=True` is not supported by fastconv (NumPy arrays are dense).")
    labels = np.asarray(tensor(x))
    if labels.dtype.kind == "f" and np.array_equal(labels, np.floor(labels)):
        labels = labels.astype(np.int64)  # Keras takes whole-number float labels (e.g. float32 y)
    if labels.dtype.kind not in "iub":
        raise TypeError("one_hot takes integer labels (or floats holding whole numbers). "
                        f"Received: x with dtype={labels.dtype}")
    num_classes = int(num_classes)
    encoded = (labels[..., None] == np.arange(num_classes)).astype(standardize_dtype(dtype))
    return encoded if axis == -1 else np.moveaxis(encoded, -1, axis)


def multi_hot(inputs, num_classes=None, axis=-1, dtype=None, sparse=False, **kwargs):
    """Each row of integer labels as one vector with ones at every label present."""
    if num_classes is None:
        num_classes = kwargs.pop("num_tokens", None)
    if kwargs or num_classes is None:
        raise ValueError("multi_hot needs `num_classes` (and takes no other keyword). "
                         f"Received: num_classes={num_classes}, kwargs={kwargs}")
    labels = np.asarray(tensor(inputs))
    encoded = one_hot(labels, num_classes, axis=axis, dtype=dtype, sparse=sparse)
    return np.max(encoded, axis=1 if labels.ndim > 1 else 0)


def _check_same_shape(target, output):
    if target.shape != output.shape:
        raise ValueError("Arguments `target` and `output` must have the same shape. Received: "
                         f"target.shape={target.shape}, output.shape={output.shape}")


def _log_probabilities(output, from_logits, axis):
    if from_logits:
        return log_softmax(output, axis=axis)
    output = output / np.sum(output, axis=axis, keepdims=True)
    return np.log(np.clip(output, _EPSILON, 1.0 - _EPSILON))


def categorical_crossentropy(target, output, from_logits=False, axis=-1):
    """-sum(target * log(p)) along `axis`, p = output (normalized, clipped) or its softmax.

    Example:
        >>> from fastconv import ops
        >>> round(float(ops.categorical_crossentropy([0.0, 1.0], [0.5, 0.5])), 6)  # log 2
        0.693147
    """
    target, output = tensor(target), as_float(output)
    _check_same_shape(target, output)
    if output.ndim < 1:
        raise ValueError("Arguments `target` and `output` must be at least rank 1. Received: "
                         f"target.shape={target.shape}, output.shape={output.shape}")
    return -np.sum(target * _log_probabilities(output, from_logits, axis), axis=axis)


def sparse_categorical_crossentropy(target, output, from_logits=False, axis=-1):
    """`categorical_crossentropy` of integer class labels (a trailing size-1 axis is dropped)."""
    labels, output = np.asarray(tensor(target)).astype(np.int64), as_float(output)
    if output.ndim < 1:
        raise ValueError(f"Argument `output` must be at least rank 1. Received: "
                         f"output.shape={output.shape}")
    if labels.ndim == output.ndim and labels.shape[-1] == 1:
        labels = np.squeeze(labels, -1)
    if labels.shape != output.shape[:-1]:
        raise ValueError("Arguments `target` and `output` must have the same shape up until "
                         f"the last dimension: target.shape={labels.shape}, "
                         f"output.shape={output.shape}")
    if labels.size and (labels.min() < 0 or labels.max() >= output.shape[axis]):
        raise ValueError(f"Labels must lie in [0, {output.shape[axis]}). Received labels from "
                         f"{labels.min()} to {labels.max()}")
    encoded = one_hot(labels, output.shape[axis], axis=axis, dtype=output.dtype)
    return -np.sum(encoded * _log_probabilities(output, from_logits, axis), axis=axis)


def binary_crossentropy(target, output, from_logits=False):
    """Element-wise -(t log p + (1 - t) log(1 - p)), p = output (or its sigmoid) clipped."""
    target, output = tensor(target), as_float(output)
    _check_same_shape(target, output)
    if from_logits:
        output = sigmoid(output)
    output = np.clip(output, _EPSILON, 1.0 - _EPSILON)
    return -(target * np.log(output) + (1.0 - target) * np.log(1.0 - output))


def moments(x, axes, keepdims=False, synchronized=False):
    """(mean, variance) of `x` over `axes`.

    Example:
        >>> import numpy as np
        >>> from fastconv import ops
        >>> mean, variance = ops.moments(np.array([[1.0, 3.0], [5.0, 7.0]]), axes=1)
        >>> mean.tolist(), variance.tolist()
        ([2.0, 6.0], [1.0, 1.0])
    """
    if synchronized:
        raise NotImplementedError("Argument synchronized=True is not supported by fastconv "
                                  "(there is one process).")
    x = as_float(x)
    axes = axis_tuple(axes, x.ndim, "axes")
    mean = np.mean(x, axis=axes, keepdims=True)
    variance = np.mean(np.square(x - mean), axis=axes, keepdims=keepdims)
    return (mean if keepdims else np.squeeze(mean, axis=axes)), variance


def batch_normalization(x, mean, variance, axis, offset=None, scale=None, epsilon=1e-3):
    """(x - mean) / sqrt(variance + epsilon) * scale + offset, the 1-D statistics and
    parameters lying along `axis`."""
    x = as_float(x)
    shape = [1] * x.ndim
    shape[axis] = np.shape(mean)[0]
    inverse = 1.0 / np.sqrt(np.reshape(tensor(variance), shape) + epsilon)
    if scale is not None:
        inverse = inverse * np.reshape(tensor(scale), shape)
    result = (x - np.reshape(tensor(mean), shape)) * inverse
    if offset is not None:
        result = result + np.reshape(tensor(offset), shape)
    return result


def normalize(x, axis=-1, order=2, epsilon=None):
    """`x` divided by its `order`-norm along `axis` (at least `epsilon`, default 1e-7)."""
    x = as_float(x)
    size = norm(x, ord=order, axis=axis, keepdims=True)
    return x / np.maximum(size, _EPSILON if epsilon is None else epsilon)
