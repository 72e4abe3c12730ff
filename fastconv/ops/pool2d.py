"""2-D max and average pooling, forward and backward, on the compiled kernels.

The ops check every argument at every call. A caller making the same call batch after batch (a
layer) checks it once with `prepare_pool2d` and then runs the returned `Pool2DCall`.
"""

import numpy as np

from fastconv._config import get_num_threads
from fastconv._ext import _pool
from fastconv.ops import _aligned, _args


def _geometry(x_shape, pool_size, strides, padding):
    """Checks the window arguments against NHWC `x_shape`.

    Returns:
        (geometry, out_shape): the (OH, OW, KH, KW, SH, SW, PT, PL) tuple the kernels take, and
        the NHWC output shape.
    """
    N, H, W, C = x_shape
    KH, KW = _args.normalize_pair(pool_size, "pool_size")
    SH, SW = (KH, KW) if strides is None else _args.normalize_pair(strides, "strides")
    mode = _args.normalize_padding(padding)
    OH, PT, _ = _args.resolve_axis(mode, 0, H, KH, SH, 1, "`pool_size` window")
    OW, PL, _ = _args.resolve_axis(mode, 1, W, KW, SW, 1, "`pool_size` window")
    # Only explicit padding can do this: a window with no real cell has no max and no mean.
    if PT >= KH or PL >= KW or (OH - 1) * SH - PT >= H or (OW - 1) * SW - PL >= W:
        raise ValueError(
            "`padding` leaves a pooling window entirely in padding; each window must hold at "
            f"least one input cell. Received: padding={padding!r}, pool_size={(KH, KW)}, "
            f"strides={(SH, SW)}, x spatial shape={(H, W)}"
        )
    out_shape = (N, OH, OW, C)
    _args.check_size(out_shape, "output")
    return (OH, OW, KH, KW, SH, SW, PT, PL), out_shape



class Pool2DCall:
    """One pooling call (kind, shapes, dtype, window), checked once by `prepare_pool2d`.

    As `conv2d.Conv2DCall`: `forward` and `backward` compare the arrays' shapes with the
    prepared ones (a mismatch is a ValueError naming them), convert other dtypes or layouts to
    `dtype`, and go straight to the kernels. `out` buffers (NHWC) are the caller's to get right;
    the compiled wrapper refuses one whose shape or dtype does not fit. Immutable.

    Attributes:
        dtype: the dtype of the results.
        out_shape: the NHWC shape of the pooled result.
        x_nhwc_shape: the NHWC shape of `x`, and of its gradient.
    """

    __slots__ = ("kind", "geometry", "data_format", "dtype", "x_shape", "x_nhwc_shape",
                 "out_shape", "dy_shape", "_empty", "_nhwc_data")

    def __init__(self, kind, geometry, out_shape, x_shape, dtype, data_format):
        self.kind, self.geometry, self.out_shape, self.dtype = kind, geometry, out_shape, dtype
        self.x_shape, self.data_format = x_shape, data_format
        N, OH, OW, C = out_shape
        channels_last = self._nhwc_data = data_format == "channels_last"
        self.dy_shape = out_shape if channels_last else (N, C, OH, OW)
        self.x_nhwc_shape = x_shape if channels_last else (N, x_shape[2], x_shape[3], C)
        self._empty = 0 in x_shape

    def _check(self, name, array, expected):
        if array.shape != expected:
            raise ValueError(f"`{name}` must have shape {expected}, the shape this {self.kind} "
                             f"pooling call was prepared for. Received: {name}.shape={array.shape}")

    def _nhwc(self, array):
        if not self._nhwc_data:
            array = _args.to_channels_last(array, self.data_format)
        return _args.to_kernel_layout(array, self.dtype)

    def _result(self, out):
        return out if self._nhwc_data else _args.from_channels_last(out, self.data_format)

    def forward(self, x, out=None):
        """The pooled `x`, written into `out` (NHWC; None allocates)."""
        if x.shape != self.x_shape:
            self._check("x", x, self.x_shape)
        x = self._nhwc(x)
        if out is None:
            out = _aligned.empty(self.out_shape, self.dtype)
        if self._empty:
            out[...] = 0
        elif self.kind == "max":
            _pool.max_pool2d_forward(x, self.geometry, get_num_threads(), out=out)
        else:
            _pool.avg_pool2d_forward(x, self.geometry, get_num_threads(), out=out)
        return self._result(out)

    def backward(self, dy, x, out=None, relu=False):
        """dL/dx given dy, written into `out` (NHWC; None allocates); `relu` as
        `max_pool2d_backward`'s (max pooling only)."""
        if dy.shape != self.dy_shape or x.shape != self.x_shape:
            self._check("dy", dy, self.dy_shape)
            self._check("x", x, self.x_shape)  # average pooling reads only its shape
        dy = self._nhwc(dy)
        if relu and self.kind != "max":
            raise ValueError("`relu=True` is for max pooling only.")
        if out is None:
            out = _aligned.empty(self.x_nhwc_shape, self.dtype)
        if self._empty:
            out[...] = 0
        elif self.kind == "max":
            _pool.max_pool2d_backward(dy, self._nhwc(x), self.geometry,
                                      get_num_threads(), out=out, relu=relu)
        else:
            _pool.avg_pool2d_backward(dy, self.x_nhwc_shape, self.geometry, get_num_threads(),
                                      out=out)
        return self._result(out)


def _new_call(kind, x_shape, dtype, pool_size, strides, padding, data_format):
    """The checked `Pool2DCall` of these arguments (`x_shape` of an array already checked to be
    4-D, `data_format` normalized, `dtype` a dtype string)."""
    x_nhwc_shape = x_shape if data_format == "channels_last" else (
        x_shape[0], x_shape[2], x_shape[3], x_shape[1])
    geometry, out_shape = _geometry(x_nhwc_shape, pool_size, strides, padding)
    return Pool2DCall(kind, geometry, out_shape, x_shape, np.dtype(dtype), data_format)


# Eager calls often repeat their arguments: check each combination of them once.
_call = _args.ValidatedCache(_new_call)


def _checked_call(kind, x, pool_size, strides, padding, data_format, dy=None):
    """Every check of a pooling call: (Pool2DCall, x, dy) with array arguments. The call's
    dtype is the result dtype of x (and of dy, for a backward pass)."""
    fmt = _args.normalize_data_format(data_format)
    x = _args.as_float_array(x, "x")
    layout = "(N, H, W, C)" if fmt == "channels_last" else "(N, C, H, W)"
    _args.check_ndim(x, 4, "x", layout)
    if dy is not None:
        dy = _args.as_float_array(dy, "dy")
    call = _call(kind, x.shape, _args.result_dtype(x, dy).str, pool_size, strides, padding, fmt)
    if dy is not None and dy.shape != call.dy_shape:
        raise ValueError(
            f"`dy` must have the shape of {kind}_pool2d's output {call.dy_shape}. "
            f"Received: dy.shape={dy.shape}, x.shape={x.shape}"
        )
    return call, x, dy


def prepare_pool2d(kind, x, pool_size=2, strides=None, padding="valid",
                   data_format="channels_last"):
    """Checks a pooling call once, as `max_pool2d` / `avg_pool2d` do; returns its `Pool2DCall`.

    Args:
        kind: "max" or "avg".
        x, pool_size, strides, padding, data_format: as `max_pool2d`'s (`x` may be any array
            of the shape and dtype the calls will have).

    Raises:
        ValueError, TypeError: as `max_pool2d`.
    """
    if kind not in ("max", "avg"):
        raise ValueError(f"`kind` must be 'max' or 'avg'. Received: kind={kind!r}")
    return _checked_call(kind, x, pool_size, strides, padding, data_format)[0]


def _forward(kind, x, pool_size, strides, padding, data_format, out):
    call, x, _ = _checked_call(kind, x, pool_size, strides, padding, data_format)
    out = _args.output_buffer(out, call.out_shape, call.dtype, call.data_format,
                              inputs=(("x", x),))
    return call.forward(x, out)


def _backward(kind, dy, x, pool_size, strides, padding, data_format, out, relu=False):
    call, x, dy = _checked_call(kind, x, pool_size, strides, padding, data_format, dy)
    dx = _args.output_buffer(out, call.x_nhwc_shape, call.dtype, call.data_format,
                             inputs=(("dy", dy), ("x", x)))
    return call.backward(dy, x, dx, relu)


def max_pool2d(x, pool_size=2, strides=None, padding="valid", data_format="channels_last", *,
               out=None):
    """2-D max pooling (TensorFlow/Keras semantics).

    Padded cells never win; a window holding a NaN outputs NaN.

    Args:
        x: images, (N, H, W, C) for channels_last or (N, C, H, W) for channels_first.
        pool_size: int or (ph, pw), each >= 1.
        strides: int or (sh, sw), each >= 1; None means `pool_size`.
        padding: "valid", "same" (TensorFlow's split), an int, (ph, pw) or
            ((top, bottom), (left, right)); every window must keep at least one input cell.
        data_format: "channels_last" or "channels_first".
        out: optional array to write y into (channels_last only): C-contiguous, writeable,
            of y's shape and dtype, not overlapping `x`.

    Input shape:
        (N, H, W, C) or (N, C, H, W), per `data_format`.

    Output shape:
        (N, OH, OW, C) or (N, C, OH, OW); OH = (H + padding - ph) // sh + 1 ("same":
        ceil(H / sh)), likewise OW.

    Returns:
        y, float64 if `x` is float64, else float32.

    Raises:
        ValueError: `x` is not 4-D, a window is larger than the padded input or lies
            entirely in padding, or a hyper-parameter is out of range.
        TypeError: non-numeric `x` or non-integer hyper-parameters.

    Example:
        >>> import numpy as np
        >>> from fastconv import ops
        >>> x = np.arange(16, dtype=np.float32).reshape(1, 4, 4, 1)
        >>> ops.max_pool2d(x, pool_size=2)[0, :, :, 0]
        array([[ 5.,  7.],
               [13., 15.]], dtype=float32)
    """
    return _forward("max", x, pool_size, strides, padding, data_format, out)


def avg_pool2d(x, pool_size=2, strides=None, padding="valid", data_format="channels_last", *,
               out=None):
    """2-D average pooling (TensorFlow/Keras semantics).

    Padded cells are not counted: each output is the mean of its window's input cells.

    Args:
        x, pool_size, strides, padding, data_format, out: as in `max_pool2d`.

    Input shape:
        (N, H, W, C) or (N, C, H, W), per `data_format`.

    Output shape:
        As in `max_pool2d`.

    Returns:
        y, float64 if `x` is float64, else float32.

    Raises:
        ValueError, TypeError: as in `max_pool2d`.

    Example:
        >>> import numpy as np
        >>> from fastconv import ops
        >>> x = np.ones((1, 3, 3, 1))
        >>> x[0, 0, 0, 0] = 5.0
        >>> ops.avg_pool2d(x, pool_size=2, strides=2, padding="same")[0, :, :, 0]
        array([[2., 1.],
               [1., 1.]])
    """
    return _forward("avg", x, pool_size, strides, padding, data_format, out)


def max_pool2d_backward(dy, x, pool_size=2, strides=None, padding="valid",
                        data_format="channels_last", *, out=None, relu=False):
    """Gradient of `max_pool2d` w.r.t. `x`, given dy = dL/dy.

    Each window's gradient goes to its first maximal cell in row-major window order (the
    first NaN when the window holds one); where windows overlap, gradients add up.

    Args:
        dy: gradient w.r.t. the output of `max_pool2d(x, ...)`, same shape as that output.
        x, pool_size, strides, padding, data_format: as in `max_pool2d`.
        out: optional array to write dx into, as `max_pool2d`'s `out` (not overlapping `dy`
            or `x`).
        relu: when True, `x` is the output of a ReLU and the result is the gradient w.r.t.
            that ReLU's input, `relu_backward(max_pool2d_backward(dy, x), x)`, in one pass.

    Returns:
        dx, shaped like `x`; float64 if `dy` or `x` is float64, else float32.

    Raises:
        ValueError: `dy` does not have the forward output's shape, or as in `max_pool2d`.
        TypeError: as in `max_pool2d`.

    Example:
        >>> import numpy as np
        >>> from fastconv import ops
        >>> x = np.array([[1., 3.], [3., 2.]]).reshape(1, 2, 2, 1)
        >>> ops.max_pool2d_backward(np.ones((1, 1, 1, 1)), x)[0, :, :, 0]
        array([[0., 1.],
               [0., 0.]])
    """
    return _backward("max", dy, x, pool_size, strides, padding, data_format, out, bool(relu))


def avg_pool2d_backward(dy, x, pool_size=2, strides=None, padding="valid",
                        data_format="channels_last", *, out=None):
    """Gradient of `avg_pool2d` w.r.t. `x`, given dy = dL/dy.

    Each window's dy divided by its number of input cells is added to each of those cells.
    Only the shape of `x` is used.

    Args:
        dy: gradient w.r.t. the output of `avg_pool2d(x, ...)`, same shape as that output.
        x, pool_size, strides, padding, data_format, out: as in `max_pool2d_backward`.

    Returns:
        dx, shaped like `x`; float64 if `dy` or `x` is float64, else float32.

    Raises:
        ValueError: `dy` does not have the forward output's shape, or as in `avg_pool2d`.
        TypeError: as in `avg_pool2d`.

    Example:
        >>> import numpy as np
        >>> from fastconv import ops
        >>> ops.avg_pool2d_backward(np.full((1, 1, 1, 1), 4.0), np.zeros((1, 2, 2, 1)))[0, :, :, 0]
        array([[1., 1.],
               [1., 1.]])
    """
    return _backward("avg", dy, x, pool_size, strides, padding, data_format, out)
