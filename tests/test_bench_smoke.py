"""The benchmark runner end to end on tiny shapes, and its NumPy baselines against fastconv.ops.

The baselines (im2col + matmul, window views) share no code with the C kernels, so agreeing with
them is also an independent check of the library.
"""

import json

import numpy as np
import pytest

from fastconv import ops
from fastconv.bench import baselines, main, report, runner
from fastconv.bench.shapes import ConvShape, PoolShape

TINY_CONV = ConvShape("tiny_conv", 6, 5, 3, 4, padding="same")
TINY_POOL = PoolShape("tiny_pool", 6, 4, 3)


def _tiny_config(**overrides):
    config = runner.BenchConfig(
        threads=(1,), batches=(2,), conv_shapes=[TINY_CONV], pool_shapes=[TINY_POOL],
        baselines=("numpy",), repeat=1, min_time=0.0, warmup=0, probe_time=0.01)
    for key, value in overrides.items():
        setattr(config, key, value)
    return config


def test_run_structure_and_ratios():
    results = runner.run(_tiny_config(), log=lambda line: None)
    results = json.loads(json.dumps(results))  # JSON-ready as it stands
    assert set(results) == {"meta", "rows", "errors"}
    assert results["errors"] == []
    meta = results["meta"]
    for key in ("date", "machine", "fastconv", "numpy", "blas", "torch", "peak_gflops", "config"):
        assert key in meta
    assert meta["peak_gflops"]["1"]["peak"] > 0
    assert {"version", "simd", "threads", "openmp"} <= set(meta["fastconv"])

    ops_seen = {(r["op"], r["pass"]) for r in results["rows"]}
    assert ops_seen == {(op, p) for op in ("conv2d", "max_pool2d", "avg_pool2d")
                        for p in ("forward", "backward")}
    for row in results["rows"]:
        assert row["status"] == "ok"
        assert row["threads"] == 1 and row["batch"] == 2
        assert row["checks"]["numpy"]["ok"]
        fc, base = row["impls"]["fastconv"], row["impls"]["numpy"]
        assert fc["median_s"] > 0 and len(fc["samples_s"]) == 1
        ratio = row["speedup"]["vs_numpy"]
        assert ratio == pytest.approx(base["median_s"] / fc["median_s"])
        if row["op"] == "conv2d":
            forward = 2 * 2 * 6 * 5 * 3 * 3 * 3 * 4
            assert row["work"]["flops"] == forward * (1 if row["pass"] == "forward" else 2)
            assert fc["gflops"] > 0 and fc["pct_peak"] > 0
        else:
            assert row["work"]["bytes"] > 0 and fc["gbps"] > 0
    text = report.format_report(results)
    assert "### conv2d backward" in text and "vs NumPy" in text


def test_mismatch_is_refused(monkeypatch):
    monkeypatch.setattr(baselines, "numpy_conv2d", lambda x, k, b=None, **kw: np.zeros(1))
    results = runner.run(_tiny_config(ops=("conv",), passes=("forward",)),
                         log=lambda line: None)
    (row,) = results["rows"]
    assert row["status"] == "mismatch" and row["impls"] == {} and row["speedup"] == {}
    assert len(results["errors"]) == 1 and "not timed" in results["errors"][0]
    assert "MISMATCH" in report.format_report(results)


def test_cli_quick_json(tmp_path, capsys):
    path = tmp_path / "bench.json"
    status = main(["--quick", "--batch", "2", "--ops", "pool", "--baselines", "numpy",
                   "--repeat", "1", "--min-time", "0", "--json", str(path)])
    assert status == 0
    data = json.loads(path.read_text())
    assert data["meta"]["config"]["pool_shapes"] == ["pool_14x64"]
    assert all("vs_numpy" in r["speedup"] for r in data["rows"])
    assert "max_pool2d forward" in capsys.readouterr().out


def test_cli_list_and_plot_without_matplotlib(capsys):
    assert main(["--list"]) == 0
    assert "mid_14x128" in capsys.readouterr().out
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        assert main(["--quick", "--plot", "x.png"]) == 2
        assert "pip install matplotlib" in capsys.readouterr().err


# ---------------------------------------------------------------------------------------------
# Baselines vs fastconv.ops

CONV_CASES = [
    # (N, H, W, C, F, KH, KW, strides, padding)
    (2, 7, 6, 3, 5, 3, 3, 1, "same"),
    (2, 7, 6, 3, 5, 3, 3, 1, "valid"),
    (1, 8, 9, 4, 2, 3, 2, 2, "same"),
    (3, 9, 7, 1, 4, 2, 4, 2, "valid"),
    (1, 5, 5, 2, 3, 5, 5, 1, "valid"),
    (2, 6, 6, 2, 2, 4, 4, 3, "same"),
]


def _tolerance(dtype):
    return {"rtol": 1e-4, "atol": 1e-4} if dtype == np.float32 else {"rtol": 1e-10,
                                                                       "atol": 1e-10}


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("index", range(len(CONV_CASES)))
def test_numpy_conv_baseline_matches_ops(index, dtype):
    N, H, W, C, F, KH, KW, strides, padding = CONV_CASES[index]
    rng = np.random.default_rng(index)
    x = rng.standard_normal((N, H, W, C)).astype(dtype)
    kernel = rng.standard_normal((KH, KW, C, F)).astype(dtype)
    bias = rng.standard_normal(F).astype(dtype)
    y = ops.conv2d(x, kernel, bias, strides=strides, padding=padding)
    y_np = baselines.numpy_conv2d(x, kernel, bias, strides=strides, padding=padding)
    np.testing.assert_allclose(y_np, y, **_tolerance(dtype))
    dy = rng.standard_normal(y.shape).astype(dtype)
    got = ops.conv2d_backward(dy, x, kernel, strides=strides, padding=padding)
    want = baselines.numpy_conv2d_backward(dy, x, kernel, strides=strides, padding=padding)
    for g, w in zip(got, want):
        assert g.shape == w.shape
        np.testing.assert_allclose(w, g, **_tolerance(dtype))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("groups,multiplier,strides", [(4, 1, 1), (3, 2, 2), (2, 3, 1)])
def test_grouped_numpy_conv_baseline_matches_ops(groups, multiplier, strides, dtype):
    """Grouped (and depthwise: one channel per group) benchmark rows use the same baseline."""
    rng = np.random.default_rng(groups)
    C = groups * (1 if multiplier > 1 else 2)
    x = rng.standard_normal((2, 7, 6, C)).astype(dtype)
    kernel = rng.standard_normal((3, 3, C // groups, groups * multiplier)).astype(dtype)
    kw = dict(strides=strides, padding="same", groups=groups)
    y = ops.conv2d(x, kernel, **kw)
    np.testing.assert_allclose(baselines.numpy_conv2d(x, kernel, **kw), y, **_tolerance(dtype))
    dy = rng.standard_normal(y.shape).astype(dtype)
    for w, g in zip(baselines.numpy_conv2d_backward(dy, x, kernel, **kw),
                    ops.conv2d_backward(dy, x, kernel, **kw)):
        np.testing.assert_allclose(w, g, **_tolerance(dtype))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("pool,strides,hw", [(2, 2, (6, 8)), (2, 1, (5, 6)), (3, 2, (7, 8)),
                                             (3, 3, (9, 7))])
def test_numpy_pool_baselines_match_ops(pool, strides, hw, dtype):
    rng = np.random.default_rng(pool * 10 + strides)
    x = rng.standard_normal((2, *hw, 3)).astype(dtype)
    for kind in ("max", "avg"):
        y = getattr(ops, f"{kind}_pool2d")(x, pool, strides)
        y_np = getattr(baselines, f"numpy_{kind}_pool2d")(x, pool, strides)
        np.testing.assert_allclose(y_np, y, **_tolerance(dtype))
        dy = rng.standard_normal(y.shape).astype(dtype)
        dx = getattr(ops, f"{kind}_pool2d_backward")(dy, x, pool, strides)
        dx_np = getattr(baselines, f"numpy_{kind}_pool2d_backward")(dy, x, pool, strides)
        np.testing.assert_allclose(dx_np, dx, **_tolerance(dtype))


def test_max_pool_baseline_ties_go_to_first():
    x = np.zeros((1, 2, 2, 1), np.float32)
    dx = baselines.numpy_max_pool2d_backward(np.ones((1, 1, 1, 1), np.float32), x, 2)
    assert dx[0, :, :, 0].tolist() == [[1, 0], [0, 0]]
    np.testing.assert_array_equal(dx, ops.max_pool2d_backward(np.ones((1, 1, 1, 1)), x, 2))


@pytest.mark.parametrize("layout", baselines.TORCH_LAYOUTS)
def test_torch_baselines_match_ops_when_installed(layout):
    torch = baselines.load_torch()
    if torch is None:
        pytest.skip("PyTorch not installed (optional)")
    rng = np.random.default_rng(3)
    x = rng.standard_normal((2, 7, 7, 3), dtype=np.float32)
    kernel = rng.standard_normal((3, 3, 3, 4), dtype=np.float32)
    bias = rng.standard_normal(4, dtype=np.float32)
    dy = rng.standard_normal((2, 7, 7, 4), dtype=np.float32)
    t = baselines.TorchConv(torch, x, kernel, bias, dy, 1, "same", layout=layout)
    want_cl = layout == "channels_last"
    assert t.x.is_contiguous(memory_format=torch.channels_last) == want_cl
    assert t.forward().is_contiguous(memory_format=torch.channels_last) == want_cl
    np.testing.assert_allclose(t.forward_to_nhwc(t.forward()),
                               ops.conv2d(x, kernel, bias, padding="same"), rtol=1e-4, atol=1e-4)
    for g, w in zip(t.backward_to_nhwc(t.backward()),
                    ops.conv2d_backward(dy, x, kernel, padding="same")):
        np.testing.assert_allclose(g, w, rtol=1e-4, atol=1e-4)
    kdw = rng.standard_normal((3, 3, 1, 6), dtype=np.float32)  # depthwise, multiplier 2
    dydw = rng.standard_normal((2, 7, 7, 6), dtype=np.float32)
    t = baselines.TorchConv(torch, x, kdw, None, dydw, 1, "same", groups=3, layout=layout)
    np.testing.assert_allclose(t.forward_to_nhwc(t.forward()),
                               ops.conv2d(x, kdw, padding="same", groups=3), rtol=1e-4, atol=1e-4)
    for g, w in zip(t.backward_to_nhwc(t.backward()),
                    ops.conv2d_backward(dydw, x, kdw, padding="same", groups=3)):
        np.testing.assert_allclose(g, w, rtol=1e-4, atol=1e-4)
    with pytest.raises(ValueError, match="asymmetric"):
        baselines.TorchConv(torch, x[:, :6, :6], kernel[:2, :2], bias, None, 1, "same")
    dyp = rng.standard_normal((2, 3, 3, 3), dtype=np.float32)
    for kind in ("max", "avg"):
        p = baselines.TorchPool(torch, kind, x, dyp, 2, 2, layout=layout)
        assert p.x.is_contiguous(memory_format=torch.channels_last) == want_cl
        np.testing.assert_allclose(p.to_nhwc(p.forward()),
                                   getattr(ops, f"{kind}_pool2d")(x, 2), rtol=1e-6)
        np.testing.assert_allclose(p.to_nhwc(p.backward()),
                                   getattr(ops, f"{kind}_pool2d_backward")(dyp, x, 2), rtol=1e-6)
    with pytest.raises(ValueError, match="layout"):
        baselines.to_torch(torch, x, "nhwc")


def test_torch_rows_report_the_better_layout_when_installed():
    if baselines.load_torch() is None:
        pytest.skip("PyTorch not installed (optional)")
    results = runner.run(_tiny_config(baselines=("torch",), passes=("forward",)),
                         log=lambda line: None)
    results = json.loads(json.dumps(results))
    assert results["errors"] == [] and results["rows"]
    for row in results["rows"]:
        assert set(row["checks"]) == {"torch_nchw", "torch_channels_last"}
        torch_entry, fc = row["impls"]["torch"], row["impls"]["fastconv"]["median_s"]
        layouts = torch_entry["layouts_median_s"]
        assert set(layouts) == set(baselines.TORCH_LAYOUTS)
        assert torch_entry["layout"] == min(layouts, key=layouts.get)
        assert torch_entry["median_s"] == min(layouts.values())
        assert row["speedup"]["vs_torch"] == pytest.approx(min(layouts.values()) / fc)
        for layout, median in layouts.items():
            assert row["speedup"][f"vs_torch_{layout}"] == pytest.approx(median / fc)
    assert "PyTorch layout" in report.format_report(results)