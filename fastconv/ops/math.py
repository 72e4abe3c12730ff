"""`keras.ops.math`: erf, rsqrt, logsumexp, top_k, in_top_k, segment_sum, segment_max.

`erf` uses Python's `math.erf` element by element (NumPy has no erf and SciPy is not a
dependency), so it costs about 0.1 microsecond per element.
"""

import math

import numpy as np

from fastconv.autodiff import primitive
from fastconv.ops._tensor import as_float, tensor
from fastconv.ops.shape_ops import take_along_axis

__all__ = ["erf", "rsqrt", "logsumexp", "top_k", "in_top_k", "segment_sum", "segment_max"]

_erf = np.frompyfunc(math.erf, 1, 1)


@primitive(lambda out, x: lambda g: (g * (2.0 / math.sqrt(math.pi)) * np.exp(-x * x),))
def _erf_op(x):
    return _erf(x).astype(x.dtype)


def erf(x):
    """The error function, element-wise.

    Example:
        >>> from fastconv import ops
        >>> ops.erf([0.0, 10.0])
        array([0., 1.], dtype=float32)
    """
    return _erf_op(as_float(x))


def rsqrt(x):
    """1 / sqrt(x), element-wise."""
    return 1.0 / np.sqrt(as_float(x))


def _logsumexp_vjp(out, x, axis=None, keepdims=False):
    def vjp(g):
        kept_out, kept_g = out, g
        if not keepdims:
            axes = range(x.ndim) if axis is None else sorted(
                a % x.ndim for a in (axis if isinstance(axis, tuple) else (axis,)))
            for a in axes:
                kept_out, kept_g = np.expand_dims(kept_out, a), np.expand_dims(kept_g, a)
        return (kept_g * np.exp(x - kept_out),)
    return vjp


@primitive(_logsumexp_vjp)
def _logsumexp(x, axis=None, keepdims=False):
    peak = np.max(x, axis=axis, keepdims=True)
    peak = np.where(np.isfinite(peak), peak, 0)  # all -inf (or inf) along the axis
    with np.errstate(divide="ignore"):  # log(0) = -inf for an all -inf slice
        total = np.log(np.sum(np.exp(x - peak), axis=axis, keepdims=True)) + peak
    return total if keepdims else np.squeeze(total, axis=axis)


def logsumexp(x, axis=None, keepdims=False):
    """log(sum(exp(x))) over `axis`, computed without overflow."""
    return _logsumexp(as_float(x), axis=tuple(axis) if isinstance(axis, list) else axis,
                      keepdims=keepdims)


def top_k(x, k, sorted=True):  # noqa: A002 - Keras's argument name
    """The `k` largest values along the last axis and their int32 indices (values
    differentiable; ties keep the earlier index first)."""
    x = tensor(x)
    if not 0 <= k <= x.shape[-1]:
        raise ValueError(f"`k` must lie in [0, x.shape[-1]]. Received: k={k}, x.shape={x.shape}")
    keys = np.asarray(x).astype(np.float64 if x.dtype.kind in "ub" else x.dtype)
    indices = np.argsort(-keys, axis=-1, kind="stable")[..., :k]
    return take_along_axis(x, indices, axis=-1), indices.astype(np.int32)


def in_top_k(targets, predictions, k):
    """Whether each target class is among the `k` highest predictions of its row (ties with
    the k-th value count as in). No gradient."""
    predictions = np.asarray(tensor(predictions))
    targets = np.asarray(tensor(targets)).astype(np.int64)
    target_scores = np.take_along_axis(predictions, targets[:, None], axis=-1)
    return np.sum(predictions > target_scores, axis=-1) < k


def _segments(data, segment_ids, num_segments):
    ids = np.asarray(tensor(segment_ids))
    if ids.ndim != 1 or ids.dtype.kind not in "iu":
        raise ValueError("`segment_ids` must be a 1-D integer array. Received: "
                         f"segment_ids.shape={ids.shape}, dtype={ids.dtype}")
    if ids.shape[0] != np.shape(data)[0]:
        raise ValueError("`segment_ids` must hold one id per row of `data`. Received: "
                         f"segment_ids.shape={ids.shape}, data.shape={np.shape(data)}")
    count = int(ids.max()) + 1 if num_segments is None and ids.size else int(num_segments or 0)
    return ids, count


def _valid_rows(ids, count, ndim):
    """Which rows have an id in [0, count), shaped to broadcast over a row, and the ids
    with the others replaced by 0 (safe to index with)."""
    valid = (ids >= 0) & (ids < count)
    return valid.reshape((-1,) + (1,) * (ndim - 1)), np.where(valid, ids, 0)


def _segment_sum_vjp(out, data, ids, count):
    valid, safe = _valid_rows(ids, count, data.ndim)
    return lambda g: (np.where(valid, g[safe], 0), None, None)


@primitive(_segment_sum_vjp)
def _segment_sum(data, ids, count):
    result = np.zeros((count,) + data.shape[1:], data.dtype)
    valid = (ids >= 0) & (ids < count)
    np.add.at(result, ids[valid], data[valid])
    return result


def segment_sum(data, segment_ids, num_segments=None, sorted=False):  # noqa: A002
    """Sums of the rows of `data` sharing a segment id (ids outside [0, num_segments) are
    dropped)."""
    ids, count = _segments(data, segment_ids, num_segments)
    return _segment_sum(tensor(data), ids, count)


def _segment_max_vjp(out, data, ids, count):
    def vjp(g):
        valid, safe = _valid_rows(ids, count, data.ndim)
        winner = valid & (data == out[safe])
        ties = np.zeros(out.shape)
        np.add.at(ties, safe, winner)  # rows of invalid ids add zeros
        return (np.where(winner, g[safe] / np.maximum(ties[safe], 1), 0), None, None)
    return vjp


@primitive(_segment_max_vjp)
def _segment_max(data, ids, count):
    result = np.full((count,) + data.shape[1:], -np.inf, data.dtype)
    valid = (ids >= 0) & (ids < count)
    np.maximum.at(result, ids[valid], data[valid])
    return result


def segment_max(data, segment_ids, num_segments=None, sorted=False):  # noqa: A002
    """Maxima of the rows of `data` sharing a segment id (-inf for an empty segment); tied
    maxima share the gradient."""
    ids, count = _segments(data, segment_ids, num_segments)
    return _segment_max(as_float(data), ids, count)
