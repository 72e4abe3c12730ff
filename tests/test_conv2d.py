"""fastconv.ops.conv2d and conv2d_backward against tests/reference.py."""

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from opcheck import DTYPES, FORMATS, assert_close, check_conv, to_format
from opcheck import conv_kernels  # noqa: F401 (a fixture)
import reference as ref

from fastconv import ops


def rand(*shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape)


TOLS = {np.float32: 1e-6, np.float64: 1e-14}

# (N, H, W, C, KH, KW, F, groups, strides, padding, dilation_rate, bias)
AWKWARD = {
    "basic": (2, 6, 5, 3, 3, 3, 4, 1, 1, "valid", 1, True),
    "N1_C1_F1": (1, 5, 5, 1, 3, 3, 1, 1, 1, "valid", 1, True),
    "kernel_is_input": (2, 4, 3, 2, 4, 3, 3, 1, 1, "valid", 1, True),
    "kernel_is_input_same": (1, 4, 3, 2, 4, 3, 2, 1, 1, "same", 1, True),
    "strides_not_dividing": (1, 7, 8, 2, 2, 3, 3, 1, (3, 3), "valid", 1, True),
    "non_square": (2, 3, 9, 2, 1, 4, 2, 1, (1, 2), "valid", 1, False),
    "even_kernel_same": (1, 6, 6, 2, 2, 4, 3, 1, 1, "same", 1, True),
    "same_stride2": (1, 7, 6, 3, 3, 3, 2, 1, 2, "same", 1, True),
    "same_stride2_even": (2, 5, 5, 2, 2, 2, 2, 1, 2, "same", 1, True),
    "same_stride_gt_kernel": (1, 8, 7, 2, 2, 1, 2, 1, (3, 4), "SAME", 1, True),
    "dilation": (1, 8, 7, 2, 3, 2, 2, 1, 1, "valid", (2, 3), True),
    "dilation_stride": (1, 9, 8, 2, 3, 3, 3, 1, (2, 3), "valid", 2, True),
    "dilation_stride_same": (2, 7, 8, 2, 3, 2, 2, 1, 2, "same", (2, 3), True),
    "groups2": (2, 5, 5, 4, 3, 3, 6, 2, 1, "same", 1, True),
    "groups2_stride_dil": (1, 9, 7, 4, 2, 3, 4, 2, (2, 1), "same", (3, 2), True),
    "depthwise": (2, 5, 6, 3, 3, 3, 3, 3, 1, "same", 1, True),
    "depthwise_multiplier": (1, 6, 5, 3, 3, 2, 6, 3, 2, "valid", 1, True),
    "asym_padding": (1, 5, 4, 2, 3, 3, 2, 1, 1, ((0, 2), (3, 1)), 1, True),
    "asym_padding_stride": (2, 4, 5, 2, 2, 3, 3, 1, (2, 3), ((1, 0), (0, 2)), 1, True),
    "int_padding": (1, 3, 4, 2, 3, 3, 2, 1, 1, 2, 1, True),
    "pair_padding": (1, 4, 3, 1, 2, 2, 2, 1, 2, (1, 3), 1, True),
    "pad_wider_than_kernel": (1, 3, 3, 1, 1, 1, 1, 1, 1, 2, 1, True),
    "1x1": (2, 4, 5, 3, 1, 1, 5, 1, 1, "valid", 1, True),
    "1x1_stride": (1, 5, 6, 3, 1, 1, 2, 1, 2, "same", 1, False),
    "1x1_groups": (1, 3, 3, 6, 1, 1, 4, 2, 1, "valid", 1, False),
    "bias_none": (2, 5, 4, 3, 2, 2, 2, 1, 1, "valid", 1, False),
    "1x1_image": (3, 1, 1, 4, 1, 1, 3, 1, 1, "same", 1, True),
    "wide_channels": (1, 3, 3, 17, 2, 2, 19, 1, 1, "same", 1, True),
    # Sizes past SIMD widths and GEMM blocks, with ragged tails.
    "gemm_tails": (2, 9, 11, 33, 3, 3, 35, 1, 1, "same", 1, True),
    "gemm_1x1_wide": (1, 12, 13, 67, 1, 1, 71, 1, 1, "valid", 1, True),
    "gemm_groups_wide": (1, 10, 9, 48, 3, 2, 52, 4, (2, 1), "same", (1, 2), True),
    "depthwise_wide": (2, 8, 7, 37, 3, 3, 37, 37, 1, "same", 1, True),
    "many_pixels": (3, 31, 29, 3, 5, 5, 8, 1, 1, "same", 1, True),
    # Rows read in place, with whole output rows (one register tile of the wide and the narrow
    # geometry: 14 and 6 columns) over padding only, in both k-chunks of a 3x3x40 kernel.
    "indirect_padding_rows": (2, 3, 14, 40, 3, 3, 33, 1, 1, ((4, 3), (1, 1)), 1, True),
    "indirect_padding_rows_narrow": (1, 2, 6, 40, 3, 3, 20, 1, 1, ((3, 4), (1, 1)), 1, True),
    # Weight gradients read in place (channels per group a multiple of the tile width): filters
    # past a tile's edge, the last pixel of dout, groups, strides, dilation, uneven padding and
    # pixel chunks (P = 600 in three) that end inside an output row.
    "in_place_wgrad": (2, 9, 7, 64, 3, 3, 40, 1, 1, "same", 1, True),
    "in_place_wgrad_groups": (2, 9, 8, 64, 3, 2, 20, 2, (2, 1), ((2, 1), (0, 3)), (1, 2), True),
    "in_place_wgrad_chunks": (1, 2, 300, 32, 1, 3, 15, 1, 1, "same", 1, True),
    "in_place_wgrad_narrow": (2, 6, 5, 16, 3, 3, 7, 1, 1, "valid", 1, True),
    "in_place_wgrad_one_column": (2, 9, 1, 32, 3, 1, 15, 1, (2, 1), "same", (2, 1), True),
}


@pytest.mark.usefixtures("conv_kernels")
@pytest.mark.parametrize("data_format", FORMATS)
@pytest.mark.parametrize("dtype", DTYPES, ids=["f32", "f64"])
@pytest.mark.parametrize("name", list(AWKWARD))
def test_conv2d_awkward(name, dtype, data_format):
    N, H, W, C, KH, KW, F, groups, strides, padding, dilation, has_bias = AWKWARD[name]
    x = rand(N, H, W, C, seed=1)
    kernel = rand(KH, KW, C // groups, F, seed=2)
    bias = rand(F, seed=3) if has_bias else None
    check_conv(x, kernel, bias, dtype=dtype, data_format=data_format,
               strides=strides, padding=padding, dilation_rate=dilation,
               groups=groups)


@pytest.mark.usefixtures("conv_kernels")
@pytest.mark.parametrize("dtype", DTYPES, ids=["f32", "f64"])
@pytest.mark.parametrize("width", [6, 14])
def test_conv2d_relu_on_tiles_over_padding_only(dtype, width):
    """Output rows that see only padding are the bias, clamped by the fused ReLU."""
    x, kernel, bias = rand(2, 3, width, 40, seed=1), rand(3, 3, 40, 24, seed=2), rand(24, seed=3)
    padding = ((4, 4), (1, 1))
    xr, kr, br = (a.astype(dtype).astype(np.float64) for a in (x, kernel, bias))
    expected = np.maximum(ref.conv2d_ref(xr, kr, br, padding=padding), 0)
    y = ops.conv2d(x.astype(dtype), kernel.astype(dtype), bias.astype(dtype), padding=padding,
                   activation="relu")
    assert_close(y, expected, np.dtype(dtype), "relu conv2d y")
    np.testing.assert_array_equal(y[:, :2], np.broadcast_to(np.maximum(br, 0), y[:, :2].shape))


def test_conv2d_defaults_and_positional_bias():
    x, k, b = rand(1, 4, 4, 2), rand(3, 3, 2, 2, seed=1), rand(2, seed=2)
    np.testing.assert_allclose(ops.conv2d(x, k, b), ref.conv2d_ref(x, k, b),
                               rtol=1e-11, atol=1e-12)
    y = ops.conv2d(x, k)
    np.testing.assert_allclose(y, ref.conv2d_ref(x, k), rtol=1e-11, atol=1e-12)
    dx, dk, db = ops.conv2d_backward(np.ones_like(y), x, k)
    rdx, rdk, rdb = ref.conv2d_backward_ref(np.ones_like(y), x, k)
    for got, want in ((dx, rdx), (dk, rdk), (db, rdb)):
        assert_close(got, want, np.float64)


@pytest.mark.parametrize("data_format", FORMATS)
@pytest.mark.parametrize("dtype", DTYPES, ids=["f32", "f64"])
def test_conv2d_backward_compute_dx_false(dtype, data_format):
    x = rand(2, 5, 6, 4).astype(dtype)
    k = rand(3, 2, 2, 4, seed=1).astype(dtype)
    kw = dict(strides=(2, 1), padding="same", dilation_rate=1, groups=2,
              data_format=data_format)
    xin = to_format(x, data_format)
    y = ops.conv2d(xin, k, **kw)
    dy = rand(*y.shape, seed=2).astype(dtype)
    dx_full, dk_full, db_full = ops.conv2d_backward(dy, xin, k, **kw)
    dx, dk, db = ops.conv2d_backward(dy, xin, k, compute_dx=False, **kw)
    assert dx is None
    assert dx_full is not None
    np.testing.assert_allclose(dk, dk_full, rtol=TOLS[dtype], atol=0)
    np.testing.assert_allclose(db, db_full, rtol=TOLS[dtype], atol=0)


@pytest.mark.parametrize("data_format", FORMATS)
def test_conv2d_dbias_is_dy_summed_over_all_but_channels(data_format):
    x = rand(3, 4, 5, 2)
    k = rand(2, 2, 2, 3, seed=1)
    xin = to_format(x, data_format)
    dy = rand(3, 3, 4, 3, seed=2)              # NHWC
    dy_in = to_format(dy, data_format)
    _, _, db = ops.conv2d_backward(dy_in, xin, k, data_format=data_format)
    axes = (0, 1, 2) if data_format == "channels_last" else (0, 2, 3)
    np.testing.assert_allclose(db, dy_in.sum(axis=axes), rtol=1e-12, atol=1e-12)


def test_conv2d_numpy_integer_and_list_hyperparameters():
    x, k = rand(1, 7, 6, 4), rand(3, 2, 2, 4, seed=1)
    expected = ref.conv2d_ref(x, k, None, (2, 1), ((1, 1), (0, 2)), (1, 2), 2)
    y = ops.conv2d(x, k, strides=[np.int64(2), 1], padding=[[1, np.int32(1)], [0, 2]],
                   dilation_rate=(np.int16(1), 2), groups=np.int64(2))
    assert_close(y, expected, np.float64)


# ------------------------------------------------------------------ dtypes


@pytest.mark.parametrize(
    "x_dtype, k_dtype, b_dtype, expected",
    [
        (np.float32, np.float32, np.float32, np.float32),
        (np.float32, np.float32, None, np.float32),
        (np.float64, np.float64, np.float64, np.float64),
        (np.float32, np.float64, None, np.float64),
        (np.float64, np.float32, None, np.float64),
        (np.float32, np.float32, np.float64, np.float64),
        (np.int32, np.float32, None, np.float32),
        (np.int64, np.int64, None, np.float32),
        (np.uint8, np.float64, None, np.float64),
        (np.bool_, np.float32, np.int16, np.float32),
        (np.int8, np.int32, np.int64, np.float32),
        (np.float16, np.float32, None, np.float32),
    ],
)
def test_conv2d_dtype_rules(x_dtype, k_dtype, b_dtype, expected):
    rng = np.random.default_rng(0)
    x = rng.integers(0, 3, (2, 4, 4, 2)).astype(x_dtype)
    k = rng.integers(-2, 3, (2, 2, 2, 3)).astype(k_dtype)
    b = None if b_dtype is None else rng.integers(0, 3, 3).astype(b_dtype)
    y = ops.conv2d(x, k, b)
    assert y.dtype == np.dtype(expected)
    # Small integers: the result is exact in float32 as well.
    np.testing.assert_array_equal(y, ref.conv2d_ref(x, k, b))
    dy = rng.integers(-2, 3, y.shape).astype(x_dtype)
    dx, dk, db = ops.conv2d_backward(dy, x, k)
    dx_ref, dk_ref, db_ref = ref.conv2d_backward_ref(dy, x, k)
    expected_bwd = np.result_type(
        *[np.float64 if np.dtype(t) == np.float64 else np.float32
          for t in (x_dtype, k_dtype)]
    )
    for got, want in ((dx, dx_ref), (dk, dk_ref), (db, db_ref)):
        assert got.dtype == expected_bwd
        np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize(
    "dy_dtype, x_dtype, k_dtype, expected",
    [
        (np.float64, np.float32, np.float32, np.float64),
        (np.float32, np.float64, np.float32, np.float64),
        (np.float32, np.float32, np.float64, np.float64),
        (np.int32, np.float32, np.float32, np.float32),
        (np.float32, np.int64, np.int8, np.float32),
    ],
)
def test_conv2d_backward_mixed_dtypes(dy_dtype, x_dtype, k_dtype, expected):
    rng = np.random.default_rng(3)
    x = rng.integers(-3, 4, (2, 5, 4, 2)).astype(x_dtype)
    k = rng.integers(-3, 4, (2, 3, 2, 3)).astype(k_dtype)
    dy = rng.integers(-3, 4, (2, 4, 2, 3)).astype(dy_dtype)
    got = ops.conv2d_backward(dy, x, k)
    want = ref.conv2d_backward_ref(dy, x, k)
    for g, w in zip(got, want):
        assert g.dtype == expected
        np.testing.assert_array_equal(g, w)


@pytest.mark.parametrize("data_format", FORMATS)
@pytest.mark.parametrize("dtype", DTYPES, ids=["f32", "f64"])
def test_conv2d_nan_and_inf_in_x_propagate(dtype, data_format):
    x = rand(2, 6, 7, 3, seed=4)
    x[0, 2, 3, 1] = np.nan
    x[1, 0, 6, 0] = np.inf
    x[1, 5, 0, 2] = -np.inf
    k = np.abs(rand(3, 3, 3, 4, seed=5)) + 0.1        # no zeros, all positive
    y_ref, *_ = check_conv(x, k, rand(4, seed=6), dtype=dtype, data_format=data_format,
                           padding="same", backward=False)
    assert np.isnan(y_ref).any() and np.isinf(y_ref).any()


@pytest.mark.parametrize("data_format", FORMATS)
def test_conv2d_outputs_are_new_arrays_identity_kernel(data_format):
    # A 1x1 identity kernel must still return a fresh array, never x itself.
    x = rand(1, 3, 3, 2).astype(np.float32)
    k = np.eye(2, dtype=np.float32).reshape(1, 1, 2, 2)
    xin = to_format(x, data_format)
    y = ops.conv2d(xin, k, data_format=data_format)
    assert y is not xin and not np.shares_memory(y, xin)
    assert y.flags.c_contiguous and y.flags.writeable
    np.testing.assert_array_equal(y, xin)
    dx, dk, db = ops.conv2d_backward(y, xin, k, data_format=data_format)
    assert not np.shares_memory(dx, y)
    np.testing.assert_array_equal(dx, xin)


# ------------------------------------------------------------- empty batch


@pytest.mark.parametrize("data_format", FORMATS)
@pytest.mark.parametrize("dtype", DTYPES, ids=["f32", "f64"])
def test_conv2d_zero_batch(dtype, data_format):
    x = np.zeros((0, 6, 5, 4), dtype=dtype)
    k = rand(3, 2, 2, 6).astype(dtype)
    b = rand(6, seed=1).astype(dtype)
    kw = dict(strides=(2, 1), padding="same", groups=2, data_format=data_format)
    xin = to_format(x, data_format)
    y = ops.conv2d(xin, k, b, **kw)
    expected = (0, 3, 5, 6) if data_format == "channels_last" else (0, 6, 3, 5)
    assert y.shape == expected and y.dtype == dtype
    dx, dk, db = ops.conv2d_backward(y, xin, k, **kw)
    assert dx.shape == xin.shape and dx.dtype == dtype
    assert dk.shape == k.shape and dk.dtype == dtype
    assert db.shape == (6,) and db.dtype == dtype
    assert not dk.any() and not db.any()


# -------------------------------------------------------------- hypothesis


@st.composite
def conv_configs(draw):
    groups = draw(st.sampled_from([1, 1, 2, 3]))
    C = groups * draw(st.integers(1, 3))
    F = groups * draw(st.integers(1, 3))
    N = draw(st.integers(1, 2))
    KH, KW = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    sh, sw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    dh, dw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    kind = draw(st.sampled_from(["valid", "same", "int", "pair", "explicit"]))
    if kind == "valid":
        padding, pads = "valid", ((0, 0), (0, 0))
    elif kind == "same":
        padding, pads = draw(st.sampled_from(["same", "SAME"])), None
    elif kind == "int":
        p = draw(st.integers(0, 3))
        padding, pads = p, ((p, p), (p, p))
    elif kind == "pair":
        ph, pw = draw(st.integers(0, 3)), draw(st.integers(0, 3))
        padding, pads = (ph, pw), ((ph, ph), (pw, pw))
    else:
        pads = tuple((draw(st.integers(0, 3)), draw(st.integers(0, 3)))
                     for _ in range(2))
        padding = pads
    sizes = []
    for axis, (k, d) in enumerate(((KH, dh), (KW, dw))):
        span = (k - 1) * d + 1
        smallest = 1 if pads is None else max(1, span - sum(pads[axis]))
        sizes.append(draw(st.integers(smallest, smallest + 5)))
    H, W = sizes
    return dict(
        x_shape=(N, H, W, C), k_shape=(KH, KW, C // groups, F),
        bias=draw(st.booleans()), groups=groups, strides=(sh, sw),
        padding=padding, dilation_rate=(dh, dw),
        seed=draw(st.integers(0, 2**32 - 1)),
    )


@settings(max_examples=150, deadline=None)
@given(cfg=conv_configs(), dtype=st.sampled_from(DTYPES),
       data_format=st.sampled_from(FORMATS))
def test_conv2d_hypothesis(cfg, dtype, data_format):
    rng = np.random.default_rng(cfg["seed"])
    x = rng.standard_normal(cfg["x_shape"])
    k = rng.standard_normal(cfg["k_shape"])
    b = rng.standard_normal(cfg["k_shape"][3]) if cfg["bias"] else None
    check_conv(x, k, b, dtype=dtype, data_format=data_format,
               strides=cfg["strides"], padding=cfg["padding"],
               dilation_rate=cfg["dilation_rate"], groups=cfg["groups"])
