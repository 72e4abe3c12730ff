"""fastconv.set_num_threads / get_num_threads / show_config, and results that do
not depend on the thread count."""

import numpy as np
import pytest

import fastconv
from fastconv import ops


@pytest.fixture
def restore_threads():
    before = fastconv.get_num_threads()
    yield before
    fastconv.set_num_threads(0)
    assert fastconv.get_num_threads() == before


def _openmp():
    return bool(fastconv.show_config()["openmp"])


def test_show_config_keys():
    cfg = fastconv.show_config()
    assert isinstance(cfg, dict)
    assert {"version", "simd", "threads", "openmp"} <= set(cfg)
    assert cfg["version"] == fastconv.__version__
    assert isinstance(cfg["simd"], str) and cfg["simd"]
    assert isinstance(cfg["threads"], int) and cfg["threads"] >= 1
    assert isinstance(cfg["openmp"], bool)


def test_default_threads(restore_threads):
    default = restore_threads
    assert isinstance(default, int) and default >= 1
    assert fastconv.show_config()["threads"] == default


@pytest.mark.parametrize("n", [1, 2, 3])
def test_set_get_threads(restore_threads, n):
    fastconv.set_num_threads(n)
    got = fastconv.get_num_threads()
    assert isinstance(got, int)
    if _openmp():
        assert got == n
        assert fastconv.show_config()["threads"] == n
    else:
        assert got >= 1


@pytest.mark.parametrize("reset", [0, None])
def test_zero_or_none_restores_default(restore_threads, reset):
    default = restore_threads
    fastconv.set_num_threads(1)
    fastconv.set_num_threads(reset)
    assert fastconv.get_num_threads() == default


@pytest.mark.parametrize("n", [-1, -8])
def test_negative_threads(restore_threads, n):
    with pytest.raises(ValueError):
        fastconv.set_num_threads(n)
    assert fastconv.get_num_threads() == restore_threads


@pytest.mark.parametrize("n", [1.5, 2.0, "2", [2]])
def test_non_int_threads(restore_threads, n):
    with pytest.raises(TypeError):
        fastconv.set_num_threads(n)
    assert fastconv.get_num_threads() == restore_threads


def test_numpy_int_threads(restore_threads):
    fastconv.set_num_threads(np.int64(1))
    if _openmp():
        assert fastconv.get_num_threads() == 1


# ------------------------------------------------ thread-count independence


def _run_all(x, k, b, dy_conv, data_format):
    kw = dict(strides=(2, 1), padding="same", dilation_rate=(1, 2), groups=2,
              data_format=data_format)
    out = {"conv2d": ops.conv2d(x, k, b, **kw)}
    out["conv2d_backward"] = ops.conv2d_backward(dy_conv, x, k, **kw)
    for kind in ("max", "avg"):
        pkw = dict(pool_size=3, strides=2, padding="same", data_format=data_format)
        y = getattr(ops, f"{kind}_pool2d")(x, **pkw)
        out[f"{kind}_pool2d"] = y
        out[f"{kind}_pool2d_backward"] = getattr(ops, f"{kind}_pool2d_backward")(
            np.cos(y), x, **pkw)
    return out


@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
def test_results_independent_of_thread_count(restore_threads, dtype, data_format):
    rng = np.random.default_rng(0)
    shape = (8, 24, 20, 16) if data_format == "channels_last" else (8, 16, 24, 20)
    x = rng.standard_normal(shape).astype(dtype)
    k = rng.standard_normal((3, 3, 8, 32)).astype(dtype)
    b = rng.standard_normal(32).astype(dtype)
    y_shape = (8, 12, 20, 32) if data_format == "channels_last" else (8, 32, 12, 20)
    dy = rng.standard_normal(y_shape).astype(dtype)

    fastconv.set_num_threads(1)
    one = _run_all(x, k, b, dy, data_format)
    fastconv.set_num_threads(2)
    two = _run_all(x, k, b, dy, data_format)

    # Forward results: bitwise identical.
    for name in ("conv2d", "max_pool2d", "avg_pool2d"):
        np.testing.assert_array_equal(one[name], two[name], err_msg=name)
    # Pooling gradients write each dx cell from its own windows: identical too.
    for name in ("max_pool2d_backward", "avg_pool2d_backward"):
        np.testing.assert_array_equal(one[name], two[name], err_msg=name)
    # Convolution gradients: allowed to differ by reduction order only.
    tol = 1e-5 if dtype == np.float32 else 1e-12
    for got, want, what in zip(two["conv2d_backward"], one["conv2d_backward"],
                               ("dx", "dkernel", "dbias")):
        err = np.max(np.abs(got - want)) / np.max(np.abs(want))
        assert err <= tol, f"conv2d_backward {what}: {err:.3g}"
