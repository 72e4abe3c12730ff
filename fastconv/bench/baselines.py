"""Baselines the benchmarks compare fastconv with: plain NumPy, and PyTorch when installed.

The NumPy baselines are written plainly, the way a careful user would without fastconv: conv2d
as im2col (a strided window view copied into a matrix) times the kernel matrix, its backward as
the two transposed products plus col2im, and pooling as a max or mean over window views. They
also serve as an oracle independent of the C kernels (tests/test_bench_smoke.py).

Everything here is NHWC, kernel (KH, KW, C / groups, F), stride >= 1, no dilation, and
`padding` "valid" or "same" (TensorFlow's split). PyTorch is imported lazily and never required.
"""

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

# ---------------------------------------------------------------------------------------------
# Geometry


def same_or_valid_pads(size, window, stride, padding):
    """(before, after) padding of one axis for "valid" or TensorFlow's "same"."""
    padding = padding.lower()
    if padding == "valid":
        return 0, 0
    if padding != "same":
        raise ValueError(f"baselines support padding 'valid' or 'same'. Received: {padding!r}")
    out = -(-size // stride)
    total = max((out - 1) * stride + window - size, 0)
    return total // 2, total - total // 2


def _pad_nhwc(x, pads_h, pads_w):
    if pads_h == (0, 0) and pads_w == (0, 0):
        return x
    return np.pad(x, ((0, 0), pads_h, pads_w, (0, 0)))


# ---------------------------------------------------------------------------------------------
# NumPy conv2d


def im2col(x, KH, KW, strides=1, padding="valid"):
    """Patches of NHWC `x` as a (N*OH*OW, KH*KW*C) matrix, rows in (kh, kw, c) order.

    Returns (cols, (N, OH, OW)).
    """
    N, H, W, C = x.shape
    pads_h = same_or_valid_pads(H, KH, strides, padding)
    pads_w = same_or_valid_pads(W, KW, strides, padding)
    xp = _pad_nhwc(x, pads_h, pads_w)
    # (N, OH', OW', C, KH, KW) -> every stride-th window -> (N, OH, OW, KH, KW, C)
    windows = sliding_window_view(xp, (KH, KW), axis=(1, 2))[:, ::strides, ::strides]
    OH, OW = windows.shape[1:3]
    cols = np.ascontiguousarray(windows.transpose(0, 1, 2, 4, 5, 3))
    return cols.reshape(N * OH * OW, KH * KW * C), (N, OH, OW)


def col2im(dcols, x_shape, KH, KW, strides=1, padding="valid"):
    """The adjoint of im2col: adds each patch row back onto the image it came from."""
    N, H, W, C = x_shape
    pads_h = same_or_valid_pads(H, KH, strides, padding)
    pads_w = same_or_valid_pads(W, KW, strides, padding)
    Hp, Wp = H + sum(pads_h), W + sum(pads_w)
    OH, OW = (Hp - KH) // strides + 1, (Wp - KW) // strides + 1
    patches = dcols.reshape(N, OH, OW, KH, KW, C)
    dxp = np.zeros((N, Hp, Wp, C), dtype=dcols.dtype)
    for kh in range(KH):
        for kw in range(KW):
            dxp[:, kh:kh + strides * (OH - 1) + 1:strides,
                kw:kw + strides * (OW - 1) + 1:strides] += patches[:, :, :, kh, kw]
    return dxp[:, pads_h[0]:pads_h[0] + H, pads_w[0]:pads_w[0] + W]


def numpy_conv2d(x, kernel, bias=None, strides=1, padding="valid", groups=1):
    """y = im2col(x) @ kernel matrix (+ bias), NHWC; one product per group."""
    KH, KW, Cg, F = kernel.shape
    Fg = F // groups
    ys = []
    for g in range(groups):
        cols, (N, OH, OW) = im2col(x[..., g * Cg:(g + 1) * Cg], KH, KW, strides, padding)
        ys.append(cols @ kernel[..., g * Fg:(g + 1) * Fg].reshape(KH * KW * Cg, Fg))
    y = np.concatenate(ys, axis=1) if groups > 1 else ys[0]
    if bias is not None:
        y += bias
    return y.reshape(N, OH, OW, F)


def numpy_conv2d_backward(dy, x, kernel, strides=1, padding="valid", groups=1):
    """(dx, dkernel, dbias): dx = col2im(dy @ W^T), dW = im2col(x)^T @ dy, db = sum(dy), one
    product per group."""
    KH, KW, Cg, F = kernel.shape
    Fg = F // groups
    dy_mat = dy.reshape(-1, F)
    dx, dkernel = np.empty_like(x), np.empty_like(kernel)
    for g in range(groups):
        xg = x[..., g * Cg:(g + 1) * Cg]
        cols, _ = im2col(xg, KH, KW, strides, padding)
        dy_g = dy_mat[:, g * Fg:(g + 1) * Fg]
        w_mat = kernel[..., g * Fg:(g + 1) * Fg].reshape(KH * KW * Cg, Fg)
        dx[..., g * Cg:(g + 1) * Cg] = col2im(dy_g @ w_mat.T, xg.shape, KH, KW, strides, padding)
        dkernel[..., g * Fg:(g + 1) * Fg] = (cols.T @ dy_g).reshape(KH, KW, Cg, Fg)
    dbias = dy_mat.sum(axis=0)
    return dx, dkernel, dbias


# ---------------------------------------------------------------------------------------------
# NumPy pooling (valid padding; windows may overlap)


def _windows(x, pool, strides):
    """(N, OH, OW, C, KH, KW) read-only view of the pooling windows of NHWC `x`."""
    return sliding_window_view(x, (pool, pool), axis=(1, 2))[:, ::strides, ::strides]


def numpy_max_pool2d(x, pool=2, strides=None):
    return _windows(x, pool, strides or pool).max(axis=(4, 5))


def numpy_avg_pool2d(x, pool=2, strides=None):
    return _windows(x, pool, strides or pool).mean(axis=(4, 5), dtype=x.dtype)


def numpy_max_pool2d_backward(dy, x, pool=2, strides=None):
    """Each window's gradient goes to its first maximal element in row-major window order."""
    strides = strides or pool
    N, OH, OW, C = dy.shape
    windows = _windows(x, pool, strides).reshape(N, OH, OW, C, pool * pool)
    winner = windows.argmax(axis=4)  # argmax returns the first maximum
    dx = np.zeros_like(x)
    for k in range(pool * pool):
        kh, kw = divmod(k, pool)
        dx[:, kh:kh + strides * (OH - 1) + 1:strides,
           kw:kw + strides * (OW - 1) + 1:strides] += np.where(winner == k, dy, 0)
    return dx


def numpy_avg_pool2d_backward(dy, x, pool=2, strides=None):
    strides = strides or pool
    N, OH, OW, C = dy.shape
    share = dy / np.asarray(pool * pool, dtype=dy.dtype)
    dx = np.zeros_like(x)
    for kh in range(pool):
        for kw in range(pool):
            dx[:, kh:kh + strides * (OH - 1) + 1:strides,
               kw:kw + strides * (OW - 1) + 1:strides] += share
    return dx


# ---------------------------------------------------------------------------------------------
# PyTorch (optional)


def load_torch():
    """The torch module, or None when PyTorch is not installed (or fails to import)."""
    try:
        import torch
    except Exception:  # not installed, or a broken install: the comparison is optional
        return None
    return torch


def torch_version():
    torch = load_torch()
    return None if torch is None else torch.__version__


# PyTorch's CPU kernels differ by memory format (oneDNN's NHWC paths are often the faster ones,
# its NCHW pooling is slow): every PyTorch row is timed in both and reports the better.
TORCH_LAYOUTS = ("nchw", "channels_last")


def to_torch(torch, array, layout):
    """An NHWC (or HWIO-like 4-d) array as a torch tensor of NCHW shape in `layout`'s memory
    order, copied once outside any timing."""
    tensor = torch.from_numpy(np.ascontiguousarray(array.transpose(0, 3, 1, 2)))
    if layout == "channels_last":
        return tensor.contiguous(memory_format=torch.channels_last)
    if layout != "nchw":
        raise ValueError(f"layout must be one of {TORCH_LAYOUTS}, got {layout!r}")
    return tensor


def torch_to_nhwc(tensor):
    """A torch tensor of NCHW shape (either memory order) as an NHWC NumPy array."""
    return tensor.numpy().transpose(0, 2, 3, 1)


class TorchConv:
    """conv2d forward/backward in PyTorch on tensors converted once, outside the timing, in
    `layout` ("nchw" or "channels_last": input, kernel and gradient alike, as
    `model.to(memory_format=torch.channels_last)` would hold them).

    Backward computes dx and dW with torch.nn.grad.conv2d_input / conv2d_weight (each one
    aten.convolution_backward call) and dbias as dy summed, the same work fastconv does.
    Raises ValueError when the padding is asymmetric (PyTorch pads both sides equally).
    """

    def __init__(self, torch, x, kernel, bias, dy, strides, padding, groups=1, layout="nchw"):
        KH, KW = kernel.shape[:2]
        ph = same_or_valid_pads(x.shape[1], KH, strides, padding)
        pw = same_or_valid_pads(x.shape[2], KW, strides, padding)
        if ph[0] != ph[1] or pw[0] != pw[1]:
            raise ValueError("asymmetric padding: no PyTorch baseline")
        self.torch = torch
        self.F = torch.nn.functional
        self.padding = (ph[0], pw[0])
        self.strides = strides
        self.groups = groups
        self.x = to_torch(torch, x, layout)
        self.w = to_torch(torch, kernel.transpose(3, 0, 1, 2), layout)  # (F, Cg, KH, KW)
        self.b = None if bias is None else torch.from_numpy(np.ascontiguousarray(bias))
        self.dy = None if dy is None else to_torch(torch, dy, layout)

    def forward(self):
        with self.torch.no_grad():
            return self.F.conv2d(self.x, self.w, self.b, stride=self.strides,
                                 padding=self.padding, groups=self.groups)

    def backward(self):
        grad = self.torch.nn.grad
        with self.torch.no_grad():
            dx = grad.conv2d_input(self.x.shape, self.w, self.dy, stride=self.strides,
                                   padding=self.padding, groups=self.groups)
            dw = grad.conv2d_weight(self.x, self.w.shape, self.dy, stride=self.strides,
                                    padding=self.padding, groups=self.groups)
            db = self.dy.sum(dim=(0, 2, 3))
        return dx, dw, db

    @staticmethod
    def forward_to_nhwc(y):
        return torch_to_nhwc(y)

    @staticmethod
    def backward_to_nhwc(grads):
        dx, dw, db = grads
        return torch_to_nhwc(dx), dw.numpy().transpose(2, 3, 1, 0), db.numpy()


class TorchPool:
    """max_pool2d / avg_pool2d forward and backward in PyTorch on tensors in `layout` ("nchw" or
    "channels_last").

    The backward pass calls the aten backward kernels that autograd runs in a training step.
    For max pooling that kernel scatters dy through the indices the forward recorded; they are
    computed once here, untimed, so PyTorch's max backward does not read x while fastconv's
    (which keeps no indices) finds each window's maximum again.
    """

    def __init__(self, torch, kind, x, dy, pool, strides, layout="nchw"):
        self.torch = torch
        self.kind = kind
        self.pool = pool
        self.strides = strides or pool
        self.x = to_torch(torch, x, layout)
        self.dy = None if dy is None else to_torch(torch, dy, layout)
        if kind == "max":
            with torch.no_grad():
                _, self.indices = torch.nn.functional.max_pool2d(
                    self.x, pool, self.strides, return_indices=True)

    def forward(self):
        F = self.torch.nn.functional
        with self.torch.no_grad():
            if self.kind == "max":
                return F.max_pool2d(self.x, self.pool, self.strides)
            return F.avg_pool2d(self.x, self.pool, self.strides)

    def backward(self):
        aten = self.torch.ops.aten
        with self.torch.no_grad():
            if self.kind == "max":
                return aten.max_pool2d_with_indices_backward(
                    self.dy, self.x, [self.pool] * 2, [self.strides] * 2, [0, 0], [1, 1],
                    False, self.indices)
            return aten.avg_pool2d_backward(self.dy, self.x, [self.pool] * 2,
                                            [self.strides] * 2, [0, 0], False, True, None)

    @staticmethod
    def to_nhwc(t):
        return torch_to_nhwc(t)
