"""Formatting benchmark results: markdown tables per op and pass, JSON, an optional plot."""

import json

_NAMES = {"numpy": "NumPy", "torch": "PyTorch"}


def _ms(impl):
    return "" if impl is None else f"{impl['median_s'] * 1e3:.3f}"


def _x(value):
    return "" if value is None else f"{value:.2f}x"


def header(results):
    """Lines describing the run: when, where, what was built, the peaks."""
    meta = results["meta"]
    fc = meta["fastconv"]
    blas = meta["blas"]
    lines = [
        f"date: {meta['date']}",
        f"cpu: {meta['machine']['cpu']} ({meta['machine']['logical_cpus']} logical CPUs)",
        "fastconv: " + ", ".join(f"{k}={v}" for k, v in fc.items()),
        f"numpy {meta['numpy']}, BLAS core {blas['core']} (thread control: {blas['control']}, "
        f"OPENBLAS_CORETYPE={blas['OPENBLAS_CORETYPE'] or 'unset'})",
        f"torch: {meta['torch'] or 'not installed (comparison skipped)'}",
        f"allocator: {meta.get('allocator', 'not recorded')}",
    ]
    for n, peak in meta["peak_gflops"].items():
        line = f"FMA peak, {n} thread(s): {peak.get('peak', peak['start']):.1f} GFLOP/s"
        if "end" in peak:
            line += f" (start {peak['start']:.1f}, end {peak['end']:.1f})"
        lines.append(line)
    load = meta.get("loadavg", {})
    if load.get("start") is not None:
        lines.append(f"load average (1 min): {load['start']:.2f} at start"
                     + (f", {load['end']:.2f} at end" if load.get("end") is not None else "")
                     + f" on {meta['machine']['logical_cpus']} logical CPUs")
    if meta.get("copy_gbps_1thread"):
        lines.append(f"NumPy copy bandwidth, 1 thread: {meta['copy_gbps_1thread']:.1f} GB/s "
                     "(read + write)")
    return lines


def tables(results):
    """Markdown tables, one per (op, pass), in the order the rows were run."""
    groups = {}
    for row in results["rows"]:
        groups.setdefault((row["op"], row["pass"]), []).append(row)
    out = []
    for (op, pass_), rows in groups.items():
        conv = "flops" in rows[0]["work"]
        rate = "GFLOP/s" if conv else "GB/s"
        cols = ["shape", "threads", "fastconv ms", rate] + (["% peak"] if conv else [])
        cols += ["NumPy ms", "PyTorch ms", "PyTorch layout", "vs NumPy", "vs PyTorch"]
        out.append(f"### {op} {pass_}")
        out.append("")
        out.append("| " + " | ".join(cols) + " |")
        out.append("|" + "|".join("---" if i < 1 else "---:" for i in range(len(cols))) + "|")
        for row in rows:
            impls = row["impls"]
            fc = impls.get("fastconv")
            if row["status"] != "ok":
                cells = [row["label"], str(row["threads"]), "MISMATCH (not timed)"]
                cells += [""] * (len(cols) - len(cells))
            else:
                value = fc["gflops"] if conv else fc["gbps"]
                cells = [row["label"], str(row["threads"]), _ms(fc), f"{value:.1f}"]
                if conv:
                    pct = fc.get("pct_peak")
                    cells.append("" if pct is None else f"{pct:.0f}%")
                cells += [_ms(impls.get("numpy")),
                          _ms(impls.get("torch")) or ("n/a" if "torch" in row["skipped"] else ""),
                          impls.get("torch", {}).get("layout", ""),
                          _x(row["speedup"].get("vs_numpy")), _x(row["speedup"].get("vs_torch"))]
            out.append("| " + " | ".join(cells) + " |")
        out.append("")
    return out


def format_report(results):
    lines = header(results) + [
        "", "Times are medians; 'vs X' is X's time / fastconv's time (above 1: fastconv is "
        "faster), timed interleaved in this run. PyTorch runs in both memory layouts (NCHW and "
        "channels_last) and its better one is reported. GFLOP/s and % peak count a direct "
        "convolution's operations: Winograd's kernels (3x3, stride 1) do 2.25x fewer, so they "
        "can pass 100%.", ""]
    lines += tables(results)
    if results["errors"]:
        lines.append("ERRORS (rows not timed):")
        lines += ["  " + e for e in results["errors"]]
    return "\n".join(lines)


def write_json(results, path):
    with open(path, "w") as f:
        json.dump(results, f, indent=1)


def require_matplotlib():
    """Imports matplotlib (Agg backend) or raises ImportError with what to install."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise ImportError(
            "--plot needs matplotlib, which is not installed. Install it with "
            "`pip install matplotlib` (or `pip install fastconv[plot]`), or run without --plot "
            "(--json keeps the raw results for plotting later)."
        ) from exc
    return plt


def plot(results, path):
    """Conv GFLOP/s per shape for each implementation, one panel per (pass, threads), against
    the FMA peak measured in the same run."""
    plt = require_matplotlib()
    rows = [r for r in results["rows"] if r["op"] == "conv2d" and r["status"] == "ok"]
    if not rows:
        raise ValueError("no conv2d rows to plot")
    passes = list(dict.fromkeys(r["pass"] for r in rows))
    threads = list(dict.fromkeys(r["threads"] for r in rows))
    fig, axes = plt.subplots(len(passes), len(threads), squeeze=False,
                             figsize=(6 * len(threads), 4.5 * len(passes)))
    for i, pass_ in enumerate(passes):
        for j, n in enumerate(threads):
            ax = axes[i][j]
            sel = [r for r in rows if r["pass"] == pass_ and r["threads"] == n]
            labels = [r["label"] for r in sel]
            xs = range(len(sel))
            for k, name in enumerate(("fastconv", "numpy", "torch")):
                ys = [r["impls"].get(name, {}).get("gflops", 0.0) for r in sel]
                if any(ys):
                    ax.bar([x + (k - 1) * 0.27 for x in xs], ys, width=0.27,
                           label=_NAMES.get(name, name))
            peak = results["meta"]["peak_gflops"][str(n)]
            ax.axhline(peak.get("peak", peak["start"]), color="k", linestyle="--",
                       label="FMA peak")
            ax.set_xticks(list(xs))
            ax.set_xticklabels(labels, rotation=60, ha="right", fontsize=7)
            ax.set_ylabel("GFLOP/s")
            ax.set_title(f"conv2d {pass_}, {n} thread(s)")
            ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
