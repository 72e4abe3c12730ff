"""What an `out=` buffer's alignment costs: ops.conv2d into np.empty's array against ops.empty's.

    python benchmarks/out_alignment.py --threads 1,2

NumPy starts a large array's data on 16 bytes (glibc's malloc header), fastconv.ops.empty on a
64-byte cache line. Into the former, half of a kernel's 32-byte stores straddle two lines, and
large calls cannot use streaming stores (stream_store.h). The two buffers are timed interleaved
(compare_builds.interleaved) on the same inputs, and must receive the same bits.
"""

import argparse
import sys

import numpy as np

from compare_builds import interleaved
from fastconv import ops, set_num_threads

# (x NHWC, kernel HWIO, padding): first layers, whose outputs are large for their arithmetic,
# and a mid layer.
SHAPES = [
    ((32, 28, 28, 1), (3, 3, 1, 32), "same"),
    ((128, 28, 28, 1), (3, 3, 1, 32), "same"),
    ((32, 100, 100, 3), (3, 3, 3, 32), "valid"),
    ((32, 28, 28, 64), (3, 3, 64, 64), "same"),
]


def compare(x_shape, k_shape, padding, threads):
    rng = np.random.default_rng(0)
    x = rng.standard_normal(x_shape).astype(np.float32)
    kernel = rng.standard_normal(k_shape).astype(np.float32)
    out_shape = ops.conv2d(x[:1], kernel, padding=padding).shape[1:]
    buffers = {"np.empty": np.empty((x_shape[0],) + out_shape, np.float32),
               "ops.empty": ops.empty((x_shape[0],) + out_shape, np.float32)}
    set_num_threads(threads)
    calls = {name: (lambda out=out: ops.conv2d(x, kernel, padding=padding, out=out))
             for name, out in buffers.items()}
    for call in calls.values():
        call()
    np.testing.assert_array_equal(buffers["np.empty"], buffers["ops.empty"])
    flops = 2.0 * buffers["ops.empty"].size * k_shape[0] * k_shape[1] * k_shape[2]
    reps = max(1, int(0.05 / (flops / 60e9)))
    times = interleaved(calls, rounds=9, reps=reps)
    label = f"{'x'.join(map(str, x_shape))}->{k_shape[3]} {padding}"
    offsets = " / ".join(str(buffers[name].ctypes.data % 64) for name in calls)
    print(f"| {label} | {threads} | {offsets} | {times['np.empty'] * 1e3:.3f} | "
          f"{times['ops.empty'] * 1e3:.3f} | {times['np.empty'] / times['ops.empty']:.2f}x |")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", default="1,2")
    args = parser.parse_args(argv)
    print("| conv2d forward | threads | data mod 64 (np / ops) | into np.empty ms | "
          "into ops.empty ms | ops.empty faster by |")
    print("|---|---:|---|---:|---:|---:|")
    for shape in SHAPES:
        for threads in map(int, args.threads.split(",")):
            compare(*shape, threads)
    return 0


if __name__ == "__main__":
    sys.exit(main())
