"""conv2d_transpose forward and backward: the conv2d kernels with the roles swapped.

A transposed convolution of `x` is the input gradient of the convolution whose output has
`x`'s shape, so its forward pass is the compiled `backward_input` kernel, its input gradient
the compiled `forward` kernel, and its kernel gradient the `backward_weight` kernel with `x`
in the place of dy. The geometry handed to them is that of the convolution from the
transposed output (N, OH, OW, F) back to `x` (N, H, W, C).
"""

import numpy as np

from fastconv._config import get_num_threads
from fastconv._ext import _conv
from fastconv.ops import _args


def transpose_axis(size, window, stride, dilation, padding, output_padding):
    """(output size, the convolution's top/left padding) of one axis, as Keras 3 computes them.

    Keras pads the stride-dilated input by `left` and `right` cells and correlates it with
    the flipped kernel; "valid" pads `effective - 1` on both sides (plus `output_padding`,
    default `max(effective, stride) - effective`, on the right), "same" pads
    `stride + effective - 2` in all (`effective + effective % 2 - 2 + output_padding` with an
    `output_padding`), the larger half on the left but at most `effective - 1`. The matching
    convolution pads `effective - 1 - left` on top.
    """
    effective = (window - 1) * dilation + 1
    if padding == "valid":
        extra = max(effective, stride) - effective if output_padding is None else output_padding
        total = 2 * (effective - 1) + extra
        left = effective - 1
    else:
        if output_padding is None:
            total = stride + effective - 2
        else:
            total = effective + effective % 2 - 2 + output_padding
        left = min(total // 2 + total % 2, effective - 1)
    return (size - 1) * stride + total - effective + 2, effective - 1 - left


def _checked_geometry(x_shape, kernel_shape, strides, padding, output_padding, dilation_rate):
    """The conv geometry tuple (see `ops/conv2d.py`) and the NHWC output shape."""
    N, H, W, C = x_shape
    KH, KW, F, KC = kernel_shape
    if KC != C:
        raise ValueError(
            f"`kernel` expects {KC} input channels (its last axis) but `x` has {C}. "
            f"Received: x.shape (NHWC)={tuple(x_shape)}, kernel.shape={tuple(kernel_shape)}")
    if KH < 1 or KW < 1:
        raise ValueError(f"`kernel` window must be at least 1x1. Received: "
                         f"kernel.shape={tuple(kernel_shape)}")
    SH, SW = _args.normalize_pair(strides, "strides")
    DH, DW = _args.normalize_pair(dilation_rate, "dilation_rate")
    mode = _args.normalize_padding(padding, explicit=False)
    if output_padding is None:
        pads = (None, None)
    else:
        pads = _args.normalize_pair(output_padding, "output_padding", minimum=0)
        if pads[0] >= SH or pads[1] >= SW:
            raise ValueError("Strides must be greater than output padding. Received: "
                             f"strides={(SH, SW)}, output_padding={pads}")
    OH, PT = transpose_axis(H, KH, SH, DH, mode, pads[0])
    OW, PL = transpose_axis(W, KW, SW, DW, mode, pads[1])
    if OH < 1 or OW < 1:
        raise ValueError(f"The transposed convolution's output would be empty: ({OH}, {OW}) "
                         f"for x.shape (NHWC)={tuple(x_shape)}, kernel.shape="
                         f"{tuple(kernel_shape)}, padding={mode!r}, output_padding={pads}")
    out_shape = (N, OH, OW, F)
    _args.check_size(out_shape, "output")
    _args.check_size((H * W, KH * KW * F), "im2col matrix of one image")
    # The convolution from the output (OH, OW, F) back to x (H, W, C).
    geometry = (N, OH, OW, F, H, W, C, KH, KW, 1, SH, SW, DH, DW, PT, PL)
    return geometry, out_shape


_geometry = _args.ValidatedCache(_checked_geometry)


def _prepare(x, kernel, data_format):
    fmt = _args.normalize_data_format(data_format)
    x = _args.as_float_array(x, "x")
    kernel = _args.as_float_array(kernel, "kernel")
    layout = "(N, H, W, C)" if fmt == "channels_last" else "(N, C, H, W)"
    _args.check_ndim(x, 4, "x", layout)
    _args.check_ndim(kernel, 4, "kernel", "(KH, KW, filters, C)")
    return fmt, x, kernel


def conv2d_transpose(x, kernel, bias=None, *, strides=1, padding="valid", output_padding=None,
                     dilation_rate=1, data_format="channels_last", out=None):
    """2-D transposed convolution (Keras's Conv2DTranspose arithmetic).

    Args:
        x: images, (N, H, W, C) for channels_last or (N, C, H, W) for channels_first.
        kernel: (KH, KW, F, C), the Keras layout: F output channels.
        bias: None or (F,).
        strides: int or (sh, sw).
        padding: "valid" or "same".
        output_padding: None, or an int or pair, each < its stride: cells added after the
            output (None: Keras's default for the padding).
        dilation_rate: int or (dh, dw).
        data_format: "channels_last" or "channels_first".
        out: optional array to write y into (channels_last only), as conv2d's `out`.

    Returns:
        y, (N, OH, OW, F) or (N, F, OH, OW); "same" gives OH = H * sh without
        output_padding, "valid" OH = (H - 1) * sh + max(effective kernel, sh).
        `out` itself when given.

    Raises:
        ValueError: inconsistent shapes or hyper-parameters (the message names them).

    Example:
        >>> import numpy as np
        >>> from fastconv import ops
        >>> y = ops.conv2d_transpose(np.ones((1, 2, 2, 1)), np.ones((2, 2, 1, 1)), strides=2)
        >>> y.shape, float(y.sum())
        ((1, 4, 4, 1), 16.0)
    """
    fmt, x, kernel = _prepare(x, kernel, data_format)
    x_nhwc = _args.to_channels_last(x, fmt)
    geometry, out_shape = _geometry(x_nhwc.shape, kernel.shape, strides, padding,
                                    output_padding, dilation_rate)
    if bias is not None:
        bias = _args.as_float_array(bias, "bias")
        if bias.shape != (kernel.shape[2],):
            raise ValueError(f"`bias` must have shape ({kernel.shape[2]},), one value per "
                             f"filter. Received: bias.shape={bias.shape}, "
                             f"kernel.shape={kernel.shape}")
    dtype = _args.result_dtype(x, kernel, bias)
    out = _args.output_buffer(out, out_shape, dtype, fmt,
                              inputs=(("x", x), ("kernel", kernel), ("bias", bias)))
    if x.size and kernel.size:
        _conv.backward_input(_args.to_kernel_layout(x_nhwc, dtype),
                             _args.to_kernel_layout(kernel, dtype), out, geometry,
                             get_num_threads())
    else:
        out[...] = 0
    if bias is not None:
        out += bias.astype(dtype, copy=False)
    return _args.from_channels_last(out, fmt)


def conv2d_transpose_backward(dy, x, kernel, *, strides=1, padding="valid",
                              output_padding=None, dilation_rate=1,
                              data_format="channels_last", compute_dx=True, out=None):
    """Gradients of conv2d_transpose: given dy = dL/dy, returns (dx, dkernel, dbias).

    Args:
        dy: gradient w.r.t. the output of `conv2d_transpose(x, kernel, ...)`.
        x, kernel, strides, padding, output_padding, dilation_rate, data_format: as in
            `conv2d_transpose`.
        compute_dx: when False, dx is None.
        out: optional (dx, dkernel, dbias) arrays (each may be None) to write the
            gradients into, as conv2d_backward's `out`.

    Returns:
        (dx, dkernel, dbias): shaped like x, kernel and (F,); the `out` arrays when given.

    Raises:
        ValueError: `dy` does not have the forward output's shape, or as in
            `conv2d_transpose`.

    Example:
        >>> import numpy as np
        >>> from fastconv import ops
        >>> dx, dk, db = ops.conv2d_transpose_backward(
        ...     np.ones((1, 4, 4, 1)), np.ones((1, 2, 2, 1)), np.ones((2, 2, 1, 1)), strides=2)
        >>> dx[0, :, :, 0].tolist(), db.tolist()
        ([[4.0, 4.0], [4.0, 4.0]], [16.0])
    """
    fmt, x, kernel = _prepare(x, kernel, data_format)
    dy = _args.as_float_array(dy, "dy")
    x_nhwc = _args.to_channels_last(x, fmt)
    geometry, out_shape = _geometry(x_nhwc.shape, kernel.shape, strides, padding,
                                    output_padding, dilation_rate)
    N, OH, OW, F = out_shape
    expected = out_shape if fmt == "channels_last" else (N, F, OH, OW)
    if dy.shape != expected:
        raise ValueError(f"`dy` must have the shape of conv2d_transpose's output {expected}. "
                         f"Received: dy.shape={dy.shape}, x.shape={x.shape}, "
                         f"kernel.shape={kernel.shape}")
    dtype = _args.result_dtype(dy, x, kernel)
    dy_nhwc = _args.to_kernel_layout(_args.to_channels_last(dy, fmt), dtype)
    x_c = _args.to_kernel_layout(x_nhwc, dtype)
    dx_out, dkernel_out, dbias_out = (None, None, None) if out is None else out
    read = (("dy", dy), ("x", x), ("kernel", kernel))
    dkernel = _args.output_buffer(dkernel_out, kernel.shape, dtype, inputs=read)
    dbias = _args.output_buffer(dbias_out, (kernel.shape[2],), dtype, inputs=read)
    dx = _args.output_buffer(dx_out, x_nhwc.shape, dtype, fmt, read) if compute_dx else None
    np.sum(dy_nhwc, axis=(0, 1, 2), out=dbias)
    if dy.size and x.size and kernel.size:  # the kernels write every element
        threads = get_num_threads()
        # The kernel's bias gradient would be x summed per channel: not wanted here.
        scratch = np.empty(x_nhwc.shape[3], dtype)
        _conv.backward_weight(x_c, dy_nhwc, dkernel, scratch, geometry, threads)
        if compute_dx:
            _conv.forward(dy_nhwc, _args.to_kernel_layout(kernel, dtype), None, dx, geometry,
                          threads)
    else:
        for array in (dkernel, dx):
            if array is not None:
                array[...] = 0
    if compute_dx:
        dx = _args.from_channels_last(dx, fmt)
    return dx, dkernel, dbias
