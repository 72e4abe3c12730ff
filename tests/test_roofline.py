"""benchmarks/roofline.py: the bytes and the bounds it reports, against counts done by hand."""
import json

import pytest

import benchmark_scripts

roofline = benchmark_scripts.load("roofline")


def _row(threads, padding="valid", strides=2, ours=1e-3, theirs=2e-3):
    # 32x29x29x64 depthwise 3x3: 14x14 outputs at stride 2 valid, 15x15 at stride 2 same.
    dims = {"name": "dw", "H": 29, "W": 29, "C": 64, "F": 64, "KH": 3, "KW": 3,
            "padding": padding, "strides": strides, "groups": 64}
    return {"pass": "forward", "status": "ok", "label": "dw", "batch": 32, "dims": dims,
            "threads": threads, "work": {"flops": 4e8},
            "impls": {"fastconv": {"median_s": ours}, "torch": {"median_s": theirs}}}


def test_row_bytes_counts_input_and_output():
    assert roofline.row_bytes(_row(1)) == 4 * 32 * (29 * 29 * 64 + 14 * 14 * 64)
    assert roofline.row_bytes(_row(1, "same")) == 4 * 32 * (29 * 29 * 64 + 15 * 15 * 64)
    assert roofline.row_bytes(_row(1, "same", 1)) == 4 * 32 * 2 * 29 * 29 * 64


def test_ceilings_divide_pytorch_by_the_longer_bound(tmp_path, monkeypatch, capsys):
    report = {"meta": {"machine": {"cpu": "test"}, "fastconv": {"simd": "avx2"},
                       "peak_gflops": {"1": {"peak": 100.0}, "2": {"peak": 200.0}}},
              "rows": [_row(1), _row(2)]}
    path = tmp_path / "conv.json"
    path.write_text(json.dumps(report))
    # 10 GB/s on 1 thread, 8 on 2: a 2-thread pass is bounded by the better, 10.
    monkeypatch.setattr(roofline, "copy_rate", lambda n: {1: 10e9, 2: 8e9}[n])
    assert roofline.main([str(path)]) == 0
    rows = [line.split("|") for line in capsys.readouterr().out.splitlines()
            if line.startswith("| dw")]
    nbytes = roofline.row_bytes(_row(1))
    for cells, peak in zip(rows, (100e9, 200e9)):
        memory, direct = nbytes / 10e9, 4e8 / peak
        assert float(cells[4]) == pytest.approx(memory * 1e3, abs=1e-3)
        assert float(cells[5]) == pytest.approx(direct * 1e3, abs=1e-3)
        assert cells[8].strip().startswith(f"{2e-3 / memory:.2f}x")
        assert cells[9].strip().startswith(f"{2e-3 / max(memory, direct):.2f}x")


def test_a_report_without_pytorch_rows_is_an_error(tmp_path):
    path = tmp_path / "conv.json"
    path.write_text(json.dumps({"meta": {}, "rows": []}))
    with pytest.raises(SystemExit, match="no forward rows"):
        roofline.main([str(path)])
