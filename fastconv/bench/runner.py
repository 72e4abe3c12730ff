"""Runs the benchmark table: fastconv against the NumPy and PyTorch baselines, checked first.

`run(BenchConfig(...))` returns a JSON-ready dict: `meta` (machine, build, peaks, versions),
`rows` (one per op, pass, shape, batch and thread count) and `errors`. Every row's results are
compared before anything is timed; a row whose results disagree is reported as a mismatch with
no timings, and `errors` lists it.
"""

import contextlib
import datetime
import io
import os
import platform
from dataclasses import dataclass, field

import numpy as np

from fastconv.bench import _malloc, baselines, shapes, timing
from fastconv.bench._blas import BlasThreads

IMPLS = ("fastconv", "numpy", "torch")


def torch_impl(layout):
    """The name PyTorch in one memory layout is timed and checked under: torch_nchw, ..."""
    return f"torch_{layout}"


# What a row times: PyTorch once per layout; the report then keeps its better layout as "torch".
TIMED_IMPLS = ("fastconv", "numpy") + tuple(torch_impl(layout)
                                            for layout in baselines.TORCH_LAYOUTS)
POOL_KINDS = ("max", "avg")

# Float32 results of different summation orders agree to a few ulps of the largest value; a
# wrong index or a missed tap is off by O(1) relative to it.
RTOL = 1e-4
ATOL_OF_MAX = 1e-4


def allclose32(actual, expected):
    """(ok, max_abs_err, atol): np.allclose with float32 tolerances scaled to `expected`."""
    actual = np.asarray(actual)
    expected = np.asarray(expected)
    if actual.shape != expected.shape:
        return False, float("inf"), 0.0
    if expected.size == 0:
        return True, 0.0, 0.0
    atol = ATOL_OF_MAX * float(np.max(np.abs(expected)))
    err = float(np.max(np.abs(actual.astype(np.float64) - expected)))
    return bool(np.allclose(actual, expected, rtol=RTOL, atol=atol)), err, atol


def _check_all(actual, expected):
    """allclose32 over matching tuples of arrays (dx, dkernel, dbias); all must agree.

    `worst` is the largest max_abs_err / atol over the outputs (above 1 fails).
    """
    if not isinstance(actual, tuple):
        actual, expected = (actual,), (expected,)
    if len(actual) != len(expected):
        return {"ok": False, "max_abs_err": [], "atol": [], "rtol": RTOL, "worst": float("inf")}
    results = [allclose32(a, e) for a, e in zip(actual, expected)]
    worst = max((err / atol if atol > 0 else (0.0 if err == 0 else float("inf")))
                for _, err, atol in results)
    return {"ok": all(r[0] for r in results), "max_abs_err": [r[1] for r in results],
            "atol": [r[2] for r in results], "rtol": RTOL, "worst": worst}


@dataclass
class BenchConfig:
    ops: tuple = ("conv", "pool")
    passes: tuple = ("forward", "backward")
    threads: tuple = (1, 2)
    batches: tuple = shapes.BATCHES
    conv_shapes: list = field(default_factory=lambda: list(shapes.CONV_SHAPES))
    pool_shapes: list = field(default_factory=lambda: list(shapes.POOL_SHAPES))
    baselines: tuple = ("numpy", "torch")
    repeat: int = 7
    min_time: float = 0.1
    warmup: int = 1
    seed: int = 0
    probe_time: float = 0.2  # min_time of the FMA-peak and copy-bandwidth probes


def quick_config(**overrides):
    """A few shapes and repeats: a smoke test of the whole pipeline in seconds."""
    config = BenchConfig(
        threads=(1,), batches=(8,),
        conv_shapes=shapes.select(shapes.CONV_SHAPES, shapes.QUICK_CONV),
        pool_shapes=shapes.select(shapes.POOL_SHAPES, shapes.QUICK_POOL),
        repeat=3, min_time=0.01, warmup=1, probe_time=0.05,
    )
    for key, value in overrides.items():
        setattr(config, key, value)
    return config


# ---------------------------------------------------------------------------------------------
# One row per (op, pass, shape, batch): its inputs, callables and reference results


class ConvCase:
    op = "conv2d"

    def __init__(self, shape, batch, rng, torch):
        from fastconv import ops

        self.shape, self.batch = shape, batch
        s = shape
        self.x = rng.standard_normal((batch, s.H, s.W, s.C), dtype=np.float32)
        Cg = s.C // s.groups
        scale = np.float32(np.sqrt(2.0 / (s.KH * s.KW * Cg)))
        self.kernel = rng.standard_normal((s.KH, s.KW, Cg, s.F), dtype=np.float32) * scale
        self.bias = rng.standard_normal(s.F, dtype=np.float32)
        OH, OW = s.output_hw()
        self.dy = rng.standard_normal((batch, OH, OW, s.F), dtype=np.float32)
        kw = dict(strides=s.strides, padding=s.padding)
        self.fastconv = {
            "forward": lambda: ops.conv2d(self.x, self.kernel, self.bias, groups=s.groups, **kw),
            "backward": lambda: ops.conv2d_backward(self.dy, self.x, self.kernel,
                                                    groups=s.groups, **kw),
        }
        self.numpy = {
            "forward": lambda: baselines.numpy_conv2d(self.x, self.kernel, self.bias,
                                                      groups=s.groups, **kw),
            "backward": lambda: baselines.numpy_conv2d_backward(self.dy, self.x, self.kernel,
                                                                groups=s.groups, **kw),
        }
        self.torch, self.torch_skip = {}, "PyTorch not installed"
        if torch is not None:
            try:
                for layout in baselines.TORCH_LAYOUTS:
                    t = baselines.TorchConv(torch, self.x, self.kernel, self.bias, self.dy,
                                            s.strides, s.padding, s.groups, layout)
                    self.torch[layout] = {"forward": t.forward, "backward": t.backward}
            except ValueError as exc:
                self.torch, self.torch_skip = {}, str(exc)
            else:
                self.torch_skip = None

    def torch_result(self, pass_, layout):
        result = self.torch[layout][pass_]()
        if pass_ == "forward":
            return baselines.TorchConv.forward_to_nhwc(result)
        return baselines.TorchConv.backward_to_nhwc(result)

    def work(self, pass_):
        flops = self.shape.flops(self.batch) * (1 if pass_ == "forward" else 2)
        return {"flops": flops}


class PoolCase:
    def __init__(self, kind, shape, batch, rng, torch):
        from fastconv import ops

        self.kind, self.shape, self.batch = kind, shape, batch
        self.op = f"{kind}_pool2d"
        s = shape
        self.x = rng.standard_normal((batch, s.H, s.W, s.C), dtype=np.float32)
        OH, OW = s.output_hw()
        self.dy = rng.standard_normal((batch, OH, OW, s.C), dtype=np.float32)
        fwd = getattr(ops, f"{kind}_pool2d")
        bwd = getattr(ops, f"{kind}_pool2d_backward")
        np_fwd = getattr(baselines, f"numpy_{kind}_pool2d")
        np_bwd = getattr(baselines, f"numpy_{kind}_pool2d_backward")
        self.fastconv = {
            "forward": lambda: fwd(self.x, s.pool),
            "backward": lambda: bwd(self.dy, self.x, s.pool),
        }
        self.numpy = {
            "forward": lambda: np_fwd(self.x, s.pool),
            "backward": lambda: np_bwd(self.dy, self.x, s.pool),
        }
        self.torch, self.torch_skip = {}, "PyTorch not installed"
        if torch is not None:
            for layout in baselines.TORCH_LAYOUTS:
                t = baselines.TorchPool(torch, kind, self.x, self.dy, s.pool, s.pool, layout)
                self.torch[layout] = {"forward": t.forward, "backward": t.backward}
            self.torch_skip = None

    def torch_result(self, pass_, layout):
        return baselines.TorchPool.to_nhwc(self.torch[layout][pass_]())

    def work(self, pass_):
        return {"bytes": self.shape.bytes_moved(self.batch, self.kind, pass_)}


# ---------------------------------------------------------------------------------------------


def machine_info():
    model = None
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return {"cpu": model or platform.processor() or platform.machine(),
            "logical_cpus": os.cpu_count(), "platform": platform.platform(),
            "python": platform.python_version()}


def _loadavg():
    """1-minute load average (other processes competing for the cores), None where unknown."""
    try:
        return os.getloadavg()[0]
    except (AttributeError, OSError):
        return None


def _fastconv_config():
    import fastconv

    with contextlib.redirect_stdout(io.StringIO()):  # show_config prints; keep the dict
        return fastconv.show_config()


class Threads:
    """Sets fastconv's, NumPy's BLAS and PyTorch's thread counts together."""

    def __init__(self, torch):
        import fastconv

        self.fastconv = fastconv
        self.torch = torch
        self.blas = BlasThreads()
        self._saved = (fastconv.get_num_threads(), self.blas.get(),
                       torch.get_num_threads() if torch is not None else None)

    def set(self, n):
        self.fastconv.set_num_threads(n)
        blas_ok = self.blas.set(n)
        if self.torch is not None:
            self.torch.set_num_threads(n)
        return blas_ok

    def restore(self):
        fc, blas, tt = self._saved
        self.fastconv.set_num_threads(fc)
        if blas is not None:
            self.blas.set(blas)
        if tt is not None:
            self.torch.set_num_threads(tt)


def _cases(config, torch):
    """The cases in report order, built lazily so only one case's arrays live at a time."""
    for batch in config.batches:
        if "conv" in config.ops:
            rng = np.random.default_rng(config.seed)
            for shape in config.conv_shapes:
                yield ConvCase(shape, batch, rng, torch)
        if "pool" in config.ops:
            rng = np.random.default_rng(config.seed + 1)
            for kind in POOL_KINDS:
                for shape in config.pool_shapes:
                    yield PoolCase(kind, shape, batch, rng, torch)


def run(config=None, log=print):
    """Runs the benchmarks of `config` (a BenchConfig); returns the results dict."""
    config = config or BenchConfig()
    torch = baselines.load_torch() if "torch" in config.baselines else None
    threads = Threads(torch)
    meta = {
        "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
        "machine": machine_info(),
        "fastconv": _fastconv_config(),
        "numpy": np.__version__,
        "blas": threads.blas.info(),
        "torch": None if torch is None else torch.__version__,
        "env": {k: os.environ.get(k, "") for k in
                ("OMP_NUM_THREADS", "OPENBLAS_CORETYPE", "OPENBLAS_NUM_THREADS",
                 "FASTCONV_ISA")},
        "config": {"ops": list(config.ops), "passes": list(config.passes),
                   "threads": list(config.threads), "batches": list(config.batches),
                   "conv_shapes": [s.name for s in config.conv_shapes],
                   "pool_shapes": [s.name for s in config.pool_shapes],
                   "baselines": list(config.baselines), "repeat": config.repeat,
                   "min_time": config.min_time, "warmup": config.warmup, "seed": config.seed,
                   "probe_time": config.probe_time},
        "peak_gflops": {},
        "blas_threads_set": {},
        "copy_gbps_1thread": None,
        "loadavg": {"start": _loadavg()},
    }
    rows, errors = [], []
    with _malloc.caching_allocator() as allocator:
        meta["allocator"] = allocator or "the system's malloc (not glibc: left as it is)"
        try:
            for n in config.threads:
                meta["blas_threads_set"][str(n)] = threads.set(n)
                peak, _ = timing.fma_peak_gflops(n, min_time=config.probe_time)
                meta["peak_gflops"][str(n)] = {"start": peak}
                log(f"# FMA peak at {n} thread(s): {peak:.1f} GFLOP/s")
            if "pool" in config.ops:
                meta["copy_gbps_1thread"] = timing.copy_bandwidth_gbps(min_time=config.probe_time)
            for case in _cases(config, torch):
                for pass_ in config.passes:
                    rows.extend(_run_case(case, pass_, config, threads, errors, log))
            for n in config.threads:  # the clock drifts: a second probe shows by how much
                threads.set(n)
                peaks = meta["peak_gflops"][str(n)]
                peaks["end"], _ = timing.fma_peak_gflops(n, min_time=config.probe_time)
                peaks["peak"] = max(peaks["start"], peaks["end"])
            meta["loadavg"]["end"] = _loadavg()
        finally:
            threads.restore()
    for row in rows:
        fc = row["impls"].get("fastconv")
        if fc and "gflops" in fc:
            fc["pct_peak"] = 100.0 * fc["gflops"] / meta["peak_gflops"][str(row["threads"])]["peak"]
    return {"meta": meta, "rows": rows, "errors": errors}


def _run_case(case, pass_, config, threads, errors, log):
    """Checks then times one (case, pass) at every thread count; returns its rows."""
    base = {"op": case.op, "pass": pass_, "shape": case.shape.name,
            "label": case.shape.label(case.batch), "batch": case.batch,
            "dims": case.shape.as_dict(), "work": case.work(pass_)}
    # References once per case; fastconv is checked at every thread count.
    references, skipped = {}, {}
    fns = {"fastconv": case.fastconv[pass_]}
    if "numpy" in config.baselines:
        references["numpy"] = case.numpy[pass_]()
        fns["numpy"] = case.numpy[pass_]
    if "torch" in config.baselines:
        if case.torch_skip:
            skipped["torch"] = case.torch_skip
        else:
            threads.set(config.threads[0])
            for layout, calls in case.torch.items():
                references[torch_impl(layout)] = case.torch_result(pass_, layout)
                fns[torch_impl(layout)] = calls[pass_]
    rows = []
    for n in config.threads:
        row = dict(base, threads=n, impls={}, checks={}, speedup={}, skipped=dict(skipped))
        threads.set(n)
        result = fns["fastconv"]()
        if pass_ == "backward":
            result = tuple(result)
        for name, ref in references.items():
            row["checks"][name] = _check_all(result, ref)
        bad = [name for name, c in row["checks"].items() if not c["ok"]]
        if bad:
            row["status"] = "mismatch"
            msg = (f"{case.op} {pass_} {row['label']} threads={n}: fastconv disagrees with "
                   + ", ".join(f"{b} (error {row['checks'][b]['worst']:.3g}x the tolerance)"
                               for b in bad)
                   + "; not timed")
            errors.append(msg)
            log("MISMATCH " + msg)
            rows.append(row)
            continue
        del result
        timings = timing.measure(fns, repeat=config.repeat, min_time=config.min_time,
                                 warmup=config.warmup)
        layouts = {layout: timings.pop(torch_impl(layout)) for layout in case.torch
                   if torch_impl(layout) in timings}
        if layouts:
            best = min(layouts, key=lambda layout: layouts[layout].median)
            timings["torch"] = layouts[best]
        for name, t in timings.items():
            entry = t.as_dict()
            if "flops" in row["work"]:
                entry["gflops"] = row["work"]["flops"] / t.median / 1e9
            else:
                entry["gbps"] = row["work"]["bytes"] / t.median / 1e9
            row["impls"][name] = entry
        if layouts:
            row["impls"]["torch"]["layout"] = best
            row["impls"]["torch"]["layouts_median_s"] = {
                layout: t.median for layout, t in layouts.items()}
        fc = timings["fastconv"].median
        for name in ("numpy", "torch"):
            if name in timings:
                row["speedup"][f"vs_{name}"] = timings[name].median / fc
        for layout, t in layouts.items():
            row["speedup"][f"vs_{torch_impl(layout)}"] = t.median / fc
        row["status"] = "ok"
        rows.append(row)
        log(_progress_line(row))
    return rows


def _progress_line(row):
    impls = row["impls"]
    parts = [f"{row['op']} {row['pass']:8s} {row['label']:32s} t={row['threads']}"]
    for name in IMPLS:
        if name in impls:
            layout = impls[name].get("layout")
            parts.append(f"{name} {impls[name]['median_s'] * 1e3:8.3f} ms"
                         + (f" ({layout})" if layout else ""))
    for name in ("numpy", "torch"):
        if f"vs_{name}" in row["speedup"]:
            parts.append(f"vs_{name} {row['speedup'][f'vs_{name}']:.2f}x")
    return "  ".join(parts)
