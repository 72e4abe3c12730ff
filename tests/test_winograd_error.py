"""benchmarks/winograd_error.py: its reference and its Winograd formulas are right, so the errors
it prints are Winograd's rounding and nothing else."""
import numpy as np
import pytest

import benchmark_scripts

import fastconv.ops as ops

winograd_error = benchmark_scripts.load("winograd_error")


def _layer(size, channels, filters, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((size, size, channels))
    return x, rng.standard_normal((3, 3, channels, filters))


def test_direct_sum_matches_fastconv_in_float64():
    x, w = _layer(9, 3, 5)
    expected = ops.conv2d(x[None], w)[0]
    np.testing.assert_allclose(winograd_error.direct(x, w, np.float64), expected, rtol=1e-13,
                               atol=1e-13)


@pytest.mark.parametrize("m", [2, 4])
@pytest.mark.parametrize("size", [7, 8, 11])  # outputs 5, 6, 9: whole and cut tiles
def test_winograd_is_exact_in_float64(m, size):
    x, w = _layer(size, 2, 3, seed=size)
    reference = winograd_error.direct(x, w, np.float64)
    np.testing.assert_allclose(winograd_error.winograd(x, w, m, np.float64), reference,
                               rtol=0, atol=1e-12 * np.abs(reference).max())


def test_float32_errors_order_as_measured():
    x, w = _layer(20, 3, 8)
    reference = winograd_error.direct(x, w, np.float64)
    scale = np.abs(reference).max()
    f2 = np.abs(winograd_error.winograd(x, w, 2, np.float32) - reference).max() / scale
    f4 = np.abs(winograd_error.winograd(x, w, 4, np.float32) - reference).max() / scale
    assert f2 < 1e-6 and f4 > f2


def test_only_f2_and_f4_are_known():
    with pytest.raises(ValueError, match="m must be 2 or 4"):
        winograd_error.transforms(3)


def test_main_prints_every_method_per_input(monkeypatch, capsys):
    monkeypatch.setattr("sys.argv", ["winograd_error.py", "--size", "10", "--filters", "4"])
    winograd_error.main()
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("10x10x3 -> 4")
    assert len(lines) == 2 + 3 * 4
