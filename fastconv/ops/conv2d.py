"""conv2d forward and backward on the compiled kernels.

`conv2d` and `conv2d_backward` check every argument at every call. A caller that makes the same
call batch after batch (a layer) checks it once with `prepare_conv2d` and then runs the returned
`Conv2DCall`, which only compares shapes before going to the kernels.
"""

import numpy as np

from fastconv._config import get_num_threads
from fastconv._ext import _conv
from fastconv.ops import _aligned, _args


def _geometry(x_shape, kernel_shape, strides, padding, dilation_rate, groups):
    """Checks shapes and hyper-parameters; returns (geometry tuple, output NHWC shape).

    `x_shape` is NHWC; the geometry tuple is what the C kernels take.
    """
    N, H, W, C = x_shape
    KH, KW, Cg, F = kernel_shape
    if isinstance(groups, (bool, np.bool_)) or not isinstance(groups, (int, np.integer)):
        raise TypeError(f"`groups` must be an int >= 1. Received: groups={groups!r}")
    if groups < 1:
        raise ValueError(f"`groups` must be an int >= 1. Received: groups={groups}")
    groups = int(groups)
    if C % groups or F % groups:
        raise ValueError(
            f"`groups` must divide both the input channels ({C}) and the filters ({F}). "
            f"Received: groups={groups}, x channels={C}, kernel.shape={tuple(kernel_shape)}"
        )
    if Cg * groups != C:
        raise ValueError(
            f"`kernel` expects {Cg * groups} input channels ({Cg} per group x {groups} groups) "
            f"but `x` has {C}. Received: x.shape (NHWC)={tuple(x_shape)}, "
            f"kernel.shape={tuple(kernel_shape)}, groups={groups}"
        )
    if KH < 1 or KW < 1:
        raise ValueError(f"`kernel` window must be at least 1x1. Received: kernel.shape={tuple(kernel_shape)}")
    SH, SW = _args.normalize_pair(strides, "strides")
    DH, DW = _args.normalize_pair(dilation_rate, "dilation_rate")
    mode = _args.normalize_padding(padding)
    OH, PT, _ = _args.resolve_axis(mode, 0, H, KH, SH, DH, "kernel")
    OW, PL, _ = _args.resolve_axis(mode, 1, W, KW, SW, DW, "kernel")
    out_shape = (N, OH, OW, F)
    _args.check_size(out_shape, "output")
    _args.check_size((OH * OW, KH * KW * Cg), "im2col matrix of one image")
    geometry = (N, H, W, C, OH, OW, F, KH, KW, groups, SH, SW, DH, DW, PT, PL)
    return geometry, out_shape



class Conv2DCall:
    """One conv2d call (shapes, dtype, hyper-parameters), checked once by `prepare_conv2d`.

    `forward` and `backward` take arrays of the prepared shapes, compare those shapes (a
    mismatch is a ValueError naming them) and go straight to the kernels; arrays of another
    dtype or layout are converted to the call's `dtype`, as the ops do. `out` buffers are the
    caller's to get right (NHWC, C-contiguous, `dtype`, not overlapping the inputs); the compiled
    wrapper still refuses a buffer whose size or dtype does not fit. Immutable, so layers share
    one between threads.

    Attributes:
        dtype: the dtype of the results (and of the computation).
        out_shape: the NHWC shape of conv2d's result (`out` of `forward`).
        takes_pooled_forward: whether the kernels may take `forward_pooled` (first layers and
            Winograd's 3x3 shapes, NHWC, outputs of at least 2 x 2).
        takes_pooled_gradient: whether `backward_weight_pooled` runs (NHWC, at most 3 input
            channels, one group, an output of at least 2 x 2: a first layer before a 2 x 2 max
            pool).
    """

    __slots__ = ("geometry", "data_format", "dtype", "relu", "x_shape", "kernel_shape",
                 "bias_shape", "out_shape", "dy_shape", "_computed", "takes_pooled_forward",
                 "takes_pooled_gradient")

    def __init__(self, geometry, out_shape, x_shape, kernel_shape, bias_shape, dtype,
                 data_format, relu):
        self.geometry, self.out_shape, self.dtype = geometry, out_shape, dtype
        self.x_shape, self.kernel_shape, self.bias_shape = x_shape, kernel_shape, bias_shape
        self.data_format, self.relu = data_format, relu
        N, OH, OW, F = out_shape
        self.dy_shape = out_shape if data_format == "channels_last" else (N, F, OH, OW)
        self._computed = 0 not in out_shape and 0 not in x_shape
        nhwc = data_format == "channels_last" and self._computed
        self.takes_pooled_forward = nhwc and _conv.pooled_forward_applies(geometry)
        self.takes_pooled_gradient = nhwc and _conv.pooled_weight_gradient_applies(geometry)

    def _check(self, name, array, expected):
        if array.shape != expected:
            raise ValueError(f"`{name}` must have shape {expected}, the shape this conv2d call "
                             f"was prepared for. Received: {name}.shape={array.shape}")

    def forward(self, x, kernel, bias=None, out=None):
        """conv2d(x, kernel, bias) into `out` (NHWC, or None to allocate); returns the result."""
        if x.shape != self.x_shape or kernel.shape != self.kernel_shape:
            self._check("x", x, self.x_shape)
            self._check("kernel", kernel, self.kernel_shape)
        if (bias is None) != (self.bias_shape is None):
            raise ValueError("`bias` must be given exactly when the call was prepared with one.")
        dtype, fmt, layout = self.dtype, self.data_format, _args.to_kernel_layout
        nhwc = fmt == "channels_last"  # (the usual case: no layout calls)
        if out is None:
            out = _aligned.empty(self.out_shape, dtype)
        if self._computed:
            _conv.forward(
                layout(x if nhwc else _args.to_channels_last(x, fmt), dtype),
                layout(kernel, dtype), None if bias is None else layout(bias, dtype),
                out, self.geometry, get_num_threads(), relu=self.relu,
            )
        elif out.size:  # no input channels: the sum is empty
            out[...] = 0 if bias is None else bias.astype(dtype)
            if self.relu:
                np.maximum(out, 0, out=out, where=~np.isnan(out))
        return out if nhwc else _args.from_channels_last(out, fmt)

    def forward_pooled(self, x, kernel, bias=None, out=None):
        """The 2 x 2, stride-2, valid max pool of `forward(x, kernel, bias)`, into `out` (NHWC,
        (N, OH // 2, OW // 2, filters); None allocates), without the conv output ever written:
        the same bits as `max_pool2d(forward(...), 2)`. Returns None, writing nothing, when the
        kernels do not take this call (`takes_pooled_forward`, or Winograd switched off since):
        the caller then runs `forward` and the pool."""
        self._check("x", x, self.x_shape)
        self._check("kernel", kernel, self.kernel_shape)
        if (bias is None) != (self.bias_shape is None):
            raise ValueError("`bias` must be given exactly when the call was prepared with one.")
        if not self.takes_pooled_forward:
            return None
        N, OH, OW, F = self.out_shape
        dtype = self.dtype
        if out is None:
            out = _aligned.empty((N, OH // 2, OW // 2, F), dtype)
        layout = _args.to_kernel_layout
        done = _conv.forward_pooled(layout(x, dtype), layout(kernel, dtype),
                                    None if bias is None else layout(bias, dtype), out,
                                    self.geometry, get_num_threads(), relu=self.relu)
        return out if done else None

    def backward(self, dy, x, kernel, out=(None, None, None), compute_dx=True, relu_below=False):
        """(dx, dkernel, dbias) of conv2d given dy, into `out`'s arrays (NHWC; None allocates).

        dx is None when not `compute_dx`. With `relu_below`, x is the output of a ReLU and dx
        is the gradient before it (0 where x is not > 0), taken as dx is written."""
        if dy.shape != self.dy_shape or x.shape != self.x_shape or \
                kernel.shape != self.kernel_shape:
            self._check("dy", dy, self.dy_shape)
            self._check("x", x, self.x_shape)
            self._check("kernel", kernel, self.kernel_shape)
        dtype, fmt, layout = self.dtype, self.data_format, _args.to_kernel_layout
        nhwc = fmt == "channels_last"  # (the usual case: no layout calls)
        dx, dkernel, dbias = out
        if dkernel is None:
            dkernel = _aligned.empty(self.kernel_shape, dtype)
        if dbias is None:
            dbias = _aligned.empty(self.kernel_shape[3:], dtype)
        if compute_dx and dx is None:
            dx = _aligned.empty(self.geometry[:4], dtype)
        dy_nhwc = layout(dy if nhwc else _args.to_channels_last(dy, fmt), dtype)
        if self._computed:
            threads = get_num_threads()
            x_nhwc = layout(x if nhwc else _args.to_channels_last(x, fmt), dtype)
            _conv.backward_weight(dy_nhwc, x_nhwc, dkernel, dbias, self.geometry, threads)
            if compute_dx:
                _conv.backward_input(dy_nhwc, layout(kernel, dtype), dx, self.geometry, threads,
                                     relu_mask=x_nhwc if relu_below else None)
        else:  # the kernels write every element; only degenerate shapes need zeros (any ReLU too)
            for array in (dkernel, dbias, dx if compute_dx else None):
                if array is not None:
                    array[...] = 0
            if dy.size:  # no input channels: only the bias sees the gradient
                dbias[...] = dy_nhwc.sum(axis=(0, 1, 2))
        if compute_dx and not nhwc:
            dx = _args.from_channels_last(dx, fmt)
        return (dx if compute_dx else None), dkernel, dbias

    def backward_weight_pooled(self, dpool, x, act, out=(None, None)):
        """(dkernel, dbias) of conv2d when its ReLU output `act` went through a 2 x 2, stride-2,
        valid max pool whose output gradient is `dpool`: the bits of `max_pool2d_backward(dpool,
        act, 2, relu=True)` followed by `backward(...)[1:]`, without the gradient of `act` ever
        written (see `takes_pooled_gradient`). `out` as `backward`'s last two."""
        if not self.takes_pooled_gradient:
            raise ValueError("backward_weight_pooled takes NHWC convolutions of at most 3 input "
                             "channels and one group with outputs of at least 2 x 2. Received: "
                             f"x.shape={self.x_shape}, kernel.shape={self.kernel_shape}, "
                             f"data_format={self.data_format!r}")
        N, OH, OW, F = self.out_shape
        self._check("dpool", dpool, (N, OH // 2, OW // 2, F))
        self._check("x", x, self.x_shape)
        self._check("act", act, self.out_shape)
        dtype = self.dtype
        dkernel, dbias = out
        if dkernel is None:
            dkernel = _aligned.empty(self.kernel_shape, dtype)
        if dbias is None:
            dbias = _aligned.empty(self.kernel_shape[3:], dtype)
        layout = _args.to_kernel_layout
        _conv.backward_weight_pooled(layout(dpool, dtype), layout(act, dtype), layout(x, dtype),
                                     dkernel, dbias, self.geometry, get_num_threads())
        return dkernel, dbias


def _new_call(x_shape, kernel_shape, bias_shape, dtype, strides, padding, dilation_rate,
              groups, data_format, activation):
    """The checked `Conv2DCall` of these arguments (shapes of arrays already checked to be 4-D,
    `data_format` normalized, `dtype` a dtype string)."""
    x_nhwc_shape = x_shape if data_format == "channels_last" else (
        x_shape[0], x_shape[2], x_shape[3], x_shape[1])
    geometry, out_shape = _geometry(x_nhwc_shape, kernel_shape, strides, padding, dilation_rate,
                                    groups)
    if bias_shape is not None and bias_shape != (kernel_shape[3],):
        raise ValueError(
            f"`bias` must have shape ({kernel_shape[3]},), one value per filter. "
            f"Received: bias.shape={bias_shape}, kernel.shape={kernel_shape}"
        )
    return Conv2DCall(geometry, out_shape, x_shape, kernel_shape, bias_shape, np.dtype(dtype),
                      data_format, _args.normalize_activation(activation))


# Eager calls often repeat their arguments: check each combination of them once.
_call = _args.ValidatedCache(_new_call)


def _checked_call(x, kernel, bias, strides, padding, dilation_rate, groups, data_format,
                  activation, dy=None):
    """Every check of a conv2d call: (Conv2DCall, x, kernel, bias, dy) with array arguments.

    The call's dtype is the result dtype of the arrays given (dy's, not bias's, for a backward
    pass, as conv2d_backward's results)."""
    fmt = _args.normalize_data_format(data_format)
    x = _args.as_float_array(x, "x")
    kernel = _args.as_float_array(kernel, "kernel")
    layout = "(N, H, W, C)" if fmt == "channels_last" else "(N, C, H, W)"
    _args.check_ndim(x, 4, "x", layout)
    _args.check_ndim(kernel, 4, "kernel", "(KH, KW, C // groups, filters)")
    if bias is not None:
        bias = _args.as_float_array(bias, "bias")
    if dy is None:
        dtype = _args.result_dtype(x, kernel, bias)
    else:
        dy = _args.as_float_array(dy, "dy")
        dtype = _args.result_dtype(dy, x, kernel)
    call = _call(x.shape, kernel.shape, None if bias is None else bias.shape, dtype.str, strides,
                 padding, dilation_rate, groups, fmt, activation)
    if dy is not None and dy.shape != call.dy_shape:
        raise ValueError(
            f"`dy` must have the shape of conv2d's output {call.dy_shape}. "
            f"Received: dy.shape={dy.shape}, x.shape={x.shape}, kernel.shape={kernel.shape}"
        )
    return call, x, kernel, bias, dy


def prepare_conv2d(x, kernel, bias=None, *, strides=1, padding="valid", dilation_rate=1,
                   groups=1, data_format="channels_last", activation=None):
    """Checks a conv2d call once, as `conv2d` does, and returns it as a `Conv2DCall`.

    Args: as `conv2d`'s (`x`, `kernel` and `bias` may be any arrays of the shapes and dtypes
    the calls will have).

    Raises:
        ValueError, TypeError: as `conv2d`.
    """
    return _checked_call(x, kernel, bias, strides, padding, dilation_rate, groups, data_format,
                         activation)[0]


def conv2d(x, kernel, bias=None, *, strides=1, padding="valid", dilation_rate=1, groups=1,
           data_format="channels_last", activation=None, out=None):
    """2-D convolution (cross-correlation, as in Keras and TensorFlow).

    Args:
        x: images, (N, H, W, C) for channels_last or (N, C, H, W) for channels_first.
        kernel: (KH, KW, C // groups, F), the Keras layout, in both data formats.
        bias: None or (F,).
        strides: int or (sh, sw), each >= 1.
        padding: "valid", "same" (TensorFlow's split), an int, (ph, pw) or
            ((top, bottom), (left, right)).
        dilation_rate: int or (dh, dw), each >= 1.
        groups: number of channel groups; must divide C and F.
        data_format: "channels_last" or "channels_first".
        activation: None (or "linear") or "relu", applied in the kernel as the output is
            written (a NaN stays NaN).
        out: optional array to write y into (channels_last only): C-contiguous, writeable,
            of y's shape and dtype. Reusing it across calls saves allocating and touching
            fresh memory.

    Returns:
        y, (N, OH, OW, F) or (N, F, OH, OW); float64 if any input is float64,
        else float32. `out` itself when given.

    Raises:
        ValueError: inconsistent shapes or hyper-parameters (the message names them).
        TypeError: non-numeric dtypes or non-integer hyper-parameters.

    Example:
        >>> import numpy as np
        >>> from fastconv import ops
        >>> x = np.ones((1, 4, 4, 1), np.float32)
        >>> ops.conv2d(x, np.ones((3, 3, 1, 2), np.float32), padding="same")[0, :, :, 0]
        array([[4., 6., 6., 4.],
               [6., 9., 9., 6.],
               [6., 9., 9., 6.],
               [4., 6., 6., 4.]], dtype=float32)
    """
    call, x, kernel, bias, _ = _checked_call(x, kernel, bias, strides, padding, dilation_rate,
                                             groups, data_format, activation)
    out = _args.output_buffer(out, call.out_shape, call.dtype, call.data_format,
                              inputs=(("x", x), ("kernel", kernel), ("bias", bias)))
    return call.forward(x, kernel, bias, out)


def conv2d_backward(dy, x, kernel, *, strides=1, padding="valid", dilation_rate=1, groups=1,
                    data_format="channels_last", compute_dx=True, out=None):
    """Gradients of conv2d: given dy = dL/dy, returns (dx, dkernel, dbias).

    Args:
        dy: gradient w.r.t. the output of `conv2d(x, kernel, ...)`, same shape as that output.
        x, kernel, strides, padding, dilation_rate, groups, data_format: as in `conv2d`.
        compute_dx: when False, dx is not computed and None is returned in its place
            (a first layer needs no input gradient).
        out: optional (dx, dkernel, dbias) arrays to write the gradients into (channels_last
            only); each may be None to allocate that one. As conv2d's `out`: C-contiguous,
            writeable, the result's shape and dtype, not overlapping dy, x or kernel.

    Returns:
        (dx, dkernel, dbias): shaped like x, kernel and (F,); dbias is dy summed over
        every axis but channels. The `out` arrays themselves when given.

    Raises:
        ValueError: `dy` does not have the forward output's shape, or as in `conv2d`.

    Example:
        >>> import numpy as np
        >>> from fastconv import ops
        >>> x = np.ones((2, 5, 5, 3)); k = np.ones((3, 3, 3, 4))
        >>> dx, dk, db = ops.conv2d_backward(np.ones((2, 3, 3, 4)), x, k)
        >>> dx.shape, dk.shape, db.tolist()
        ((2, 5, 5, 3), (3, 3, 3, 4), [18.0, 18.0, 18.0, 18.0])
    """
    call, x, kernel, _, dy = _checked_call(x, kernel, None, strides, padding, dilation_rate,
                                           groups, data_format, None, dy=dy)
    dx_out, dkernel_out, dbias_out = _backward_outputs(out)
    dtype, read = call.dtype, (("dy", dy), ("x", x), ("kernel", kernel))
    outs = (_args.output_buffer(dx_out, call.geometry[:4], dtype, call.data_format, read)
            if compute_dx else None,
            _args.output_buffer(dkernel_out, kernel.shape, dtype, inputs=read),
            _args.output_buffer(dbias_out, (kernel.shape[3],), dtype, inputs=read))
    return call.backward(dy, x, kernel, outs, compute_dx)


def _backward_outputs(out):
    """(dx, dkernel, dbias) destinations from conv2d_backward's `out` (None: allocate all)."""
    if out is None:
        return None, None, None
    if not isinstance(out, (tuple, list)) or len(out) != 3:
        raise ValueError("`out` must be None or a tuple (dx, dkernel, dbias) of arrays or None. "
                         f"Received: out={type(out).__name__}")
    return tuple(out)
