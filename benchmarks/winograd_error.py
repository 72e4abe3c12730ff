"""Rounding error of Winograd's F(2x2, 3x3) and F(4x4, 3x3) in float32, on layers of few channels.

    python benchmarks/winograd_error.py
    python benchmarks/winograd_error.py --channels 3 --filters 32 --size 40

Whether a first layer (1-3 input channels) could take a Winograd kernel depends on its error as
much as on its speed: the docs promise about 2e-7 of the largest output in float32, and the twin
tests allow 2e-6. The script computes one layer (3x3 valid, stride 1) four ways in float32 and
prints each result's error against the float64 direct sum, as a fraction of the largest output
(max) and root mean square (rms):

- fastconv's `ops.conv2d` (its direct first-layer kernel below 16 channels);
- a plain float32 direct sum (NumPy, one tap at a time);
- Winograd's F(2x2, 3x3) and F(4x4, 3x3) in float32, written plainly in NumPy from the transform
  matrices of Lavin and Gray ("Fast Algorithms for Convolutional Neural Networks", 2016): the
  filter transform in float64 and rounded once, as a kernel packing its filters would, the input
  transform, the products summed over channels and the output transform in float32.

Each Winograd result in float64 is checked against the direct sum first, so a wrong matrix stops
the script instead of showing up as an error. Inputs: uniform [0, 1), integers [0, 255] (unscaled
pixels) and standard normal, with He-initialized filters. NumPy only, single-threaded; it times
nothing.
"""

import argparse

import numpy as np

import fastconv.ops as ops


def transforms(m):
    """(B^T, G, A^T) of F(m x m, 3x3), in float64."""
    if m == 2:
        bt = [[1, 0, -1, 0], [0, 1, 1, 0], [0, -1, 1, 0], [0, 1, 0, -1]]
        g = [[1, 0, 0], [1 / 2, 1 / 2, 1 / 2], [1 / 2, -1 / 2, 1 / 2], [0, 0, 1]]
        at = [[1, 1, 1, 0], [0, 1, -1, -1]]
    elif m == 4:
        bt = [[4, 0, -5, 0, 1, 0], [0, -4, -4, 1, 1, 0], [0, 4, -4, -1, 1, 0],
              [0, -2, -1, 2, 1, 0], [0, 2, -1, -2, 1, 0], [0, 4, 0, -5, 0, 1]]
        g = [[1 / 4, 0, 0], [-1 / 6, -1 / 6, -1 / 6], [-1 / 6, 1 / 6, -1 / 6],
             [1 / 24, 1 / 12, 1 / 6], [1 / 24, -1 / 12, 1 / 6], [0, 0, 1]]
        at = [[1, 1, 1, 1, 1, 0], [0, 1, -1, 2, -2, 0], [0, 1, 1, 4, 4, 0], [0, 1, -1, 8, -8, 1]]
    else:
        raise ValueError(f"m must be 2 or 4, got {m}")
    return np.array(bt, float), np.array(g, float), np.array(at, float)


def direct(x, w, dtype):
    """Valid 3x3 cross-correlation of one image (H, W, C) with w (3, 3, C, F), summed in dtype."""
    x, w = x.astype(dtype), w.astype(dtype)
    oh, ow = x.shape[0] - 2, x.shape[1] - 2
    out = np.zeros((oh, ow, w.shape[-1]), dtype)
    for i in range(3):
        for j in range(3):
            out += x[i:i + oh, j:j + ow] @ w[i, j]
    return out


def winograd(x, w, m, dtype):
    """The same layer by F(m x m, 3x3): tiles of m x m outputs from (m + 2) x (m + 2) inputs."""
    bt, g, at = transforms(m)
    u = np.einsum("ai,ijcf,bj->abcf", g, w, g).astype(dtype)
    bt, at, x = bt.astype(dtype), at.astype(dtype), x.astype(dtype)
    oh, ow = x.shape[0] - 2, x.shape[1] - 2
    th, tw = -(-oh // m), -(-ow // m)
    padded = np.zeros((th * m + 2, tw * m + 2, x.shape[2]), dtype)
    padded[:x.shape[0], :x.shape[1]] = x
    out = np.empty((th * m, tw * m, w.shape[-1]), dtype)
    for ti in range(th):
        for tj in range(tw):
            d = padded[ti * m:ti * m + m + 2, tj * m:tj * m + m + 2]
            v = np.einsum("ai,ijc,bj->abc", bt, d, bt)
            points = np.einsum("abc,abcf->abf", v, u)
            out[ti * m:ti * m + m, tj * m:tj * m + m] = np.einsum("ia,abf,jb->ijf", at, points, at)
    return out[:oh, :ow]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--channels", type=int, default=3)
    parser.add_argument("--filters", type=int, default=32)
    parser.add_argument("--size", type=int, default=40, help="image height and width")
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    c, f, s = args.channels, args.filters, args.size
    w = rng.standard_normal((3, 3, c, f)) * np.sqrt(2 / (9 * c))
    inputs = {"uniform [0, 1)": rng.random((s, s, c)),
              "integers [0, 255]": rng.integers(0, 256, (s, s, c)).astype(float),
              "standard normal": rng.standard_normal((s, s, c))}
    print(f"{s}x{s}x{c} -> {f}, 3x3 valid, float32 against the float64 direct sum")
    print(f"{'input':18s} {'method':24s} {'max err / max|ref|':>19s} {'rms err / rms ref':>18s}")
    for name, x in inputs.items():
        reference = direct(x, w, np.float64)
        for m in (2, 4):
            np.testing.assert_allclose(winograd(x, w, m, np.float64), reference, rtol=0,
                                       atol=1e-12 * np.abs(reference).max())
        results = {
            "fastconv ops.conv2d": ops.conv2d(x[None].astype(np.float32),
                                              w.astype(np.float32))[0],
            "direct sum": direct(x, w, np.float32),
            "Winograd F(2x2, 3x3)": winograd(x, w, 2, np.float32),
            "Winograd F(4x4, 3x3)": winograd(x, w, 4, np.float32),
        }
        for method, result in results.items():
            err = np.abs(result - reference)
            relative_max = err.max() / np.abs(reference).max()
            relative_rms = np.sqrt(np.mean(err ** 2) / np.mean(reference ** 2))
            print(f"{name:18s} {method:24s} {relative_max:19.2e} {relative_rms:18.2e}")


if __name__ == "__main__":
    main()
