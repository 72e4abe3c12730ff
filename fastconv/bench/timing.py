"""Wall-clock timing for the benchmarks: medians of repeated, interleaved samples.

The machine may be shared and its clock drifts, so implementations compared in one row are
timed round-robin (a sample of each, then the next round) rather than one after another: a slow
patch of time then hits all of them instead of biasing one ratio. Each sample runs the call
enough times to last at least `min_time` seconds; a call's time is the sample's time divided by
its call count; the reported figure is the median over `repeat` samples.

Callers pass closures over preallocated inputs, so nothing is allocated in the timed region
beyond what the operation itself allocates (its outputs and, for NumPy, its temporaries).
"""

import math
import statistics
import time
from dataclasses import dataclass, field


@dataclass
class Timing:
    median: float  # seconds per call
    samples: list = field(default_factory=list)  # seconds per call, one entry per sample
    number: int = 1  # calls per sample

    @property
    def spread(self):
        """(max - min) / median over the samples: how noisy the measurement was."""
        if not self.samples or self.median <= 0:
            return 0.0
        return (max(self.samples) - min(self.samples)) / self.median

    def as_dict(self):
        return {"median_s": self.median, "samples_s": list(self.samples),
                "calls_per_sample": self.number, "spread": self.spread}


def _sample(fn, number):
    start = time.perf_counter()
    for _ in range(number):
        fn()
    return (time.perf_counter() - start) / number


def calls_per_sample(fn, min_time):
    """How many calls of `fn` make a sample of at least `min_time` s (fn is called once more)."""
    once = _sample(fn, 1)
    if once <= 0:
        return 1000
    return max(1, math.ceil(min_time / once))


def measure(fns, repeat=7, min_time=0.1, warmup=1):
    """Times each callable of the dict `fns`, interleaved; returns {name: Timing}.

    Args:
        fns: {name: zero-argument callable}.
        repeat: samples per callable; the median is over these.
        min_time: the shortest sample, in seconds.
        warmup: untimed calls of each callable first (page faults, caches, thread pools).
    """
    for fn in fns.values():
        for _ in range(warmup):
            fn()
    numbers = {name: calls_per_sample(fn, min_time) for name, fn in fns.items()}
    samples = {name: [] for name in fns}
    for _ in range(repeat):
        for name, fn in fns.items():
            samples[name].append(_sample(fn, numbers[name]))
    return {name: Timing(statistics.median(s), s, numbers[name]) for name, s in samples.items()}


def measure_one(fn, repeat=7, min_time=0.1, warmup=1):
    return measure({"fn": fn}, repeat, min_time, warmup)["fn"]


def fma_peak_gflops(nthreads, repeat=5, min_time=0.2):
    """The machine's float32 FMA peak at `nthreads` threads, from fastconv._conv.fma_probe.

    The probe returns the FLOPs it did; timing it gives GFLOP/s. Returns (median, Timing) where
    the Timing is per probe call.
    """
    from fastconv._ext import _conv

    iters = 1 << 16
    flops = _conv.fma_probe(iters, nthreads)
    # Grow the probe until one call lasts ~min_time / 4, so thread start-up is noise.
    while _sample(lambda: _conv.fma_probe(iters, nthreads), 1) < min_time / 4 and iters < 1 << 34:
        iters *= 2
    flops = _conv.fma_probe(iters, nthreads)
    timing = measure_one(lambda: _conv.fma_probe(iters, nthreads), repeat, min_time)
    rates = sorted(flops / t / 1e9 for t in timing.samples)
    return statistics.median(rates), timing


def copy_bandwidth_gbps(nbytes=64 << 20, repeat=5, min_time=0.2):
    """Single-threaded NumPy copy bandwidth (bytes read + written per second), a memory yardstick."""
    import numpy as np

    src = np.ones(nbytes // 4, dtype=np.float32)
    dst = np.empty_like(src)
    timing = measure_one(lambda: np.copyto(dst, src), repeat, min_time)
    return 2 * src.nbytes / timing.median / 1e9
