"""What subnormal inputs cost: conv2d forward and backward on normal inputs, on inputs with 1%
of their values subnormal, and on all-subnormal inputs, timed interleaved in one process.

    python benchmarks/subnormal.py [--threads 1] [--repeat 15]

Prints the median time of each and its ratio to the normal-input call (the kernels flush
subnormals to zero, so the target is < 1.2x). Also prints PyTorch's ratios when it is installed,
with its default (IEEE) mode, for comparison.
"""
import argparse
import time

import numpy as np

import fastconv
from fastconv import ops

SHAPE, KERNEL = (32, 28, 28, 32), (3, 3, 32, 64)


def inputs(rng, dtype, tiny):
    normal = rng.standard_normal(SHAPE).astype(dtype)
    some = normal.copy()
    mask = rng.random(SHAPE) < 0.01
    some[mask] = tiny
    return {"normal": normal, "1% subnormal": some, "all subnormal": np.full(SHAPE, tiny, dtype)}


def median_times(calls, repeat):
    """Interleaved: one sample of each call per round; returns the median per call."""
    times = {name: [] for name in calls}
    for call in calls.values():
        call()
    for _ in range(repeat):
        for name, call in calls.items():
            start = time.perf_counter()
            call()
            times[name].append(time.perf_counter() - start)
    return {name: float(np.median(t)) for name, t in times.items()}


def fastconv_calls(xs, kernel, dy):
    calls = {}
    for name, x in xs.items():
        calls[f"forward {name}"] = lambda x=x: ops.conv2d(x, kernel, padding="same")
        calls[f"backward {name}"] = lambda x=x: ops.conv2d_backward(dy, x, kernel, padding="same")
    return calls


def torch_calls(xs, kernel, dy):
    import torch

    w = torch.from_numpy(np.ascontiguousarray(kernel.transpose(3, 2, 0, 1)))
    g = torch.from_numpy(np.ascontiguousarray(dy.transpose(0, 3, 1, 2)))
    calls = {}
    for name, x in xs.items():
        t = torch.from_numpy(np.ascontiguousarray(x.transpose(0, 3, 1, 2)))
        calls[f"forward {name}"] = lambda t=t: torch.nn.functional.conv2d(t, w, padding=1)

        def backward(t=t):
            ti = t.clone().requires_grad_()
            wi = w.clone().requires_grad_()
            torch.nn.functional.conv2d(ti, wi, padding=1).backward(g)

        calls[f"backward {name}"] = backward
    return calls


def report(label, times):
    for name, seconds in times.items():
        pass_name, kind = name.split(" ", 1)
        ratio = seconds / times[f"{pass_name} normal"]
        print(f"{label:9s} {name:26s} {seconds * 1e3:8.2f} ms  {ratio:6.2f}x normal")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args()
    fastconv.set_num_threads(args.threads)
    rng = np.random.default_rng(0)
    xs = inputs(rng, np.float32, np.float32(1e-40))
    kernel = (rng.standard_normal(KERNEL) * 0.1).astype(np.float32)
    dy = rng.standard_normal(SHAPE[:3] + (KERNEL[3],)).astype(np.float32)
    print(f"conv2d {SHAPE} * {KERNEL} same, float32, {args.threads} thread(s), "
          f"simd={fastconv.show_config()['simd']}")
    report("fastconv", median_times(fastconv_calls(xs, kernel, dy), args.repeat))
    try:
        import torch
    except ImportError:
        print("PyTorch not installed: no comparison")
        return
    torch.set_num_threads(args.threads)
    report("pytorch", median_times(torch_calls(xs, kernel, dy), max(3, args.repeat // 3)))


if __name__ == "__main__":
    main()
