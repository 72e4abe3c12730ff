"""The Winograd F(2x2, 3x3) kernels of 3x3 stride-1 convolutions (forward, the input
gradient's rotated convolution and the weight gradient) against the float64 reference, on
shapes that cross their blocks: cut tiles at odd output sizes, padding on every side (also past
the kernel's extent), channel chunks past the GEMM's 256-deep panels, several blocks of tiles
and of filters, and weight-gradient segments."""

import os
import subprocess
import sys

import numpy as np
import pytest

from opcheck import DTYPES, assert_close, check_conv, rel_error
import reference as ref

import fastconv
from fastconv import _conv, ops
from fastconv.ops.conv2d import _geometry

# (N, H, W, C, F, padding): every one takes the Winograd kernels in both passes.
SHAPES = {
    "same_odd": (2, 9, 7, 16, 16, "same"),
    "valid": (2, 8, 8, 32, 40, "valid"),
    "three_output_rows": (3, 5, 10, 16, 24, "valid"),
    "three_by_three_image": (3, 3, 3, 16, 20, "same"),  # 2 x 2 tiles, the last cut
    "three_columns": (2, 9, 3, 32, 16, "same"),
    "asymmetric_padding": (2, 7, 9, 17, 70, ((2, 0), (3, 1))),
    "padding_past_kernel": (1, 6, 5, 16, 18, ((4, 1), (0, 5))),  # rotated padding negative
    "channel_chunks": (1, 5, 6, 300, 33, "same"),  # C and OC past one 256-deep panel
    "filter_blocks": (1, 6, 6, 20, 200, "same"),  # OC past one block of filters
    "many_tiles": (8, 23, 21, 24, 36, "same"),  # tiles past several blocks (and segments)
    "one_segment": (2, 8, 8, 128, 520, "valid"),  # weight-gradient partials fill one segment
    "channel_bands": (1, 6, 6, 256, 256, "same"),  # one segment, few filter blocks: bands of C
}


def rand(*shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape)


def blocking_nr():
    return _conv.blocking()["nr"]["float32"]


def kernels(x_shape, kernel_shape, padding):
    geometry, _ = _geometry(x_shape, kernel_shape, 1, padding, 1, 1)
    return _conv.kernels(geometry)


@pytest.mark.parametrize("name", list(SHAPES))
def test_shapes_take_the_winograd_kernels(name):
    N, H, W, C, F, padding = SHAPES[name]
    assert kernels((N, H, W, C), (3, 3, C, F), padding) == {
        "forward": "winograd", "input": "rotated_winograd", "weight": "winograd"}


@pytest.mark.parametrize("dtype", DTYPES, ids=["f32", "f64"])
@pytest.mark.parametrize("name", list(SHAPES))
def test_forward_and_gradients_match_the_reference(name, dtype):
    N, H, W, C, F, padding = SHAPES[name]
    check_conv(rand(N, H, W, C, seed=1), rand(3, 3, C, F, seed=2), rand(F, seed=3),
               dtype=dtype, padding=padding)


@pytest.mark.parametrize("name", ["same_odd", "channel_chunks", "many_tiles"])
def test_float32_error_is_that_of_a_direct_sum(name):
    """F(2x2, 3x3) only adds, subtracts and halves in its transforms: its float32 error stays
    within a few units of the GEMM kernels' (about 2e-7 of the largest output here), far below
    the suite's 2e-5 tolerance."""
    N, H, W, C, F, padding = SHAPES[name]
    x, k = rand(N, H, W, C, seed=4), rand(3, 3, C, F, seed=5)
    xr, kr = x.astype(np.float32), k.astype(np.float32)
    y = ops.conv2d(xr, kr, padding=padding)
    expected = ref.conv2d_ref(xr.astype(np.float64), kr.astype(np.float64), padding=padding)
    assert rel_error(y, expected) < 1e-6


@pytest.mark.parametrize("dtype", DTYPES, ids=["f32", "f64"])
def test_fused_relu_and_relu_mask(dtype):
    N, H, W, C, F, padding = SHAPES["asymmetric_padding"]
    x, k, b = (a.astype(dtype) for a in (rand(N, H, W, C, seed=6), rand(3, 3, C, F, seed=7),
                                         rand(F, seed=8)))
    y = ops.conv2d(x, k, b, padding=padding, activation="relu")
    plain = ref.conv2d_ref(*(a.astype(np.float64) for a in (x, k, b)), padding=padding)
    assert_close(y, np.maximum(plain, 0), np.dtype(dtype), "relu conv2d")
    # the input gradient taken through the ReLU whose outputs are relu_mask, block by block
    mask = np.maximum(x, 0)
    dy = rand(*y.shape, seed=9).astype(dtype)
    geometry, _ = _geometry(x.shape, k.shape, 1, padding, 1, 1)
    fused, plain_dx = np.empty_like(x), np.empty_like(x)
    _conv.backward_input(dy, k, fused, geometry, 2, relu_mask=mask)
    _conv.backward_input(dy, k, plain_dx, geometry, 2)
    np.testing.assert_array_equal(fused, np.where(mask > 0, plain_dx, 0))


@pytest.mark.parametrize("dtype", DTYPES, ids=["f32", "f64"])
@pytest.mark.parametrize("name", ["many_tiles", "one_segment", "channel_bands"])
def test_results_do_not_depend_on_the_thread_count(name, dtype):
    N, H, W, C, F, padding = SHAPES[name]
    x, k = rand(N, H, W, C, seed=10).astype(dtype), rand(3, 3, C, F, seed=11).astype(dtype)
    geometry, out_shape = _geometry(x.shape, k.shape, 1, padding, 1, 1)
    outs = []
    for threads in (1, 2, 3):
        out = np.empty(out_shape, dtype)
        _conv.forward(x, k, None, out, geometry, threads)
        dx, dk, db = np.empty_like(x), np.empty_like(k), np.empty(k.shape[3], dtype)
        _conv.backward_input(out, k, dx, geometry, threads)
        _conv.backward_weight(out, x, dk, db, geometry, threads)
        outs.append((out, dx, dk, db))
    for result in outs[1:]:
        for got, first in zip(result, outs[0]):
            np.testing.assert_array_equal(got, first)


def test_a_subset_of_filters_gives_the_same_bits():
    """The choice of kernel ignores the filter count, so slicing the filters does not change
    the kernel (nor, column by column, its sums)."""
    x, k = rand(2, 9, 7, 16, seed=12).astype(np.float32), rand(3, 3, 16, 40, seed=13).astype(np.float32)
    full = ops.conv2d(x, k, padding="same")
    assert kernels(x.shape, k[..., 5:8].shape, "same")["forward"] == "winograd"
    np.testing.assert_array_equal(ops.conv2d(x, k[..., 5:8], padding="same"), full[..., 5:8])


def test_nan_stays_where_the_direct_sum_has_it():
    """A NaN input reaches exactly the outputs whose windows hold it: the transforms never mix
    cells outside an output's window into it. (An infinite input may give NaN where the direct
    sum gives an infinity: docs/threads-and-numerics.md.)"""
    x, k = rand(2, 8, 9, 16, seed=14), np.abs(rand(3, 3, 16, 8, seed=15)) + 0.1
    x[0, 2, 3, 1] = np.nan
    x[1, 7, 0, 5] = np.nan
    y = ops.conv2d(x, k, padding="same")
    expected = ref.conv2d_ref(x, k, padding="same")
    np.testing.assert_array_equal(np.isnan(y), np.isnan(expected))
    assert_close(y, expected, np.float64, "conv2d with NaN inputs")


def test_the_environment_switch_keeps_the_gemm_kernels():
    """FASTCONV_WINOGRAD=0 (read when the extension loads) restores the GEMM kernels, whose
    results differ from Winograd's by rounding only."""
    script = (
        "import numpy as np, fastconv\n"
        "from fastconv import _conv, ops\n"
        "from fastconv.ops.conv2d import _geometry\n"
        "g, _ = _geometry((2, 9, 7, 16), (3, 3, 16, 16), 1, 'same', 1, 1)\n"
        "print(*_conv.kernels(g).values(), fastconv.show_config()['FASTCONV_WINOGRAD'])\n"
        "rng = np.random.default_rng(0)\n"
        "x, k = rng.standard_normal((2, 9, 7, 16)), rng.standard_normal((3, 3, 16, 16))\n"
        "np.save(__import__('sys').argv[1], ops.conv2d(x, k, padding='same'))\n")
    outputs = {}
    for switch in ("0", "1"):
        path = os.path.join(os.environ.get("TMPDIR", "/tmp"), f"fastconv_winograd_{os.getpid()}_{switch}.npy")
        env = dict(os.environ, FASTCONV_WINOGRAD=switch)
        run = subprocess.run([sys.executable, "-c", script, path], env=env, capture_output=True,
                             text=True, timeout=120, cwd=os.path.dirname(__file__))
        assert run.returncode == 0, run.stderr[-2000:]
        outputs[switch] = (run.stdout.split(), np.load(path))
        os.remove(path)
    gemm_weight = "in_place" if blocking_nr() <= 16 else "packed"
    assert outputs["0"][0] == ["gemm", "rotated_gemm", gemm_weight, "0"]
    assert outputs["1"][0] == ["winograd", "rotated_winograd", "winograd", "1"]
    assert rel_error(outputs["0"][1], outputs["1"][1]) < 1e-13
    assert not np.array_equal(outputs["0"][1], outputs["1"][1])


def test_other_shapes_keep_their_kernels():
    assert kernels((2, 9, 7, 15), (3, 3, 15, 16), "same")["forward"] == "gemm"  # few channels
    assert kernels((2, 9, 7, 3), (3, 3, 3, 16), "same")["forward"] == "first_layer"
    geometry, _ = _geometry((2, 9, 7, 16), (3, 3, 16, 16), 2, "same", 1, 1)  # stride 2
    assert _conv.kernels(geometry) == {"forward": "gemm", "input": "col2im",
                                       "weight": "in_place" if blocking_nr() <= 16 else "packed"}
    geometry, _ = _geometry((2, 9, 7, 16), (3, 3, 16, 16), 1, "same", 2, 1)  # dilated
    assert _conv.kernels(geometry)["forward"] == "gemm"
    geometry, _ = _geometry((2, 9, 7, 32), (3, 3, 16, 32), 1, "same", 1, 2)  # groups
    assert _conv.kernels(geometry)["forward"] == "gemm"
    assert kernels((2, 9, 7, 16), (5, 5, 16, 16), "same")["forward"] == "gemm"
    # images under 2 x 2 tiles: one pixel thin (the GEMM kernels skip the taps over its
    # padding) or one tile (nothing to amortize the filter transform over), in either pass
    assert kernels((2, 1, 9, 16), (3, 3, 16, 16), "same")["forward"] == "gemm"
    assert kernels((2, 1, 1, 64), (3, 3, 64, 64), "same")["forward"] == "gemm"
    assert kernels((2, 3, 9, 16), (3, 3, 16, 16), "valid")["forward"] == "gemm"  # OH 1
    assert kernels((64, 2, 2, 64), (3, 3, 64, 64), "same") == {
        "forward": "gemm", "input": "rotated_gemm", "weight": "in_place"
        if 64 % blocking_nr() == 0 else "packed"}
    assert kernels((2, 4, 9, 16), (3, 3, 16, 16), "valid")["input"] == "rotated_gemm"  # OH 2
    # the input gradient's rotated convolution has OC input channels
    assert kernels((2, 9, 7, 16), (3, 3, 16, 8), "same")["input"] == "rotated_gemm"


def test_an_unknown_switch_value_warns_and_keeps_winograd():
    env = dict(os.environ, FASTCONV_WINOGRAD="off")
    script = ("import warnings\n"
              "with warnings.catch_warnings(record=True) as caught:\n"
              "    warnings.simplefilter('always')\n"
              "    import fastconv\n"
              "print([str(w.message) for w in caught])\n")
    run = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True,
                         timeout=120, cwd=os.path.dirname(__file__))
    assert run.returncode == 0, run.stderr[-2000:]
    assert "FASTCONV_WINOGRAD='off' is neither '0' nor '1'" in run.stdout
