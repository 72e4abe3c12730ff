"""fastconv's benchmark runner: `python -m fastconv.bench` or `fastconv bench`.

Times conv2d and pooling, forward and backward, on the shape table of `shapes.py` against plain
NumPy baselines and (when installed) PyTorch, each checked against fastconv first, and reports
median times, GFLOP/s or GB/s, the share of the FMA peak measured in the same run, and speed-up
ratios. `main(argv)` is the command line; `runner.run(BenchConfig(...))` the Python API.
"""

import argparse
import sys

__all__ = ["main", "run"]


def _ints(text):
    try:
        values = tuple(int(v) for v in text.split(",") if v.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated ints, got {text!r}")
    if not values or min(values) < 1:
        raise argparse.ArgumentTypeError(f"expected ints >= 1, got {text!r}")
    return values


def _choices(allowed):
    def parse(text):
        values = tuple(v.strip() for v in text.split(",") if v.strip())
        bad = [v for v in values if v not in allowed]
        if bad or not values:
            raise argparse.ArgumentTypeError(f"choose from {','.join(allowed)}; got {text!r}")
        return values
    return parse


def build_parser(prog="fastconv bench"):
    p = argparse.ArgumentParser(
        prog=prog,
        description="Benchmark fastconv's conv2d and pooling against NumPy and PyTorch.")
    p.add_argument("--threads", type=_ints, default=None,
                   help="thread counts, e.g. 1,2 (default: 1 and all cores; --quick: 1)")
    p.add_argument("--batch", type=_ints, default=None,
                   help="batch sizes, e.g. 32,128 (default 32,128; --quick: 8)")
    p.add_argument("--ops", type=_choices(("conv", "pool")), default=("conv", "pool"),
                   help="conv,pool (default both)")
    p.add_argument("--passes", type=_choices(("forward", "backward")),
                   default=("forward", "backward"), help="forward,backward (default both)")
    p.add_argument("--shapes", default=None,
                   help="comma-separated shape names from the table (see --list)")
    p.add_argument("--baselines", type=_choices(("numpy", "torch")), default=("numpy", "torch"),
                   help="numpy,torch (default both; torch is skipped when not installed)")
    p.add_argument("--repeat", type=int, default=None, help="timed samples per measurement")
    p.add_argument("--min-time", type=float, default=None,
                   help="shortest sample in seconds (a sample repeats the call to reach it)")
    p.add_argument("--quick", action="store_true",
                   help="few shapes, small batch, few repeats: a smoke test")
    p.add_argument("--json", metavar="PATH", help="write the raw results as JSON")
    p.add_argument("--plot", metavar="PATH", help="draw conv GFLOP/s per shape (needs matplotlib)")
    p.add_argument("--list", action="store_true", help="print the shape table and exit")
    return p


def _list_shapes():
    from fastconv.bench import shapes

    print("conv2d (per image, NHWC, float32):")
    for s in shapes.CONV_SHAPES:
        print(f"  {s.name:14s} {s.H}x{s.W}x{s.C} -> {s.F}, {s.KH}x{s.KW} {s.padding}"
              f" stride {s.strides}" + (f" groups {s.groups}" if s.groups > 1 else ""))
    print("pooling (max and avg, valid, stride = pool):")
    for s in shapes.POOL_SHAPES:
        print(f"  {s.name:14s} {s.H}x{s.W}x{s.C}, {s.pool}x{s.pool}")
    print(f"default batches: {','.join(map(str, shapes.BATCHES))}")


def config_from_args(args):
    import fastconv
    from fastconv.bench import runner, shapes

    config = runner.quick_config() if args.quick else runner.BenchConfig()
    if args.threads is not None:
        config.threads = args.threads
    elif not args.quick:
        config.threads = tuple(dict.fromkeys((1, fastconv.get_num_threads())))
    if args.batch is not None:
        config.batches = args.batch
    if args.shapes:
        names = [n.strip() for n in args.shapes.split(",") if n.strip()]
        conv_names = [n for n in names if n in {s.name for s in shapes.CONV_SHAPES}]
        pool_names = [n for n in names if n in {s.name for s in shapes.POOL_SHAPES}]
        unknown = set(names) - set(conv_names) - set(pool_names)
        if unknown:
            raise ValueError(f"unknown shape name(s) {sorted(unknown)}; see --list")
        config.conv_shapes = shapes.select(shapes.CONV_SHAPES, conv_names)
        config.pool_shapes = shapes.select(shapes.POOL_SHAPES, pool_names)
    config.ops = args.ops
    config.passes = args.passes
    config.baselines = args.baselines
    if args.repeat is not None:
        config.repeat = max(1, args.repeat)
    if args.min_time is not None:
        config.min_time = max(0.0, args.min_time)
    return config


def main(argv=None, prog="fastconv bench"):
    """The `fastconv bench` command line; returns the exit status (1 if a check failed)."""
    parser = build_parser(prog)
    args = parser.parse_args(argv)
    if args.list:
        _list_shapes()
        return 0
    from fastconv.bench import report, runner

    if args.plot:  # fail before a long run, not after it
        try:
            report.require_matplotlib()
        except ImportError as exc:
            print(f"fastconv bench: {exc}", file=sys.stderr)
            return 2
    try:
        config = config_from_args(args)
    except ValueError as exc:
        parser.error(str(exc))
    results = runner.run(config, log=lambda line: print(line, file=sys.stderr, flush=True))
    print(report.format_report(results))
    if args.json:
        report.write_json(results, args.json)
        print(f"\nraw results: {args.json}")
    if args.plot:
        report.plot(results, args.plot)
        print(f"plot: {args.plot}")
    return 1 if results["errors"] else 0


def run(argv=None):
    """Alias of main(), for launchers that expect run(argv)."""
    return main(argv)
