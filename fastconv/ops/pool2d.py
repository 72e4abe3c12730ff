"""2-D max and average pooling, forward and backward, on the compiled kernels."""

from fastconv._config import get_num_threads
from fastconv._ext import _pool
from fastconv.ops import _args


def _checked_geometry(x_shape, pool_size, strides, padding):
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


# Layers call with the same arguments every batch: validate each combination once.
_geometry = _args.ValidatedCache(_checked_geometry)


def _prepare(x, data_format):
    fmt = _args.normalize_data_format(data_format)
    x = _args.as_float_array(x, "x")
    layout = "(N, H, W, C)" if fmt == "channels_last" else "(N, C, H, W)"
    _args.check_ndim(x, 4, "x", layout)
    return fmt, x, _args.to_channels_last(x, fmt)


def _forward(kernel, x, pool_size, strides, padding, data_format, out):
    fmt, x, x_nhwc = _prepare(x, data_format)
    geometry, out_shape = _geometry(x_nhwc.shape, pool_size, strides, padding)
    dtype = _args.result_dtype(x)
    out = _args.output_buffer(out, out_shape, dtype, fmt, inputs=(("x", x),))
    if x.size == 0:
        out[...] = 0
    else:
        kernel(_args.to_kernel_layout(x_nhwc, dtype), geometry, get_num_threads(), out=out)
    return _args.from_channels_last(out, fmt)


def _prepare_backward(dy, x, pool_size, strides, padding, data_format, op, out):
    """Validated (fmt, geometry, dx buffer, dy NHWC, x NHWC) for a pooling backward pass."""
    fmt, x, x_nhwc = _prepare(x, data_format)
    dy = _args.as_float_array(dy, "dy")
    geometry, out_shape = _geometry(x_nhwc.shape, pool_size, strides, padding)
    N, OH, OW, C = out_shape
    expected = out_shape if fmt == "channels_last" else (N, C, OH, OW)
    if dy.shape != expected:
        raise ValueError(
            f"`dy` must have the shape of {op}'s output {expected}. "
            f"Received: dy.shape={dy.shape}, x.shape={x.shape}"
        )
    dtype = _args.result_dtype(dy, x)
    dx = _args.output_buffer(out, x_nhwc.shape, dtype, fmt, inputs=(("dy", dy), ("x", x)))
    dy_nhwc = _args.to_kernel_layout(_args.to_channels_last(dy, fmt), dtype)
    return fmt, geometry, dx, dy_nhwc, x_nhwc


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
    return _forward(_pool.max_pool2d_forward, x, pool_size, strides, padding, data_format, out)


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
    return _forward(_pool.avg_pool2d_forward, x, pool_size, strides, padding, data_format, out)


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
    fmt, geometry, dx, dy_nhwc, x_nhwc = _prepare_backward(
        dy, x, pool_size, strides, padding, data_format, "max_pool2d", out)
    if x_nhwc.size == 0:
        dx[...] = 0
    else:
        _pool.max_pool2d_backward(dy_nhwc, _args.to_kernel_layout(x_nhwc, dx.dtype), geometry,
                                  get_num_threads(), out=dx, relu=bool(relu))
    return _args.from_channels_last(dx, fmt)


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
    fmt, geometry, dx, dy_nhwc, x_nhwc = _prepare_backward(
        dy, x, pool_size, strides, padding, data_format, "avg_pool2d", out)
    if x_nhwc.size == 0:
        dx[...] = 0
    else:
        _pool.avg_pool2d_backward(dy_nhwc, tuple(x_nhwc.shape), geometry, get_num_threads(),
                                  out=dx)
    return _args.from_channels_last(dx, fmt)
