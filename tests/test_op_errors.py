"""Bad arguments to fastconv.ops raise ValueError/TypeError naming the argument.

The exact wording is the library's; these tests match only on the argument
name (API.md: messages name the argument and the shapes involved).
"""

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from fastconv import ops
from opcheck import assert_close
import reference as ref

X = np.zeros((2, 6, 6, 4), dtype=np.float32)      # NHWC
K = np.zeros((3, 3, 4, 5), dtype=np.float32)
B = np.zeros((5,), dtype=np.float32)
DY = np.zeros((2, 4, 4, 5), dtype=np.float32)     # conv2d(X, K) output
POOL_DY = np.zeros((2, 3, 3, 4), dtype=np.float32)

X_NAME = r"\bx\b"   # the argument named x, not any word containing an x


def conv(**kw):
    kw.pop("dy", None)
    return ops.conv2d(kw.pop("x", X), kw.pop("kernel", K), kw.pop("bias", None), **kw)


def conv_bwd(**kw):
    return ops.conv2d_backward(kw.pop("dy", DY), kw.pop("x", X), kw.pop("kernel", K),
                               **kw)


def pool_calls(kind):
    fwd, bwd = getattr(ops, f"{kind}_pool2d"), getattr(ops, f"{kind}_pool2d_backward")
    return [
        lambda **kw: fwd(kw.pop("x", X), **kw),
        lambda **kw: bwd(kw.pop("dy", POOL_DY), kw.pop("x", X), **kw),
    ]


CONV_CALLS = [conv, conv_bwd]
POOL_CALLS = pool_calls("max") + pool_calls("avg")
ALL_CALLS = CONV_CALLS + POOL_CALLS
CALL_IDS = ["conv2d", "conv2d_backward"]
POOL_IDS = ["max_pool2d", "max_pool2d_backward", "avg_pool2d", "avg_pool2d_backward"]


# ------------------------------------------------------------------ ndim


@pytest.mark.parametrize("call", ALL_CALLS, ids=CALL_IDS + POOL_IDS)
@pytest.mark.parametrize("shape", [(6, 6, 4), (1, 2, 6, 6, 4), (), (4,)])
def test_x_wrong_ndim(call, shape):
    with pytest.raises(ValueError, match=X_NAME):
        call(x=np.zeros(shape, dtype=np.float32))


@pytest.mark.parametrize("call", CONV_CALLS, ids=CALL_IDS)
@pytest.mark.parametrize("shape", [(3, 3, 4), (1, 3, 3, 4, 5), (5,)])
def test_kernel_wrong_ndim(call, shape):
    with pytest.raises(ValueError, match="kernel"):
        call(kernel=np.zeros(shape, dtype=np.float32))


@pytest.mark.parametrize("call", [conv_bwd] + POOL_CALLS[1::2],
                         ids=["conv2d_backward", "max_pool2d_backward",
                              "avg_pool2d_backward"])
@pytest.mark.parametrize("shape", [(4, 4, 5), (1, 2, 4, 4, 5), ()])
def test_dy_wrong_ndim(call, shape):
    with pytest.raises(ValueError, match="dy"):
        call(dy=np.zeros(shape, dtype=np.float32))


def test_shape_errors_mention_the_shapes():
    with pytest.raises(ValueError) as info:
        conv(x=np.zeros((6, 6, 4)))
    assert "(6, 6, 4)" in str(info.value)
    with pytest.raises(ValueError) as info:
        conv(kernel=np.zeros((3, 3, 3, 5)))
    message = str(info.value)
    assert "(3, 3, 3, 5)" in message or "(2, 6, 6, 4)" in message, message


# ------------------------------------------------------ channels and groups


@pytest.mark.parametrize("call", CONV_CALLS, ids=CALL_IDS)
@pytest.mark.parametrize(
    "x_channels, kernel_in, groups",
    [(4, 3, 1), (4, 5, 1), (4, 4, 2), (4, 1, 2), (6, 3, 3), (4, 1, 1)],
)
def test_channel_mismatch(call, x_channels, kernel_in, groups):
    x = np.zeros((2, 6, 6, x_channels), dtype=np.float32)
    k = np.zeros((3, 3, kernel_in, 6), dtype=np.float32)
    with pytest.raises(ValueError, match=r"kernel|channel|groups"):
        call(x=x, kernel=k, groups=groups, dy=np.zeros((2, 4, 4, 6), np.float32))


@pytest.mark.parametrize("call", CONV_CALLS, ids=CALL_IDS)
def test_channel_mismatch_channels_first(call):
    x = np.zeros((2, 6, 6, 4), dtype=np.float32)   # NCHW: C = 6, not 4
    with pytest.raises(ValueError, match=r"kernel|channel"):
        call(x=x, data_format="channels_first", dy=np.zeros((2, 5, 4, 2), np.float32))


@pytest.mark.parametrize("call", CONV_CALLS, ids=CALL_IDS)
def test_groups_not_dividing_channels(call):
    # C = 6, groups = 4: 6 % 4 != 0 (kernel in-channels 6 // 4 = 1 would not fit).
    x = np.zeros((1, 4, 4, 6), dtype=np.float32)
    k = np.zeros((1, 1, 1, 8), dtype=np.float32)
    with pytest.raises(ValueError, match="groups"):
        call(x=x, kernel=k, groups=4, dy=np.zeros((1, 4, 4, 8), np.float32))


@pytest.mark.parametrize("call", CONV_CALLS, ids=CALL_IDS)
def test_groups_not_dividing_filters(call):
    x = np.zeros((1, 4, 4, 4), dtype=np.float32)
    k = np.zeros((1, 1, 2, 5), dtype=np.float32)    # C // groups = 2, but F = 5
    with pytest.raises(ValueError, match="groups"):
        call(x=x, kernel=k, groups=2, dy=np.zeros((1, 4, 4, 5), np.float32))


@pytest.mark.parametrize("call", CONV_CALLS, ids=CALL_IDS)
@pytest.mark.parametrize("groups", [0, -1])
def test_groups_not_positive(call, groups):
    with pytest.raises(ValueError, match="groups"):
        call(groups=groups)


@pytest.mark.parametrize("call", CONV_CALLS, ids=CALL_IDS)
@pytest.mark.parametrize("groups", [1.5, "1", True, None])
def test_groups_wrong_type(call, groups):
    with pytest.raises((TypeError, ValueError), match="groups"):
        call(groups=groups)


# ------------------------------------------------ strides, dilation, pool_size

BAD_VALUES = [0, -1, (1, 0), (0, 1), (-2, 1), (1, 2, 3), (), (1,)]
BAD_TYPES = [1.5, (1.0, 2.0), (1, 1.5), True, (True, 1), "2", None, [[1], [1]]]


@pytest.mark.parametrize("call", ALL_CALLS, ids=CALL_IDS + POOL_IDS)
@pytest.mark.parametrize("value", BAD_VALUES, ids=repr)
def test_strides_bad_value(call, value):
    with pytest.raises(ValueError, match="strides"):
        call(strides=value)


@pytest.mark.parametrize("call", ALL_CALLS, ids=CALL_IDS + POOL_IDS)
@pytest.mark.parametrize("value", [v for v in BAD_TYPES if v is not None], ids=repr)
def test_strides_bad_type(call, value):
    with pytest.raises((TypeError, ValueError), match="strides"):
        call(strides=value)


@pytest.mark.parametrize("call", CONV_CALLS, ids=CALL_IDS)
def test_conv_strides_none_rejected(call):
    # None means "= pool_size" for pooling only.
    with pytest.raises((TypeError, ValueError), match="strides"):
        call(strides=None)


@pytest.mark.parametrize("call", CONV_CALLS, ids=CALL_IDS)
@pytest.mark.parametrize("value", BAD_VALUES, ids=repr)
def test_dilation_bad_value(call, value):
    with pytest.raises(ValueError, match="dilation"):
        call(dilation_rate=value)


@pytest.mark.parametrize("call", CONV_CALLS, ids=CALL_IDS)
@pytest.mark.parametrize("value", BAD_TYPES, ids=repr)
def test_dilation_bad_type(call, value):
    with pytest.raises((TypeError, ValueError), match="dilation"):
        call(dilation_rate=value)


@pytest.mark.parametrize("call", POOL_CALLS, ids=POOL_IDS)
@pytest.mark.parametrize("value", BAD_VALUES, ids=repr)
def test_pool_size_bad_value(call, value):
    with pytest.raises(ValueError, match="pool_size"):
        call(pool_size=value)


@pytest.mark.parametrize("call", POOL_CALLS, ids=POOL_IDS)
@pytest.mark.parametrize("value", BAD_TYPES, ids=repr)
def test_pool_size_bad_type(call, value):
    with pytest.raises((TypeError, ValueError), match="pool_size"):
        call(pool_size=value)


# ---------------------------------------------------- padding, data_format


@pytest.mark.parametrize("call", ALL_CALLS, ids=CALL_IDS + POOL_IDS)
@pytest.mark.parametrize("value", ["full", "causal", "", "valid ", -1, (1, -1),
                                   ((0, 1), (-1, 0)), ((-1, 0), (0, 0)), (1, 2, 3),
                                   ((1, 2, 3), (0, 0)), ((1,), (0, 0))], ids=repr)
def test_padding_bad_value(call, value):
    with pytest.raises(ValueError, match="padding"):
        call(padding=value)


@pytest.mark.parametrize("call", ALL_CALLS, ids=CALL_IDS + POOL_IDS)
@pytest.mark.parametrize("value", [1.5, (1.0, 1), ((0, 0.5), (0, 0)), None],
                         ids=repr)
def test_padding_bad_type(call, value):
    with pytest.raises((TypeError, ValueError), match="padding"):
        call(padding=value)


@pytest.mark.parametrize("call", ALL_CALLS, ids=CALL_IDS + POOL_IDS)
@pytest.mark.parametrize("value", ["NHWC", "channels", "", "channel_last", None, 1])
def test_data_format_bad(call, value):
    with pytest.raises((ValueError, TypeError), match="data_format"):
        call(data_format=value)


# ------------------------------------------------- window larger than input


@pytest.mark.parametrize("call", CONV_CALLS, ids=CALL_IDS)
@pytest.mark.parametrize(
    "kernel_hw, kw",
    [
        ((7, 3), {}),
        ((3, 7), {}),
        ((3, 3), dict(dilation_rate=3)),            # span 7 > 6
        ((3, 3), dict(dilation_rate=(1, 4))),
        ((9, 9), dict(padding=1)),                  # 8 < 9
        ((9, 3), dict(padding=((1, 1), (0, 0)))),
    ],
)
def test_kernel_larger_than_padded_input(call, kernel_hw, kw):
    k = np.zeros(kernel_hw + (4, 5), dtype=np.float32)
    with pytest.raises(ValueError, match=r"kernel|dilation|input|\bx\b"):
        call(kernel=k, **kw)


@pytest.mark.parametrize("call", POOL_CALLS, ids=POOL_IDS)
@pytest.mark.parametrize("kw", [dict(pool_size=7), dict(pool_size=(2, 7)),
                                dict(pool_size=9, padding=1)])
def test_pool_window_larger_than_padded_input(call, kw):
    with pytest.raises(ValueError, match=r"pool_size|input|\bx\b"):
        call(**kw)


@pytest.mark.parametrize("call", ALL_CALLS, ids=CALL_IDS + POOL_IDS)
def test_empty_spatial_input(call):
    with pytest.raises(ValueError, match=r"kernel|pool_size|input|\bx\b"):
        call(x=np.zeros((2, 0, 6, 4), dtype=np.float32))


# ------------------------------------------------------------------- dtypes

BAD_DTYPES = [
    np.zeros((2, 6, 6, 4), dtype=np.complex64),
    np.zeros((2, 6, 6, 4), dtype=np.complex128),
    np.zeros((2, 6, 6, 4), dtype=object),
    np.full((2, 6, 6, 4), "a"),
    np.full((2, 6, 6, 4), b"a"),
]
DTYPE_IDS = ["complex64", "complex128", "object", "str", "bytes"]


@pytest.mark.parametrize("call", ALL_CALLS, ids=CALL_IDS + POOL_IDS)
@pytest.mark.parametrize("bad", BAD_DTYPES, ids=DTYPE_IDS)
def test_x_bad_dtype(call, bad):
    with pytest.raises(TypeError, match=X_NAME):
        call(x=bad)


@pytest.mark.parametrize("call", CONV_CALLS, ids=CALL_IDS)
@pytest.mark.parametrize("bad", BAD_DTYPES, ids=DTYPE_IDS)
def test_kernel_bad_dtype(call, bad):
    with pytest.raises(TypeError, match="kernel"):
        call(kernel=bad.reshape(-1)[:180].reshape(3, 3, 4, 5))


@pytest.mark.parametrize("bad", BAD_DTYPES, ids=DTYPE_IDS)
def test_bias_bad_dtype(bad):
    with pytest.raises(TypeError, match="bias"):
        conv(bias=bad.reshape(-1)[:5])


@pytest.mark.parametrize("call", [conv_bwd] + POOL_CALLS[1::2],
                         ids=["conv2d_backward", "max_pool2d_backward",
                              "avg_pool2d_backward"])
@pytest.mark.parametrize("bad", BAD_DTYPES, ids=DTYPE_IDS)
def test_dy_bad_dtype(call, bad):
    shape = DY.shape if call is conv_bwd else POOL_DY.shape
    with pytest.raises(TypeError, match="dy"):
        call(dy=bad.reshape(-1)[:int(np.prod(shape))].reshape(shape))


@pytest.mark.parametrize("call", ALL_CALLS, ids=CALL_IDS + POOL_IDS)
def test_x_none_or_ragged(call):
    with pytest.raises((TypeError, ValueError), match=X_NAME):
        call(x=None)
    with pytest.raises((TypeError, ValueError), match=X_NAME):
        call(x=[[[[1.0]]], [[[1.0, 2.0]]]])


# -------------------------------------------------------------- bias and dy


@pytest.mark.parametrize("shape", [(4,), (6,), (1, 5), (5, 1), (), (1,)])
def test_bias_wrong_shape(shape):
    with pytest.raises(ValueError, match="bias"):
        conv(bias=np.zeros(shape, dtype=np.float32))


@pytest.mark.parametrize(
    "shape", [(2, 4, 4, 4), (2, 4, 4, 6), (2, 3, 4, 5), (2, 4, 5, 5), (1, 4, 4, 5),
              (3, 4, 4, 5), (2, 5, 4, 4)],
)
def test_conv_dy_wrong_shape(shape):
    with pytest.raises(ValueError, match="dy"):
        conv_bwd(dy=np.zeros(shape, dtype=np.float32))


def test_conv_dy_wrong_shape_channels_first():
    x = np.zeros((2, 4, 6, 6), dtype=np.float32)     # NCHW
    ok = np.zeros((2, 5, 4, 4), dtype=np.float32)
    ops.conv2d_backward(ok, x, K, data_format="channels_first")
    with pytest.raises(ValueError, match="dy"):
        ops.conv2d_backward(DY, x, K, data_format="channels_first")   # NHWC dy


@pytest.mark.parametrize("call", POOL_CALLS[1::2], ids=POOL_IDS[1::2])
@pytest.mark.parametrize("shape", [(2, 3, 3, 3), (2, 2, 3, 4), (2, 3, 4, 4), (1, 3, 3, 4),
                                   (2, 6, 6, 4)])
def test_pool_dy_wrong_shape(call, shape):
    with pytest.raises(ValueError, match="dy"):
        call(dy=np.zeros(shape, dtype=np.float32))


# ----------------------------------------------------- absurd sizes, overflow

TINY = np.zeros((1, 1, 1, 1), dtype=np.float32)
TINY_K = np.zeros((1, 1, 1, 1), dtype=np.float32)
SIZE_ERRORS = (ValueError, MemoryError)


@pytest.mark.parametrize("padding", [2**24, 2**30, 2**40, ((2**62, 2**62), (0, 0)),
                                     ((0, 0), (2**40, 2**40)), 2**62])
def test_conv_huge_padding(padding):
    """Outputs of >= 2**48 elements (or sizes beyond int64) must be refused."""
    with pytest.raises(SIZE_ERRORS):
        ops.conv2d(TINY, TINY_K, padding=padding)
    with pytest.raises(SIZE_ERRORS):
        ops.conv2d(TINY, TINY_K, padding=padding, data_format="channels_first")


def test_conv_workspace_beyond_the_address_space_is_a_clear_error():
    """A first layer's padded copy sized by huge strides and padding (found in review: the
    product overflowed size_t inside the wrapper and surfaced as a bare OverflowError)."""
    with pytest.raises(MemoryError, match="kernel workspace .* larger than memory can address"):
        ops.conv2d(TINY, TINY_K, strides=(8193, 281406274007040),
                   padding=((0, 8193), (0, 281406274007040)))


@pytest.mark.parametrize("kind", ["max", "avg"])
@pytest.mark.parametrize("padding", [((2**24, 2**24), (2**24, 2**24)), 2**40, 2**62])
def test_pool_huge_padding(kind, padding):
    with pytest.raises(SIZE_ERRORS):
        getattr(ops, f"{kind}_pool2d")(TINY, 1, 1, padding)


def test_conv_padding_beyond_int64():
    with pytest.raises((ValueError, MemoryError, OverflowError, TypeError)):
        ops.conv2d(TINY, TINY_K, padding=2**70)


DILATION_OVERFLOW = [2**62, 2**63 - 2, 2**63 - 1, (1, 2**62), (2**63 - 1, 1)]


@pytest.mark.parametrize("dilation", DILATION_OVERFLOW, ids=repr)
def test_conv_dilation_overflow_valid(dilation):
    """(k - 1) * dilation overflows int64: must not wrap to a small span."""
    k = np.arange(1.0, 10.0, dtype=np.float32).reshape(3, 3, 1, 1)
    x = np.arange(1.0, 17.0, dtype=np.float32).reshape(1, 4, 4, 1)
    with pytest.raises(SIZE_ERRORS):
        ops.conv2d(x, k, dilation_rate=dilation)
    with pytest.raises(SIZE_ERRORS):
        ops.conv2d_backward(np.ones((1, 2, 2, 1)), x, k, dilation_rate=dilation)


@pytest.mark.parametrize("dilation", DILATION_OVERFLOW, ids=repr)
def test_conv_dilation_overflow_same(dilation):
    """"same" is well defined here: only the kernel centre ever touches x, so
    y = x * k[1, 1], dx = dy * k[1, 1], dkernel = sum(x * dy) at the centre, 0
    elsewhere. The padding exceeds int64, so refusing is fine too; garbage is not."""
    k = np.arange(1.0, 10.0, dtype=np.float32).reshape(3, 3, 1, 1)
    x = np.arange(1.0, 17.0, dtype=np.float32).reshape(1, 4, 4, 1)
    dy = np.ones_like(x)
    try:
        y = ops.conv2d(x, k, dilation_rate=dilation, padding="same")
    except SIZE_ERRORS:
        pass
    else:
        np.testing.assert_array_equal(y, x * 5.0)
    try:
        dx, dk, db = ops.conv2d_backward(dy, x, k, dilation_rate=dilation,
                                         padding="same")
    except SIZE_ERRORS:
        return
    dk_expected = np.zeros_like(k)
    dk_expected[1, 1] = x.sum()
    np.testing.assert_array_equal(dx, dy * 5.0)
    np.testing.assert_array_equal(dk, dk_expected)
    np.testing.assert_array_equal(db, [16.0])


def test_conv_huge_broadcast_input():
    # 2**50 elements viewed from one float: converting or computing must fail cleanly.
    x = np.broadcast_to(TINY, (2**20, 2**10, 2**10, 2**10))
    k = np.zeros((1, 1, 2**10, 1), dtype=np.float32)
    with pytest.raises(SIZE_ERRORS):
        ops.conv2d(x, k)


def test_conv_huge_output_channels():
    # A tiny input with a broadcast kernel of 2**48 filters.
    k = np.broadcast_to(TINY_K, (1, 1, 1, 2**48))
    with pytest.raises(SIZE_ERRORS):
        ops.conv2d(TINY, k)


def test_pool_huge_broadcast_input():
    x = np.broadcast_to(TINY, (2**16, 2**12, 2**12, 2**8))
    with pytest.raises(SIZE_ERRORS):
        ops.max_pool2d(x, 1)


def test_library_still_works_after_errors():
    y = ops.conv2d(np.ones((1, 3, 3, 1)), np.ones((2, 2, 1, 1)))
    np.testing.assert_array_equal(y, np.full((1, 2, 2, 1), 4.0))


# ------------------------------------------------ fuzz: valid or a clean error

SMALL = st.integers(-1, 4)
PADDINGS = st.one_of(
    st.sampled_from(["valid", "same", "VALID", "Same", "bogus"]),
    st.integers(-1, 4),
    st.tuples(st.integers(-1, 3), st.integers(-1, 3)),
    st.tuples(st.tuples(st.integers(-1, 3), st.integers(0, 3)),
              st.tuples(st.integers(0, 3), st.integers(-1, 3))),
)


def _pairs(v):
    return (v, v) if isinstance(v, int) else v


def _padding_ok(p):
    if isinstance(p, str):
        return p.lower() in ("valid", "same")
    return all(int(v) >= 0 for v in np.array(p).ravel())


@settings(max_examples=300, deadline=None)
@given(N=st.integers(0, 2), H=st.integers(1, 6), W=st.integers(1, 6),
       C=st.integers(1, 4), KH=st.integers(1, 7), KW=st.integers(1, 7),
       Cin=st.integers(1, 4), F=st.integers(1, 4), groups=st.integers(-1, 4),
       strides=st.one_of(SMALL, st.tuples(SMALL, SMALL)),
       dilation=st.one_of(SMALL, st.tuples(SMALL, SMALL)), padding=PADDINGS,
       data_format=st.sampled_from(["channels_last", "channels_first"]))
def test_conv_fuzz_valid_or_clean_error(N, H, W, C, KH, KW, Cin, F, groups, strides,
                                        dilation, padding, data_format):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((N, H, W, C))
    k = rng.standard_normal((KH, KW, Cin, F))
    s, d = _pairs(strides), _pairs(dilation)
    valid = (groups >= 1 and C == Cin * groups and F % groups == 0
             and min(s) >= 1 and min(d) >= 1 and _padding_ok(padding))
    if valid:
        (t, b), (l, r) = ref.resolve_padding(padding, (H, W), (KH, KW), s, d)
        valid = (H + t + b >= (KH - 1) * d[0] + 1) and (W + l + r >= (KW - 1) * d[1] + 1)
    kw = dict(strides=strides, padding=padding, dilation_rate=dilation, groups=groups,
              data_format=data_format)
    xin = np.transpose(x, (0, 3, 1, 2)) if data_format == "channels_first" else x
    if not valid:
        with pytest.raises((ValueError, TypeError)):
            ops.conv2d(xin, k, **kw)
        return
    y = ops.conv2d(xin, k, **kw)
    y_ref = ref.conv2d_ref(x, k, None, s, padding, d, groups)
    if data_format == "channels_first":
        y = np.transpose(y, (0, 2, 3, 1))
    assert_close(y, y_ref, np.float64, "conv2d")
    dy = rng.standard_normal(y_ref.shape)
    dy_in = np.transpose(dy, (0, 3, 1, 2)) if data_format == "channels_first" else dy
    dx, dk, db = ops.conv2d_backward(dy_in, xin, k, **kw)
    dx_ref, dk_ref, db_ref = ref.conv2d_backward_ref(dy, x, k, s, padding, d, groups)
    if data_format == "channels_first":
        dx = np.transpose(dx, (0, 2, 3, 1))
    assert_close(dx, dx_ref, np.float64, "dx")
    assert_close(dk, dk_ref, np.float64, "dkernel")
    assert_close(db, db_ref, np.float64, "dbias")


@settings(max_examples=300, deadline=None)
@given(N=st.integers(0, 2), H=st.integers(1, 6), W=st.integers(1, 6),
       C=st.integers(1, 3), pool=st.one_of(SMALL, st.tuples(SMALL, SMALL)),
       strides=st.one_of(st.none(), SMALL, st.tuples(SMALL, SMALL)),
       padding=PADDINGS, kind=st.sampled_from(["max", "avg"]))
def test_pool_fuzz_valid_or_clean_error(N, H, W, C, pool, strides, padding, kind):
    x = np.random.default_rng(1).standard_normal((N, H, W, C))
    p = _pairs(pool)
    s = p if strides is None else _pairs(strides)
    fwd, bwd = getattr(ops, f"{kind}_pool2d"), getattr(ops, f"{kind}_pool2d_backward")
    valid = min(p) >= 1 and min(s) >= 1 and _padding_ok(padding)
    if valid:
        (t, b), (l, r) = ref.resolve_padding(padding, (H, W), p, s, 1)
        valid = H + t + b >= p[0] and W + l + r >= p[1]
    if not valid:
        with pytest.raises((ValueError, TypeError)):
            fwd(x, pool, strides, padding)
        return
    try:
        y_ref = getattr(ref, f"{kind}_pool2d_ref")(x, pool, strides, padding)
    except ValueError:
        # A window made of padding only: API.md does not define it (fastconv
        # refuses it); only require that nothing crashes.
        try:
            fwd(x, pool, strides, padding)
        except ValueError:
            pass
        return
    y = fwd(x, pool, strides, padding)
    assert_close(y, y_ref, np.float64, kind)
    dy = np.cos(np.arange(y.size)).reshape(y.shape)
    assert_close(bwd(dy, x, pool, strides, padding),
                 getattr(ref, f"{kind}_pool2d_backward_ref")(dy, x, pool, strides,
                                                             padding),
                 np.float64, kind + " backward")
