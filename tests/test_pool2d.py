"""fastconv.ops max/avg pooling (forward and backward) against tests/reference.py."""

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from fastconv import ops
from opcheck import DTYPES, FORMATS, check_pool, from_format, to_format
import reference as ref

KINDS = ["max", "avg"]


def rand(*shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape)


# (N, H, W, C, pool_size, strides, padding)
AWKWARD = {
    "default_2x2": (2, 4, 6, 3, 2, None, "valid"),
    "odd_size_valid": (1, 5, 7, 2, 2, None, "valid"),
    "odd_size_same": (1, 5, 7, 2, 2, None, "same"),
    "N1_C1": (1, 6, 6, 1, 3, None, "valid"),
    "stride_smaller": (2, 6, 5, 2, 3, 1, "valid"),
    "stride_smaller_same": (1, 6, 5, 2, 3, (1, 2), "same"),
    "stride_larger": (1, 9, 8, 2, 2, 3, "valid"),
    "stride_larger_same": (1, 9, 8, 2, 2, (4, 3), "SAME"),
    "non_square_window": (2, 6, 7, 2, (2, 3), None, "valid"),
    "non_square_window_same": (1, 7, 6, 3, (3, 1), (2, 2), "same"),
    "non_square_input": (1, 3, 10, 2, (1, 4), (1, 3), "valid"),
    "whole_input": (2, 4, 5, 3, (4, 5), None, "valid"),
    "whole_input_same": (1, 4, 5, 2, (4, 5), 1, "same"),
    "window_1x1": (1, 3, 4, 2, 1, None, "valid"),
    "window_1x1_stride": (1, 5, 4, 2, 1, 2, "same"),
    "even_window_same_stride1": (1, 5, 5, 2, 4, 1, "same"),
    "explicit_int_padding": (1, 5, 5, 2, 3, 2, 1),
    "explicit_pair_padding": (1, 4, 5, 2, (3, 2), 1, (2, 1)),
    "explicit_asym_padding": (2, 5, 4, 2, 3, (2, 1), ((0, 2), (1, 0))),
    "1x1_image": (3, 1, 1, 4, 1, None, "valid"),
    "1x1_image_same": (2, 1, 1, 3, 3, 2, "same"),
    "wide_channels": (1, 4, 4, 19, 2, None, "same"),
    "wide_channels_overlap": (2, 7, 6, 37, 3, 2, "same"),
    "many_pixels": (3, 31, 29, 5, 3, 2, "valid"),
}


@pytest.mark.parametrize("data_format", FORMATS)
@pytest.mark.parametrize("dtype", DTYPES, ids=["f32", "f64"])
@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("name", list(AWKWARD))
def test_pool_awkward(name, kind, dtype, data_format):
    N, H, W, C, pool_size, strides, padding = AWKWARD[name]
    check_pool(kind, rand(N, H, W, C, seed=7), pool_size=pool_size, strides=strides,
               padding=padding, dtype=dtype, data_format=data_format)


@pytest.mark.parametrize("kind", KINDS)
def test_pool_defaults(kind):
    x = rand(2, 6, 4, 3)
    fwd, bwd = getattr(ops, f"{kind}_pool2d"), getattr(ops, f"{kind}_pool2d_backward")
    fwd_ref = getattr(ref, f"{kind}_pool2d_ref")
    bwd_ref = getattr(ref, f"{kind}_pool2d_backward_ref")
    y = fwd(x)
    assert y.shape == (2, 3, 2, 3) and y.dtype == np.float64
    np.testing.assert_allclose(y, fwd_ref(x, 2, 2, "valid"), rtol=1e-12, atol=0)
    dy = rand(*y.shape, seed=1)
    np.testing.assert_allclose(bwd(dy, x), bwd_ref(dy, x, 2, 2, "valid"),
                               rtol=1e-12, atol=0)
    # strides=None means strides=pool_size.
    np.testing.assert_array_equal(fwd(x, (3, 2), None), fwd(x, (3, 2), (3, 2)))
    np.testing.assert_array_equal(bwd(rand(2, 2, 2, 3), x, (3, 2), None),
                                  bwd(rand(2, 2, 2, 3), x, (3, 2), (3, 2)))


@pytest.mark.parametrize("kind", KINDS)
def test_pool_numpy_integer_and_list_hyperparameters(kind):
    x = rand(2, 6, 7, 3)
    fwd = getattr(ops, f"{kind}_pool2d")
    expected = getattr(ref, f"{kind}_pool2d_ref")(x, (3, 2), (2, 1), ((1, 0), (0, 1)))
    y = fwd(x, [np.int64(3), 2], [2, np.int32(1)], [[1, 0], [0, np.int8(1)]])
    np.testing.assert_allclose(y, expected, rtol=1e-12, atol=0)


# -------------------------------------------------------- max-pool semantics


@pytest.mark.parametrize("data_format", FORMATS)
@pytest.mark.parametrize("dtype", DTYPES, ids=["f32", "f64"])
def test_max_pool_nan_propagates(dtype, data_format):
    x = rand(2, 4, 6, 3, seed=3)
    x[0, 0, 1, 0] = np.nan                   # window (0, 0) of image 0, channel 0
    x[1, 3, 5, 2] = np.nan                   # last window of image 1, channel 2
    x[1, 2, 0, 1] = x[1, 3, 1, 1] = np.nan   # two NaNs in one window: first gets dy
    y_ref, dx_ref = check_pool("max", x, pool_size=2, dtype=dtype,
                               data_format=data_format)
    assert np.isnan(y_ref[0, 0, 0, 0]) and np.isnan(y_ref[1, 1, 2, 2])
    assert np.isnan(y_ref[1, 1, 0, 1])
    assert dx_ref[1, 2, 0, 1] != 0 and dx_ref[1, 3, 1, 1] == 0
    assert np.isnan(y_ref).sum() == 3


@pytest.mark.parametrize("data_format", FORMATS)
@pytest.mark.parametrize("dtype", DTYPES, ids=["f32", "f64"])
def test_max_pool_nan_with_overlap_and_padding(dtype, data_format):
    x = rand(1, 5, 5, 2, seed=4)
    x[0, 2, 2, :] = np.nan
    x[0, 4, 4, 1] = np.nan
    check_pool("max", x, pool_size=3, strides=1, padding="same", dtype=dtype,
               data_format=data_format)


@pytest.mark.parametrize("data_format", FORMATS)
@pytest.mark.parametrize("dtype", DTYPES, ids=["f32", "f64"])
@pytest.mark.parametrize("padding", ["same", 1, ((1, 2), (2, 1))])
def test_max_pool_padding_never_wins(padding, dtype, data_format):
    # All negative: a zero (or -FLT_MAX/-inf being compared wrongly) from padding
    # would show up in the output.
    x = -1.0 - np.abs(rand(2, 5, 4, 2, seed=5))
    x[1] = -np.inf
    y_ref, _ = check_pool("max", x, pool_size=3, strides=2, padding=padding,
                          dtype=dtype, data_format=data_format)
    assert np.all(y_ref[0] < 0) and np.all(y_ref[1] == -np.inf)


@pytest.mark.parametrize("data_format", FORMATS)
@pytest.mark.parametrize("dtype", DTYPES, ids=["f32", "f64"])
def test_max_pool_all_minus_inf_gradient_goes_to_first_real_cell(dtype, data_format):
    x = np.full((1, 3, 3, 1), -np.inf)
    dy = np.array([1.0, 2.0, 3.0, 4.0]).reshape(1, 2, 2, 1)
    _, dx_ref = check_pool("max", x, dy, pool_size=2, padding="same", dtype=dtype,
                           data_format=data_format)
    # "same": 1 padding cell at the bottom/right only, so the first real cell of
    # each window is its top-left one.
    np.testing.assert_array_equal(dx_ref[0, :, :, 0],
                                  [[1, 0, 2], [0, 0, 0], [3, 0, 4]])


@pytest.mark.parametrize("data_format", FORMATS)
@pytest.mark.parametrize("dtype", DTYPES, ids=["f32", "f64"])
def test_max_pool_ties_first_max_gets_gradient(dtype, data_format):
    x = np.array([[5.0, 5.0, 1.0, 5.0, 0.0, 2.0],
                  [5.0, 1.0, 5.0, 5.0, 2.0, 2.0],
                  [1.0, 7.0, 7.0, 0.0, 3.0, 3.0],
                  [7.0, 7.0, 7.0, 3.0, 3.0, 3.0]]).reshape(1, 4, 6, 1)
    x = np.concatenate([x, -x, np.zeros_like(x)], axis=3)   # C = 3
    dy = np.arange(1.0, 19.0).reshape(1, 2, 3, 3)
    _, dx_ref = check_pool("max", x, dy, pool_size=2, dtype=dtype,
                           data_format=data_format)
    np.testing.assert_array_equal(
        dx_ref[0, :, :, 0],
        [[1, 0, 0, 4, 0, 7], [0, 0, 0, 0, 0, 0], [0, 10, 13, 0, 16, 0], [0, 0, 0, 0, 0, 0]],
    )
    # All-zero channel: every window is a tie, the top-left cell wins.
    np.testing.assert_array_equal(
        dx_ref[0, :, :, 2],
        [[3, 0, 6, 0, 9, 0], [0, 0, 0, 0, 0, 0], [12, 0, 15, 0, 18, 0], [0] * 6],
    )


@pytest.mark.parametrize("data_format", FORMATS)
@pytest.mark.parametrize("dtype", DTYPES, ids=["f32", "f64"])
def test_max_pool_ties_with_overlap_and_same(dtype, data_format):
    x = np.random.default_rng(6).integers(-1, 2, (2, 6, 5, 3)).astype(np.float64)
    check_pool("max", x, pool_size=(3, 2), strides=(1, 2), padding="same",
               dtype=dtype, data_format=data_format)


@pytest.mark.parametrize("dtype", DTYPES, ids=["f32", "f64"])
def test_max_pool_infinities(dtype):
    x = rand(1, 4, 4, 2, seed=8)
    x[0, 0, 0, 0] = np.inf
    x[0, 3, 3, 1] = -np.inf
    x[0, 1, 2, :] = np.inf
    check_pool("max", x, pool_size=2, strides=1, dtype=dtype)


# -------------------------------------------------------- avg-pool semantics


@pytest.mark.parametrize("data_format", FORMATS)
@pytest.mark.parametrize("dtype", DTYPES, ids=["f32", "f64"])
def test_avg_pool_padding_not_counted(dtype, data_format):
    x = np.ones((1, 5, 5, 2))
    y_ref, dx_ref = check_pool("avg", x, pool_size=3, strides=2, padding="same",
                               dtype=dtype, data_format=data_format)
    np.testing.assert_array_equal(y_ref, np.ones_like(y_ref))   # divisor = real cells
    y = ops.avg_pool2d(to_format(x.astype(dtype), data_format), 3, 2, "same",
                       data_format)
    np.testing.assert_allclose(from_format(y, data_format), 1.0, rtol=1e-6)


@pytest.mark.parametrize("dtype", DTYPES, ids=["f32", "f64"])
def test_avg_pool_nan_propagates(dtype):
    x = rand(1, 4, 4, 1, seed=9)
    x[0, 1, 1, 0] = np.nan
    y_ref, _ = check_pool("avg", x, pool_size=2, strides=1, dtype=dtype)
    assert np.isnan(y_ref).sum() == 4


# ------------------------------------------------------------ misc contract


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("data_format", FORMATS)
def test_pool_1x1_window_returns_new_array(kind, data_format):
    x = to_format(rand(1, 3, 4, 2).astype(np.float32), data_format)
    fwd, bwd = getattr(ops, f"{kind}_pool2d"), getattr(ops, f"{kind}_pool2d_backward")
    y = fwd(x, 1, data_format=data_format)
    assert y is not x and not np.shares_memory(y, x)
    assert y.flags.c_contiguous and y.flags.writeable and y.dtype == np.float32
    np.testing.assert_array_equal(y, x)
    dx = bwd(y, x, 1, data_format=data_format)
    assert not np.shares_memory(dx, y) and not np.shares_memory(dx, x)
    np.testing.assert_array_equal(dx, x)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(
    "x_dtype, dy_dtype, expected",
    [
        (np.float32, np.float32, np.float32),
        (np.float64, np.float64, np.float64),
        (np.float32, np.float64, np.float64),
        (np.float64, np.float32, np.float64),
        (np.int32, np.int32, np.float32),
        (np.uint8, np.float32, np.float32),
        (np.int64, np.float64, np.float64),
        (np.bool_, np.bool_, np.float32),
        (np.float16, np.float16, np.float32),
    ],
)
def test_pool_dtype_rules(kind, x_dtype, dy_dtype, expected):
    rng = np.random.default_rng(10)
    x = rng.integers(0, 2 if x_dtype is np.bool_ else 50, (2, 4, 4, 2)).astype(x_dtype)
    fwd, bwd = getattr(ops, f"{kind}_pool2d"), getattr(ops, f"{kind}_pool2d_backward")
    y = fwd(x)
    forward_expected = np.float64 if np.dtype(x_dtype) == np.float64 else np.float32
    assert y.dtype == forward_expected
    np.testing.assert_array_equal(y, getattr(ref, f"{kind}_pool2d_ref")(x))
    dy = np.ones(y.shape, dtype=dy_dtype)
    dx = bwd(dy, x)
    assert dx.dtype == expected
    np.testing.assert_array_equal(dx, getattr(ref, f"{kind}_pool2d_backward_ref")(dy, x))


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("data_format", FORMATS)
@pytest.mark.parametrize("dtype", DTYPES, ids=["f32", "f64"])
def test_pool_zero_batch(kind, dtype, data_format):
    x = to_format(np.zeros((0, 5, 6, 3), dtype=dtype), data_format)
    fwd, bwd = getattr(ops, f"{kind}_pool2d"), getattr(ops, f"{kind}_pool2d_backward")
    y = fwd(x, (2, 3), padding="same", data_format=data_format)
    expected = (0, 3, 2, 3) if data_format == "channels_last" else (0, 3, 3, 2)
    assert y.shape == expected and y.dtype == dtype
    dx = bwd(y, x, (2, 3), padding="same", data_format=data_format)
    assert dx.shape == x.shape and dx.dtype == dtype


# -------------------------------------------------------------- hypothesis


@st.composite
def pool_configs(draw):
    ph, pw = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    strides = draw(st.one_of(st.none(), st.tuples(st.integers(1, 5), st.integers(1, 5))))
    kind = draw(st.sampled_from(["valid", "same", "explicit"]))
    if kind == "valid":
        padding, pads = "valid", ((0, 0), (0, 0))
    elif kind == "same":
        padding, pads = draw(st.sampled_from(["same", "Same"])), None
    else:
        # Each side smaller than the window, so no window is padding only.
        pads = ((draw(st.integers(0, ph - 1)), draw(st.integers(0, ph - 1))),
                (draw(st.integers(0, pw - 1)), draw(st.integers(0, pw - 1))))
        padding = pads
    sizes = []
    for axis, k in enumerate((ph, pw)):
        smallest = 1 if pads is None else max(1, k - sum(pads[axis]))
        sizes.append(draw(st.integers(smallest, smallest + 6)))
    return dict(
        shape=(draw(st.integers(1, 2)), *sizes, draw(st.integers(1, 3))),
        pool_size=(ph, pw) if ph != pw or draw(st.booleans()) else ph,
        strides=strides, padding=padding,
        values=draw(st.sampled_from(["normal", "ties", "ties_nan"])),
        seed=draw(st.integers(0, 2**32 - 1)),
    )


@settings(max_examples=200, deadline=None)
@given(cfg=pool_configs(), kind=st.sampled_from(KINDS), dtype=st.sampled_from(DTYPES),
       data_format=st.sampled_from(FORMATS))
def test_pool_hypothesis(cfg, kind, dtype, data_format):
    rng = np.random.default_rng(cfg["seed"])
    if cfg["values"] == "normal":
        x = rng.standard_normal(cfg["shape"])
    else:   # small integers: many ties, exact in float32
        x = rng.integers(-2, 3, cfg["shape"]).astype(np.float64)
        if cfg["values"] == "ties_nan":
            x[rng.random(cfg["shape"]) < 0.1] = np.nan
    check_pool(kind, x, pool_size=cfg["pool_size"], strides=cfg["strides"],
               padding=cfg["padding"], dtype=dtype, data_format=data_format)
