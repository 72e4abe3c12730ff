"""Before/after of a kernel change: an older build of fastconv's extensions against the current one.

    git worktree add /tmp/old HEAD~1 && (cd /tmp/old && python setup.py build_ext --inplace)
    python benchmarks/compare_builds.py /tmp/old/fastconv --pass forward --threads 1,2
    python benchmarks/compare_builds.py /tmp/old/fastconv --pass weight --batch 100 --shapes 2,3
    python benchmarks/compare_builds.py /tmp/old/fastconv --pass pool,pool-backward

Both builds are loaded into one process and timed interleaved (a sample of each in turn, seven
rounds), on the same arrays, through the private `_conv` / `_pool` entry points (no Python
validation), so machine noise falls on both alike. Prints the median time of each (GFLOP/s for
the conv passes) and the ratio. Conv passes: forward, input (dx), weight (dW and dbias); pooling
passes: pool (2 x 2 max pooling), pool-backward (its gradient with the fused ReLU).
"""

import argparse
import glob
import importlib.util
import os
import sys
import time

import numpy as np

from fastconv._ext import _conv, _pool
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
# NHWC inputs of the two CNNs' 2 x 2 max pooling layers.
POOL_SHAPES = [(32, 28, 28, 32), (32, 14, 14, 64), (100, 28, 28, 64), (100, 12, 12, 256)]


def load_build(folder, name):
    """Extension `name` ("_conv" or "_pool") of the build in `folder` as a module (its init symbol
    is PyInit_<name>: keep the name)."""
    paths = glob.glob(os.path.join(folder, f"{name}.*.so")) + glob.glob(os.path.join(folder, f"{name}.*.pyd"))
    if len(paths) != 1:
        raise SystemExit(f"expected one {name} extension in {folder}, found {paths}")
    spec = importlib.util.spec_from_file_location(f"fastconv_old.{name}", paths[0])
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def interleaved(calls, rounds=7, reps=1):
    """Median seconds per call of each of `calls` (name -> function), timed in turn. Each sample
    follows one untimed call of its own: the call before it may have left other arrays in the
    caches, or dirty lines whose write-back the next call pays (two settings alternating, one
    streaming its output and one not, measured 0.85x without that call and 1.17x with it). The order
    changes from round to round too: the first sample of a round can be the slow one (AMD Zen 3:
    one build timed twice in a round differed by up to 1.6x on sub-millisecond calls), and with
    three calls or more it is shuffled, since a rotation always puts the same call after the
    same other (Zen 3, 2026-12-03: a build timed against a copy of itself, one always after a
    PyTorch call, measured 1.0-1.35x)."""
    samples = {name: [] for name in calls}
    names = list(calls)
    order = np.random.default_rng(0)
    for r in range(rounds):
        rotated = names[r % len(names):] + names[:r % len(names)]
        for name in rotated if len(names) < 3 else order.permutation(names):
            call = calls[name]
            call()  # untimed: see above (and the first round's warm-up: workspaces, threads)
            start = time.perf_counter()
            for _ in range(reps):
                call()
            samples[name].append((time.perf_counter() - start) / reps)
    return {name: np.median(times) for name, times in samples.items()}


def compare_pool(old, x_shape, pass_, threads):
    rng = np.random.default_rng(0)
    x = np.maximum(rng.standard_normal(x_shape), 0).astype(np.float32)  # a ReLU's output
    N, H, W, C = x_shape
    geometry = (H // 2, W // 2, 2, 2, 2, 2, 0, 0)
    dy = rng.standard_normal((N, H // 2, W // 2, C)).astype(np.float32)
    out, dx = np.empty_like(dy), np.empty_like(x)

    def run(module):
        if pass_ == "pool":
            module.max_pool2d_forward(x, geometry, threads, out=out)
        else:
            module.max_pool2d_backward(dy, x, geometry, threads, out=dx, relu=True)

    times = interleaved({"old": lambda: run(old), "new": lambda: run(_pool)}, reps=20)
    print(f"| {pass_} | {'x'.join(map(str, x_shape))} 2x2 | {threads} | {times['old'] * 1e3:.3f} | | "
          f"{times['new'] * 1e3:.3f} | | {times['old'] / times['new']:.2f}x |")


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
    times = interleaved({"old": lambda: call(old), "new": lambda: call(_conv)}, rounds, reps)
    before, after = times["old"], times["new"]
    label = f"{'x'.join(map(str, x_shape))}->{k_shape[3]} {padding}"
    print(f"| {pass_} | {label} | {threads} | {before * 1e3:.3f} | {flops / before / 1e9:.0f} | "
          f"{after * 1e3:.3f} | {flops / after / 1e9:.0f} | {before / after:.2f}x |")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("old", help="the older build's fastconv/ folder (its _conv and _pool)")
    parser.add_argument("--pass", dest="passes", default="forward,input,weight",
                        help="forward, input, weight, pool, pool-backward; comma list")
    parser.add_argument("--threads", default="1,2")
    parser.add_argument("--batch", type=int, help="images per call for every shape (default: the table's)")
    parser.add_argument("--shapes", help="indices into the shape table, e.g. 2,5 (default: all)")
    args = parser.parse_args(argv)
    old_conv, old_pool = load_build(args.old, "_conv"), load_build(args.old, "_pool")
    print("| pass | shape | threads | old ms | old GFLOP/s | new ms | new GFLOP/s | speed-up |")
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    threads = list(map(int, args.threads.split(",")))
    for pass_ in args.passes.split(","):
        if pass_.startswith("pool"):
            for shape in POOL_SHAPES:
                for count in threads:
                    compare_pool(old_pool, shape, pass_, count)
            continue
        picked = [SHAPES[int(i)] for i in args.shapes.split(",")] if args.shapes else SHAPES
        for shape in picked:
            for count in threads:
                compare(old_conv, shape, pass_, count, args.batch)
    return 0


if __name__ == "__main__":
    sys.exit(main())
