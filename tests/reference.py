"""Plain NumPy float64 reference for fastconv.ops, written from API.md alone.

Written for clarity, not speed. Everything is NHWC (channels_last) and float64;
a conv kernel is (KH, KW, C // groups, F) and a bias is (F,).

Convolution is a sum over kernel taps (kh, kw) of shifted-window matrix
products, and its backward pass is the adjoint of that same sum. Pooling is an
explicit loop over output windows, vectorized over N and C, with TensorFlow
semantics: padded cells never win a max, NaN propagates, the max gradient goes
to the first maximal element in row-major window order, and the average divisor
counts only the real (non-padded) cells.
"""

import math

import numpy as np

__all__ = [
    "pair",
    "resolve_padding",
    "conv_output_size",
    "conv2d_ref",
    "conv2d_backward_ref",
    "max_pool2d_ref",
    "max_pool2d_backward_ref",
    "avg_pool2d_ref",
    "avg_pool2d_backward_ref",
    "to_channels_first",
    "to_channels_last",
]


def pair(value):
    """An int or a 2-sequence of ints -> a tuple (h, w)."""
    if isinstance(value, (int, np.integer)):
        return (int(value), int(value))
    h, w = value
    return (int(h), int(w))


def _same_padding_1d(size, window, stride, dilation):
    out = math.ceil(size / stride)
    total = max((out - 1) * stride + (window - 1) * dilation + 1 - size, 0)
    before = total // 2
    return (before, total - before)


def resolve_padding(padding, size, window, stride, dilation=1):
    """Explicit padding ((top, bottom), (left, right)) for an API.md `padding`.

    `size`, `window`, `stride` and `dilation` are ints or (h, w) pairs.
    "same" follows TensorFlow: out = ceil(in / stride), total padding
    max((out - 1) * stride + (k - 1) * dilation + 1 - in, 0), the smaller half
    on top/left and the odd cell on bottom/right.
    """
    size, window, stride, dilation = map(pair, (size, window, stride, dilation))
    if isinstance(padding, str):
        mode = padding.lower()
        if mode == "valid":
            return ((0, 0), (0, 0))
        if mode == "same":
            return tuple(
                _same_padding_1d(size[i], window[i], stride[i], dilation[i])
                for i in range(2)
            )
        raise ValueError(f"unknown padding {padding!r}")
    if isinstance(padding, (int, np.integer)):
        p = int(padding)
        return ((p, p), (p, p))
    ph, pw = padding
    if isinstance(ph, (int, np.integer)) and isinstance(pw, (int, np.integer)):
        return ((int(ph), int(ph)), (int(pw), int(pw)))
    (top, bottom), (left, right) = ph, pw
    return ((int(top), int(bottom)), (int(left), int(right)))


def conv_output_size(size, window, stride, dilation, pad_before, pad_after):
    """Number of window positions along one axis."""
    span = (window - 1) * dilation + 1
    return (size + pad_before + pad_after - span) // stride + 1


def _geometry(x_shape, window, strides, padding, dilation):
    """Padding and output size (OH, OW) for an NHWC input shape."""
    _, H, W, _ = x_shape
    window, strides, dilation = map(pair, (window, strides, dilation))
    (top, bottom), (left, right) = resolve_padding(
        padding, (H, W), window, strides, dilation
    )
    OH = conv_output_size(H, window[0], strides[0], dilation[0], top, bottom)
    OW = conv_output_size(W, window[1], strides[1], dilation[1], left, right)
    if OH < 1 or OW < 1:
        raise ValueError("window larger than the padded input")
    return ((top, bottom), (left, right)), (OH, OW)


def _tap_slices(kh, kw, OH, OW, strides, dilation):
    """Rows and columns of the padded input that kernel tap (kh, kw) touches."""
    sh, sw = strides
    dh, dw = dilation
    rows = slice(kh * dh, kh * dh + (OH - 1) * sh + 1, sh)
    cols = slice(kw * dw, kw * dw + (OW - 1) * sw + 1, sw)
    return rows, cols


# ----------------------------------------------------------------------------
# Convolution
# ----------------------------------------------------------------------------


def conv2d_ref(x, kernel, bias=None, strides=1, padding="valid", dilation=1,
               groups=1):
    """y[n, oh, ow, f] = bias[f] + sum_{kh, kw, c} xpad[n, oh*sh + kh*dh,
    ow*sw + kw*dw, g*Cg + c] * kernel[kh, kw, c, f], f in group g.

    x: (N, H, W, C); kernel: (KH, KW, C // groups, F); bias: (F,) or None.
    Returns y: (N, OH, OW, F), float64.
    """
    x = np.asarray(x, dtype=np.float64)
    kernel = np.asarray(kernel, dtype=np.float64)
    N, H, W, C = x.shape
    KH, KW, Cg, F = kernel.shape
    assert C == Cg * groups and F % groups == 0
    Fg = F // groups
    strides, dilation = pair(strides), pair(dilation)
    ((top, bottom), (left, right)), (OH, OW) = _geometry(
        x.shape, (KH, KW), strides, padding, dilation
    )
    xpad = np.pad(x, ((0, 0), (top, bottom), (left, right), (0, 0)))
    y = np.zeros((N, OH, OW, F))
    for g in range(groups):
        cin = slice(g * Cg, (g + 1) * Cg)
        cout = slice(g * Fg, (g + 1) * Fg)
        for kh in range(KH):
            for kw in range(KW):
                rows, cols = _tap_slices(kh, kw, OH, OW, strides, dilation)
                window = xpad[:, rows, cols, cin]          # (N, OH, OW, Cg)
                y[..., cout] += window @ kernel[kh, kw, :, cout]
    if bias is not None:
        y += np.asarray(bias, dtype=np.float64)
    return y


def conv2d_backward_ref(dy, x, kernel, strides=1, padding="valid", dilation=1,
                        groups=1):
    """Adjoint of conv2d_ref: returns (dx, dkernel, dbias), all float64.

    Each tap's forward term `window @ w` becomes `dy @ w.T` scatter-added into
    the padded dx (then cropped) and `window^T @ dy` added into dkernel[kh, kw].
    """
    dy = np.asarray(dy, dtype=np.float64)
    x = np.asarray(x, dtype=np.float64)
    kernel = np.asarray(kernel, dtype=np.float64)
    N, H, W, C = x.shape
    KH, KW, Cg, F = kernel.shape
    assert C == Cg * groups and F % groups == 0
    Fg = F // groups
    strides, dilation = pair(strides), pair(dilation)
    ((top, bottom), (left, right)), (OH, OW) = _geometry(
        x.shape, (KH, KW), strides, padding, dilation
    )
    assert dy.shape == (N, OH, OW, F), (dy.shape, (N, OH, OW, F))
    xpad = np.pad(x, ((0, 0), (top, bottom), (left, right), (0, 0)))
    dxpad = np.zeros_like(xpad)
    dkernel = np.zeros_like(kernel)
    for g in range(groups):
        cin = slice(g * Cg, (g + 1) * Cg)
        cout = slice(g * Fg, (g + 1) * Fg)
        dy_g = dy[..., cout]                                # (N, OH, OW, Fg)
        for kh in range(KH):
            for kw in range(KW):
                rows, cols = _tap_slices(kh, kw, OH, OW, strides, dilation)
                w = kernel[kh, kw, :, cout]                 # (Cg, Fg)
                dxpad[:, rows, cols, cin] += dy_g @ w.T
                window = xpad[:, rows, cols, cin]
                dkernel[kh, kw, :, cout] += np.einsum(
                    "nhwc,nhwf->cf", window, dy_g
                )
    dx = dxpad[:, top:top + H, left:left + W, :]
    dbias = dy.sum(axis=(0, 1, 2))
    return np.ascontiguousarray(dx), dkernel, dbias


# ----------------------------------------------------------------------------
# Pooling
# ----------------------------------------------------------------------------


def _pool_windows(x_shape, pool_size, strides, padding):
    """Yield (oh, ow, rows, cols): the real (non-padded) input rows and columns
    of each output window, as Python ranges in row-major order."""
    _, H, W, _ = x_shape
    pool_size = pair(pool_size)
    strides = pool_size if strides is None else pair(strides)
    ((top, _), (left, _)), (OH, OW) = _geometry(
        x_shape, pool_size, strides, padding, 1
    )
    for oh in range(OH):
        r0 = oh * strides[0] - top
        rows = range(max(r0, 0), min(r0 + pool_size[0], H))
        for ow in range(OW):
            c0 = ow * strides[1] - left
            cols = range(max(c0, 0), min(c0 + pool_size[1], W))
            if len(rows) == 0 or len(cols) == 0:
                raise ValueError("a pooling window lies entirely in padding")
            yield oh, ow, rows, cols


def _pool_output_shape(x_shape, pool_size, strides, padding):
    N, _, _, C = x_shape
    pool_size = pair(pool_size)
    strides = pool_size if strides is None else pair(strides)
    _, (OH, OW) = _geometry(x_shape, pool_size, strides, padding, 1)
    return (N, OH, OW, C)


def _window_cells(x, rows, cols):
    """x[:, rows, cols, :] flattened to (N, cells, C) in row-major window order."""
    N, _, _, C = x.shape
    block = x[:, rows.start:rows.stop, cols.start:cols.stop, :]
    return block.reshape(N, len(rows) * len(cols), C)


def max_pool2d_ref(x, pool_size=2, strides=None, padding="valid"):
    """Max over the real cells of each window; NaN propagates. NHWC, float64."""
    x = np.asarray(x, dtype=np.float64)
    y = np.empty(_pool_output_shape(x.shape, pool_size, strides, padding))
    for oh, ow, rows, cols in _pool_windows(x.shape, pool_size, strides, padding):
        cells = _window_cells(x, rows, cols)
        y[:, oh, ow, :] = np.max(cells, axis=1)   # np.max propagates NaN
    return y


def _first_max_index(cells):
    """Index (along axis 1) of the first maximal cell, or of the first NaN."""
    is_nan = np.isnan(cells)
    first_nan = np.argmax(is_nan, axis=1)
    first_max = np.argmax(np.where(is_nan, -np.inf, cells), axis=1)
    # Ensure a first maximum even when every cell is -inf (argmax -> 0 is right).
    return np.where(is_nan.any(axis=1), first_nan, first_max)


def max_pool2d_backward_ref(dy, x, pool_size=2, strides=None, padding="valid"):
    """Each window's dy goes to its first maximal real cell (first NaN if any)."""
    dy = np.asarray(dy, dtype=np.float64)
    x = np.asarray(x, dtype=np.float64)
    assert dy.shape == _pool_output_shape(x.shape, pool_size, strides, padding)
    N, _, _, C = x.shape
    dx = np.zeros_like(x)
    n_idx = np.arange(N)[:, None]
    c_idx = np.arange(C)[None, :]
    for oh, ow, rows, cols in _pool_windows(x.shape, pool_size, strides, padding):
        cells = _window_cells(x, rows, cols)
        k = _first_max_index(cells)                       # (N, C)
        r = np.asarray(rows)[k // len(cols)]
        c = np.asarray(cols)[k % len(cols)]
        np.add.at(dx, (n_idx, r, c, c_idx), dy[:, oh, ow, :])
    return dx


def avg_pool2d_ref(x, pool_size=2, strides=None, padding="valid"):
    """Mean over the real cells of each window (padding not counted)."""
    x = np.asarray(x, dtype=np.float64)
    y = np.empty(_pool_output_shape(x.shape, pool_size, strides, padding))
    for oh, ow, rows, cols in _pool_windows(x.shape, pool_size, strides, padding):
        cells = _window_cells(x, rows, cols)
        y[:, oh, ow, :] = cells.sum(axis=1) / cells.shape[1]
    return y


def avg_pool2d_backward_ref(dy, x, pool_size=2, strides=None, padding="valid"):
    """Each window's dy / (its number of real cells) added to each real cell."""
    dy = np.asarray(dy, dtype=np.float64)
    x_shape = np.shape(x)
    assert dy.shape == _pool_output_shape(x_shape, pool_size, strides, padding)
    dx = np.zeros(x_shape)
    for oh, ow, rows, cols in _pool_windows(x_shape, pool_size, strides, padding):
        count = len(rows) * len(cols)
        dx[:, rows.start:rows.stop, cols.start:cols.stop, :] += (
            dy[:, oh, ow, None, None, :] / count
        )
    return dx


# ----------------------------------------------------------------------------
# Layout helpers
# ----------------------------------------------------------------------------


def to_channels_first(a):
    """(N, H, W, C) -> (N, C, H, W), C-contiguous copy."""
    return np.ascontiguousarray(np.transpose(a, (0, 3, 1, 2)))


def to_channels_last(a):
    """(N, C, H, W) -> (N, H, W, C), C-contiguous copy."""
    return np.ascontiguousarray(np.transpose(a, (0, 2, 3, 1)))
