"""Plain float64 NumPy references of the issue-14 layers, written from the layers' definitions
(loops over output cells and explicit windows), independent of fastconv's code."""

import numpy as np

import reference as ref


def conv2d_transpose(x, kernel, bias, strides, padding, output_padding, dilation):
    """Scatter form: x[n, i, j, c] * kernel[a, b, f, c] lands on output cell
    (i*s + a*d - top, j*s + b*d - left). Output size from Keras's `deconv_output_length`,
    `top` from TensorFlow's "SAME" rule applied to that output (0 for "valid")."""
    N, H, W, C = x.shape
    KH, KW, F, _ = kernel.shape

    def axis(size, k, s, d, op):
        effective = (k - 1) * d + 1
        if op is None:
            out = size * s + max(effective - s, 0) if padding == "valid" else size * s
        else:
            pad = effective // 2 if padding == "same" else 0
            out = (size - 1) * s + effective - 2 * pad + op
        top = 0 if padding == "valid" else max((size - 1) * s + effective - out, 0) // 2
        return out, top

    ops = output_padding or (None, None)
    OH, top = axis(H, KH, strides[0], dilation[0], ops[0])
    OW, left = axis(W, KW, strides[1], dilation[1], ops[1])
    y = np.zeros((N, OH, OW, F))
    for i in range(H):
        for j in range(W):
            for a in range(KH):
                for b in range(KW):
                    oi = i * strides[0] + a * dilation[0] - top
                    oj = j * strides[1] + b * dilation[1] - left
                    if 0 <= oi < OH and 0 <= oj < OW:
                        y[:, oi, oj, :] += x[:, i, j, :] @ kernel[a, b].T
    return y if bias is None else y + bias


def depthwise_conv2d(x, kernel, bias, strides, padding, dilation):
    """Channel c convolved with kernel[:, :, c, m] gives output channel c * M + m."""
    C, M = kernel.shape[2], kernel.shape[3]
    parts = [ref.conv2d_ref(x[..., c:c + 1], kernel[:, :, c:c + 1, :], None, strides, padding,
                            dilation) for c in range(C)]
    y = np.concatenate(parts, axis=-1)
    assert y.shape[-1] == C * M
    return y if bias is None else y + bias


def conv1d(x, kernel, bias, stride, padding, dilation, groups=1):
    """y[n, t, f] = sum over taps k and the group's channels of
    xpad[n, t*stride + k*dilation, c] * kernel[k, c, f]."""
    N, L, C = x.shape
    K, Cg, F = kernel.shape
    effective = (K - 1) * dilation + 1
    if padding == "causal":
        before, after = effective - 1, 0
    elif padding == "same":
        out = -(-L // stride)
        total = max((out - 1) * stride + effective - L, 0)
        before, after = total // 2, total - total // 2
    else:
        before = after = 0
    xpad = np.pad(x, ((0, 0), (before, after), (0, 0)))
    T = (L + before + after - effective) // stride + 1
    Fg = F // groups
    y = np.zeros((N, T, F))
    for t in range(T):
        for k in range(K):
            step = xpad[:, t * stride + k * dilation, :]
            for f in range(F):
                g = f // Fg
                y[:, t, f] += step[:, g * Cg:(g + 1) * Cg] @ kernel[k, :, f]
    return y if bias is None else y + bias


def pool1d(x, kind, size, stride, padding):
    """Explicit windows over the steps of (N, L, C); "same" pads TensorFlow's way and padded
    cells never count."""
    N, L, C = x.shape
    if padding == "same":
        out = -(-L // stride)
        before = max((out - 1) * stride + size - L, 0) // 2
    else:
        out, before = (L - size) // stride + 1, 0
    y = np.zeros((N, out, C))
    for t in range(out):
        start = t * stride - before
        cells = x[:, max(start, 0):min(start + size, L), :]
        y[:, t, :] = cells.max(axis=1) if kind == "max" else cells.mean(axis=1)
    return y


def bilinear_upsample(x, factors):
    """Each output pixel (i, j) of (N, H*fh, W*fw, C) reads source coordinate
    ((i + 0.5) / fh - 0.5, (j + 0.5) / fw - 0.5), clamped, and blends its 4 neighbours."""
    N, H, W, C = x.shape
    y = np.zeros((N, H * factors[0], W * factors[1], C))
    for i in range(H * factors[0]):
        r = min(max((i + 0.5) / factors[0] - 0.5, 0.0), H - 1)
        r0 = int(np.floor(r)); r1 = min(r0 + 1, H - 1); fr = r - r0
        for j in range(W * factors[1]):
            c = min(max((j + 0.5) / factors[1] - 0.5, 0.0), W - 1)
            c0 = int(np.floor(c)); c1 = min(c0 + 1, W - 1); fc = c - c0
            y[:, i, j] = ((1 - fr) * (1 - fc) * x[:, r0, c0] + (1 - fr) * fc * x[:, r0, c1]
                          + fr * (1 - fc) * x[:, r1, c0] + fr * fc * x[:, r1, c1])
    return y
