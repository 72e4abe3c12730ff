"""Time fastconv.ops.conv2d on your own layer's shape against plain NumPy, checking results first.

Run:  python examples/benchmark_conv.py                          (the tutorial CNN's second conv)
      python examples/benchmark_conv.py --shape 128,14,14,64,64,3 --threads 1
      python examples/benchmark_conv.py --quick                  (a small shape, seconds)

For the full table of the tutorial layers against NumPy and PyTorch, use `fastconv bench`
(see benchmarks/README.md); this program shows the method on one shape: check the result
against an independent reference, warm up, time several samples, report the median.
"""
import argparse
import statistics
import timeit

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

import fastconv
from fastconv import ops

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--shape", default="32,14,14,32,64,3", metavar="N,H,W,C,F,K",
                    help="batch, height, width, input channels, filters, kernel size "
                         "(default: 32,14,14,32,64,3)")
parser.add_argument("--threads", type=int, default=None, help="fastconv's threads (default: all)")
parser.add_argument("--quick", action="store_true", help="a small shape and few samples")
args = parser.parse_args()

N, H, W, C, F, K = (8, 8, 8, 8, 16, 3) if args.quick else map(int, args.shape.split(","))
if args.threads:
    fastconv.set_num_threads(args.threads)
rng = np.random.default_rng(0)
x = rng.standard_normal((N, H, W, C)).astype(np.float32)
kernel = rng.standard_normal((K, K, C, F)).astype(np.float32)
bias = rng.standard_normal(F).astype(np.float32)


def numpy_conv2d(x, kernel, bias):
    """'valid' convolution as one product over the sliding windows: (N, OH, OW, C, K, K) x kernel."""
    windows = sliding_window_view(x, (K, K), axis=(1, 2))
    return np.einsum("nhwcij,ijcf->nhwf", windows, kernel, optimize=True) + bias


# 1. Check before timing: a fast wrong answer is worth nothing.
expected = numpy_conv2d(x.astype(np.float64), kernel.astype(np.float64), bias.astype(np.float64))
got = ops.conv2d(x, kernel, bias)
error = np.max(np.abs(got - expected)) / np.max(np.abs(expected))
assert error < 1e-5, f"fastconv and NumPy disagree: relative error {error:.2g}"


# 2. Time: a warm-up call, then the median of several samples of several calls each.
def median_seconds(fn):
    fn()
    timer = timeit.Timer(fn)
    number, _ = timer.autorange()              # calls per sample: at least 0.2 s
    samples = timer.repeat(repeat=3 if args.quick else 7, number=number)
    return statistics.median(samples) / number


flops = 2 * N * (H - K + 1) * (W - K + 1) * K * K * C * F
dy = rng.standard_normal(got.shape).astype(np.float32)
timings = {
    "fastconv conv2d": median_seconds(lambda: ops.conv2d(x, kernel, bias)),
    "NumPy conv2d": median_seconds(lambda: numpy_conv2d(x, kernel, bias)),
    "fastconv conv2d_backward": median_seconds(lambda: ops.conv2d_backward(dy, x, kernel)),
}
print(f"x {x.shape}, kernel {kernel.shape}, float32, {fastconv.get_num_threads()} thread(s), "
      f"SIMD {fastconv.show_config()['simd']}; max relative error vs NumPy float64 {error:.1e}")
for name, seconds in timings.items():
    work = 2 * flops if "backward" in name else flops  # dx and dkernel: two products
    print(f"{name:>26}: {seconds * 1e3:8.3f} ms  {work / seconds / 1e9:7.1f} GFLOP/s")
print(f"fastconv forward is {timings['NumPy conv2d'] / timings['fastconv conv2d']:.1f}x NumPy's")
