"""Keras's `ops.conv`, `depthwise_conv`, `separable_conv`, `conv_transpose`, `max_pool` and
`average_pool` on the compiled kernels, differentiable through their compiled backward passes.

1-D inputs (N, W, C) run as 2-D ones of height 1; 3-D convolution and pooling are not
available (the kernels are 2-D). `data_format=None` means "channels_last".
"""

import numpy as np

from fastconv.autodiff import active_tape, primitive
from fastconv.ops import _args
from fastconv.ops.conv2d import conv2d, conv2d_backward
from fastconv.ops.conv2d_transpose import conv2d_transpose, conv2d_transpose_backward
from fastconv.ops.pool2d import avg_pool2d, avg_pool2d_backward, max_pool2d, max_pool2d_backward
from fastconv.ops._tensor import tensor

__all__ = ["conv", "depthwise_conv", "separable_conv", "conv_transpose", "max_pool",
           "average_pool"]


def _conv_vjp(out, x, kernel, need_dx=True, **config):
    def vjp(g):
        dx, dkernel, _ = conv2d_backward(g, x, kernel, compute_dx=need_dx, **config)
        return dx, dkernel
    return vjp


@primitive(_conv_vjp)
def _conv2d(x, kernel, need_dx=True, **config):
    return conv2d(x, kernel, **config)


def _traced(value):
    """Whether the recording tape (if any) follows `value`."""
    tape = active_tape()
    return tape is not None and tape.node_for(value) is not None


def _spatial(value, rank, name):
    """A 1-D op's int or 1-tuple hyper-parameter as the 2-D kernels' (1, value)."""
    if rank == 1:
        if isinstance(value, (tuple, list)):
            if len(value) != 1:
                raise ValueError(f"`{name}` of a 1-D op must be an int or a 1-tuple. "
                                 f"Received: {name}={value!r}")
            value = value[0]
        return (1, value)
    return value


def _rank(inputs, what):
    rank = inputs.ndim - 2
    if rank not in (1, 2):
        raise ValueError(f"{what} takes inputs of rank 3 (1-D: (N, W, C)) or 4 (2-D: "
                         f"(N, H, W, C)); 3-D volumes are not supported. "
                         f"Received: inputs.shape={inputs.shape}")
    return rank


def _as_2d(inputs, fmt):
    """A 1-D batch as a 2-D one of height 1 (a differentiable view)."""
    return np.expand_dims(inputs, 1 if fmt == "channels_last" else 2)


def _from_2d(outputs, fmt):
    return np.squeeze(outputs, 1 if fmt == "channels_last" else 2)


def conv(inputs, kernel, strides=1, padding="valid", data_format=None, dilation_rate=1):
    """N-D convolution (cross-correlation) for 1-D and 2-D inputs, as Keras's `ops.conv`.

    Args:
        inputs: (N, W, C) or (N, H, W, C) (channels first: (N, C, ...)).
        kernel: (KW, C // groups, F) or (KH, KW, C // groups, F); the channel groups are
            C // kernel.shape[-2].
        strides, dilation_rate: an int or one per spatial axis.
        padding: "valid" or "same".
        data_format: "channels_last" (the default for None) or "channels_first".

    Returns:
        The convolved batch, float64 if an input is float64, else float32.

    Example:
        >>> import numpy as np
        >>> from fastconv import ops
        >>> ops.conv(np.ones((1, 3, 3, 1)), np.ones((2, 2, 1, 1)))[0, :, :, 0]
        array([[4., 4.],
               [4., 4.]])
    """
    inputs, kernel = tensor(inputs), tensor(kernel)
    fmt = _args.normalize_data_format(data_format, allow_none=True)
    rank = _rank(inputs, "conv")
    if kernel.ndim != rank + 2:
        raise ValueError(f"`kernel` must have rank {rank + 2} for inputs of rank {inputs.ndim}. "
                         f"Received: inputs.shape={inputs.shape}, kernel.shape={kernel.shape}")
    channels = inputs.shape[-1] if fmt == "channels_last" else inputs.shape[1]
    if kernel.shape[-2] == 0 or channels % kernel.shape[-2]:
        raise ValueError("The number of input channels must be evenly divisible by kernel's "
                         f"in_channels. Received input channels {channels} and kernel "
                         f"in_channels {kernel.shape[-2]}.")
    config = dict(strides=_spatial(strides, rank, "strides"),
                  padding=_args.normalize_padding(padding, explicit=False),
                  dilation_rate=_spatial(dilation_rate, rank, "dilation_rate"),
                  groups=channels // kernel.shape[-2], data_format=fmt)
    # A first layer's input needs no gradient: its backward pass then skips dx.
    config["need_dx"] = _traced(inputs)
    if rank == 1:
        return _from_2d(_conv2d(_as_2d(inputs, fmt), np.expand_dims(kernel, 0), **config), fmt)
    return _conv2d(inputs, kernel, **config)


def depthwise_conv(inputs, kernel, strides=1, padding="valid", data_format=None,
                   dilation_rate=1):
    """Each input channel convolved with its own `depth_multiplier` filters.

    Args:
        inputs: as `conv`'s.
        kernel: (KH, KW, C, depth_multiplier) (1-D: (KW, C, depth_multiplier)); output
            channel c * depth_multiplier + m comes from input channel c.
    """
    inputs, kernel = tensor(inputs), tensor(kernel)
    fmt = _args.normalize_data_format(data_format, allow_none=True)
    channels = inputs.shape[-1] if fmt == "channels_last" else inputs.shape[1]
    if kernel.ndim < 2 or kernel.shape[-2] != channels:
        raise ValueError("The depthwise kernel's second-to-last axis must equal the input "
                         f"channels. Received: inputs.shape={inputs.shape}, "
                         f"kernel.shape={kernel.shape}, data_format={fmt}")
    grouped = np.reshape(kernel, kernel.shape[:-2] + (1, channels * kernel.shape[-1]))
    return conv(inputs, grouped, strides, padding, fmt, dilation_rate)


def separable_conv(inputs, depthwise_kernel, pointwise_kernel, strides=1, padding="valid",
                   data_format=None, dilation_rate=1):
    """A depthwise convolution followed by a 1x1 (`pointwise_kernel`) convolution."""
    depthwise = depthwise_conv(inputs, depthwise_kernel, strides, padding, data_format,
                               dilation_rate)
    return conv(depthwise, pointwise_kernel, 1, "valid", data_format, dilation_rate)


def _transpose_padding(output_padding, rank):
    """A 1-D op's output_padding as the 2-D kernels' (0, value): the height axis of 1 adds
    nothing (0 and None give the same size there)."""
    if output_padding is None or rank == 2:
        return output_padding
    return (0, _spatial(output_padding, rank, "output_padding")[1])


def _conv_transpose_vjp(out, x, kernel, need_dx=True, **config):
    def vjp(g):
        dx, dkernel, _ = conv2d_transpose_backward(g, x, kernel, compute_dx=need_dx, **config)
        return dx, dkernel
    return vjp


@primitive(_conv_transpose_vjp)
def _conv_transpose2d(x, kernel, need_dx=True, **config):
    return conv2d_transpose(x, kernel, **config)


def conv_transpose(inputs, kernel, strides=1, padding="valid", output_padding=None,
                   data_format=None, dilation_rate=1):
    """Transposed convolution (the gradient of `conv` with respect to its input) of 1-D or
    2-D inputs on the compiled `conv2d_transpose`, with Keras's output sizes: "valid":
    (size - 1) * stride + max(reach, stride); "same": size * stride; with `output_padding`,
    Keras's formulas with it added.

    Args:
        inputs: (N, W, C) or (N, H, W, C) (channels first: (N, C, ...)).
        kernel: (KH, KW, output_channels, C) (1-D: (KW, output_channels, C)).
        strides, dilation_rate: an int or one per spatial axis.
        padding: "valid" or "same".
        output_padding: None, an int or one per spatial axis (each < stride).
        data_format: "channels_last" (the default for None) or "channels_first".
    """
    inputs, kernel = tensor(inputs), tensor(kernel)
    fmt = _args.normalize_data_format(data_format, allow_none=True)
    rank = _rank(inputs, "conv_transpose")
    if kernel.ndim != rank + 2:
        raise ValueError(f"`kernel` must have rank {rank + 2} for inputs of rank {inputs.ndim}. "
                         f"Received: inputs.shape={inputs.shape}, kernel.shape={kernel.shape}")
    config = dict(strides=_spatial(strides, rank, "strides"),
                  padding=_args.normalize_padding(padding, explicit=False),
                  output_padding=_transpose_padding(output_padding, rank),
                  dilation_rate=_spatial(dilation_rate, rank, "dilation_rate"),
                  data_format=fmt, need_dx=_traced(inputs))
    if rank == 1:
        return _from_2d(_conv_transpose2d(_as_2d(inputs, fmt), np.expand_dims(kernel, 0),
                                          **config), fmt)
    return _conv_transpose2d(inputs, kernel, **config)


def _pool_vjp(backward):
    def maker(out, x, **config):
        return lambda g: (backward(g, x, **config),)
    return maker


@primitive(_pool_vjp(max_pool2d_backward))
def _max_pool2d(x, **config):
    return max_pool2d(x, **config)


@primitive(_pool_vjp(avg_pool2d_backward))
def _avg_pool2d(x, **config):
    return avg_pool2d(x, **config)


def _pool(op, what, inputs, pool_size, strides, padding, data_format):
    inputs = tensor(inputs)
    fmt = _args.normalize_data_format(data_format, allow_none=True)
    rank = _rank(inputs, what)
    config = dict(pool_size=_spatial(pool_size, rank, "pool_size"),
                  strides=None if strides is None else _spatial(strides, rank, "strides"),
                  padding=_args.normalize_padding(padding, explicit=False), data_format=fmt)
    if rank == 1:
        return _from_2d(op(_as_2d(inputs, fmt), **config), fmt)
    return op(inputs, **config)


def max_pool(inputs, pool_size, strides=None, padding="valid", data_format=None):
    """Max pooling of 1-D or 2-D inputs (`strides` None: `pool_size`); the gradient goes to
    each window's maximum.

    Example:
        >>> import numpy as np
        >>> from fastconv import ops
        >>> ops.max_pool(np.arange(4.0).reshape(1, 4, 1), 2)[0, :, 0]
        array([1., 3.])
    """
    return _pool(_max_pool2d, "max_pool", inputs, pool_size, strides, padding, data_format)


def average_pool(inputs, pool_size, strides=None, padding="valid", data_format=None):
    """Average pooling of 1-D or 2-D inputs ("same" windows average their valid cells)."""
    return _pool(_avg_pool2d, "average_pool", inputs, pool_size, strides, padding, data_format)
