"""Before/after of a kernel change: an older build of fastconv._conv against the current one.

    git worktree add /tmp/old HEAD~1 && (cd /tmp/old && python setup.py build_ext --inplace)
    python benchmarks/compare_builds.py /tmp/old/fastconv/_conv*.so --pass forward --threads 1,2
    python benchmarks/compare_builds.py /tmp/old/fastconv/_conv*.so --pass weight --batch 100 --shapes 2,3

Both builds are loaded into one process and timed interleaved (a sample of each in turn, seven
rounds), on the same arrays, through the private `_conv` entry points (no Python validation), so
machine noise falls on both alike. Prints the median time and GFLOP/s of each and the ratio.
"""

import argparse
import importlib.util
import sys
import time

import numpy as np

from fastconv._ext import _conv
from fastconv.ops.conv2d import _geometry

# (x NHWC, kernel HWIO, padding): the tutorial and large CNNs' conv layers.
SHAPES = [
    ((32, 14, 14, 32), (3, 3, 32, 64), "same"),
    ((32, 26, 26, 32), (3, 3, 32, 64), "valid"),
    ((32, 14, 14, 128), (3, 3, 128, 256), "valid"),
    ((32, 28, 28, 64), (3, 3, 64, 64), "same"),
    ((32, 28, 28, 1), (3, 3, 1, 32), "same"),
    ((100, 14, 14, 64), (3, 3, 64, 128), "same"),
]


def load_build(path):
    """The extension at `path` as a module (its init symbol is PyInit__conv: keep the name)."""
    spec = importlib.util.spec_from_file_location("fastconv_old._conv", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def compare(old, shape, pass_, threads, batch=None, rounds=7, seconds=0.05):
    x_shape, k_shape, padding = shape
    if batch:
        x_shape = (batch,) + x_shape[1:]
    rng = np.random.default_rng(0)
    x = rng.standard_normal(x_shape).astype(np.float32)
    kernel = rng.standard_normal(k_shape).astype(np.float32)
    bias = rng.standard_normal(k_shape[3]).astype(np.float32)
    geometry, out_shape = _geometry(x_shape, k_shape, 1, padding, 1, 1)
    dy = rng.standard_normal(out_shape).astype(np.float32)
    out, dx = np.empty(out_shape, np.float32), np.empty_like(x)
    dkernel, dbias = np.empty_like(kernel), np.empty_like(bias)
    calls = {
        "forward": lambda m: m.forward(x, kernel, bias, out, geometry, threads),
        "input": lambda m: m.backward_input(dy, kernel, dx, geometry, threads),
        "weight": lambda m: m.backward_weight(dy, x, dkernel, dbias, geometry, threads),
    }
    call = calls[pass_]
    flops = 2.0 * np.prod(out_shape) * k_shape[0] * k_shape[1] * k_shape[2]
    reps = max(1, int(seconds / (flops / 60e9)))
    samples = {"old": [], "new": []}
    for module in (old, _conv):
        call(module)  # warm-up: workspaces, thread team
    for _ in range(rounds):
        for name, module in (("old", old), ("new", _conv)):
            start = time.perf_counter()
            for _ in range(reps):
                call(module)
            samples[name].append((time.perf_counter() - start) / reps)
    before, after = np.median(samples["old"]), np.median(samples["new"])
    label = f"{'x'.join(map(str, x_shape))}->{k_shape[3]} {padding}"
    print(f"| {pass_} | {label} | {threads} | {before * 1e3:.3f} | {flops / before / 1e9:.0f} | "
          f"{after * 1e3:.3f} | {flops / after / 1e9:.0f} | {before / after:.2f}x |")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("old", help="path of the older build's _conv extension module")
    parser.add_argument("--pass", dest="passes", default="forward,input,weight",
                        help="forward, input (dx), weight (dW and dbias); comma list")
    parser.add_argument("--threads", default="1,2")
    parser.add_argument("--batch", type=int, help="images per call for every shape (default: the table's)")
    parser.add_argument("--shapes", help="indices into the shape table, e.g. 2,5 (default: all)")
    args = parser.parse_args(argv)
    old = load_build(args.old)
    print("| pass | shape | threads | old ms | old GFLOP/s | new ms | new GFLOP/s | speed-up |")
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    for pass_ in args.passes.split(","):
        picked = [SHAPES[int(i)] for i in args.shapes.split(",")] if args.shapes else SHAPES
        for shape in picked:
            for threads in map(int, args.threads.split(",")):
                compare(old, shape, pass_, threads, args.batch)
    return 0


if __name__ == "__main__":
    sys.exit(main())
