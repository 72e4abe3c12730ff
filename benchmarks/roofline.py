"""How fast any kernel could run the benchmark's forward passes on this machine, against PyTorch.

    python -m fastconv.bench --threads 1,2 --batch 32,128 --ops conv --passes forward --json conv.json
    python benchmarks/roofline.py conv.json

A forward pass reads its input and writes its output at least once and runs its multiply-adds, so
it takes at least its bytes (input + output) at the rate of a large NumPy copy (bytes read +
written per second: glibc's memcpy streams large copies, as our kernels do), and a direct
convolution at least its FLOPs at the FMA peak the benchmark measured (a fast algorithm such as
Winograd's does fewer: that bound is only for direct kernels). The copy is timed here, at each
thread count of the JSON, split over that many Python threads (NumPy releases the GIL while
copying); a pass with n threads is bounded by the best rate of any count up to n.

The ceilings are PyTorch's time over the memory bound, and over the longer of the two bounds:
the most any kernel, or any direct kernel, could beat PyTorch by on this machine. The memory
bound holds only for calls too large for the caches: a call whose input and output fit the
last-level cache (`cached`) may find its input there, as the benchmark's repeated calls do. Run
it on the machine that wrote the JSON, right after the benchmark.
"""

import argparse
import json
import os
import statistics
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from fastconv.bench.shapes import ConvShape

COPY_BYTES = 512 << 20  # far larger than any last-level cache we run on


def copy_rate(threads, rounds=7):
    """Bytes read + written per second by a COPY_BYTES copy split over `threads` threads."""
    n = COPY_BYTES // 2 // 4
    src, dst = np.ones(n, np.float32), np.zeros(n, np.float32)
    parts = [slice(i * n // threads, (i + 1) * n // threads) for i in range(threads)]
    times = []
    with ThreadPoolExecutor(threads) as pool:
        for _ in range(rounds):
            start = time.perf_counter()
            list(pool.map(lambda part: np.copyto(dst[part], src[part]), parts))
            times.append(time.perf_counter() - start)
    return 2 * src.nbytes / statistics.median(times)


def last_level_cache_bytes():
    """The largest cache of CPU 0 as Linux reports it, or None."""
    sizes = []
    base = "/sys/devices/system/cpu/cpu0/cache"
    for index in os.listdir(base) if os.path.isdir(base) else []:
        try:
            with open(os.path.join(base, index, "size")) as f:
                text = f.read().strip()
        except OSError:
            continue
        scale = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}.get(text[-1:], 1)
        sizes.append(int(text.rstrip("KMG")) * scale)
    return max(sizes) if sizes else None


def row_bytes(row):
    """float32 bytes of a forward pass's input and output (the kernel's bytes are negligible)."""
    shape, N = ConvShape(**row["dims"]), row["batch"]
    OH, OW = shape.output_hw()
    return 4 * N * (shape.H * shape.W * shape.C + OH * OW * shape.F)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("json", help="the JSON of `python -m fastconv.bench ... --json PATH`")
    args = parser.parse_args(argv)
    with open(args.json) as f:
        report = json.load(f)
    rows = [r for r in report["rows"] if r["pass"] == "forward" and r["status"] == "ok"
            and "torch" in r["impls"]]
    if not rows:
        raise SystemExit(f"{args.json} has no forward rows timed against PyTorch")
    counts = sorted({r["threads"] for r in rows})
    rates = {n: copy_rate(n) for n in range(1, max(counts) + 1)}
    best = {n: max(rates[m] for m in range(1, n + 1)) for n in counts}
    peaks = report["meta"]["peak_gflops"]
    cache = last_level_cache_bytes()
    meta = report["meta"]
    cache_text = f"last-level cache {cache / 2**20:.0f} MiB" if cache else "last-level cache unknown"
    print(f"# {meta['machine']['cpu']}, fastconv simd={meta['fastconv']['simd']}, {cache_text}")
    for n in counts:
        print(f"# {n} thread(s): copy {best[n] / 1e9:.1f} GB/s (read + written), "
              f"FMA peak {peaks[str(n)]['peak']:.1f} GFLOP/s")
    print()
    print("| shape | threads | in + out MiB | memory ms | direct FMA ms | fastconv ms | PyTorch ms | "
          "ceiling, memory | ceiling, direct |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        n, nbytes = r["threads"], row_bytes(r)
        memory = nbytes / best[n]
        compute = r["work"]["flops"] / (peaks[str(n)]["peak"] * 1e9)
        ours, theirs = r["impls"]["fastconv"]["median_s"], r["impls"]["torch"]["median_s"]
        cached = " (cached)" if cache is not None and nbytes <= cache else ""
        print(f"| {r['label']} | {n} | {nbytes / 2**20:.1f} | {memory * 1e3:.3f} | "
              f"{compute * 1e3:.3f} | {ours * 1e3:.3f} | {theirs * 1e3:.3f} | "
              f"{theirs / memory:.2f}x{cached} | {theirs / max(memory, compute):.2f}x{cached} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
