"""Self-tests of tests/reference.py: hand-computed numbers and brute force.

These need no fastconv. They pin the reference to numbers written here and to
a second, deliberately naive formulation (one scalar loop per output element),
so that the op tests compare the library against something trustworthy.
"""

import itertools

import numpy as np
import pytest

from reference import (
    avg_pool2d_backward_ref,
    avg_pool2d_ref,
    conv2d_backward_ref,
    conv2d_ref,
    max_pool2d_backward_ref,
    max_pool2d_ref,
    resolve_padding,
)

X33 = np.arange(1.0, 10.0).reshape(1, 3, 3, 1)          # [[1,2,3],[4,5,6],[7,8,9]]
K22 = np.array([[1.0, 2.0], [3.0, 4.0]]).reshape(2, 2, 1, 1)


def img(a):
    """2-D array -> (1, H, W, 1)."""
    a = np.asarray(a, dtype=np.float64)
    return a.reshape(1, *a.shape, 1)


# --------------------------------------------------------------- padding rule


@pytest.mark.parametrize(
    "padding, size, window, stride, dilation, expected",
    [
        ("valid", 7, 3, 2, 1, ((0, 0), (0, 0))),
        ("same", 3, 2, 2, 1, ((0, 1), (0, 1))),      # odd cell bottom/right
        ("SAME", 5, 3, 1, 1, ((1, 1), (1, 1))),
        ("Same", 4, 4, 1, 1, ((1, 2), (1, 2))),
        ("same", 7, 3, 1, 2, ((2, 2), (2, 2))),      # span 5
        ("same", 5, 1, 3, 1, ((0, 0), (0, 0))),
        ("same", 6, 3, 2, 1, ((0, 1), (0, 1))),
        ("same", 2, 5, 1, 1, ((2, 2), (2, 2))),      # window wider than input
        ("same", (6, 5), (3, 2), (2, 1), (1, 1), ((0, 1), (0, 1))),
        ("same", (4, 9), (1, 4), (3, 2), (1, 2), ((0, 0), (3, 3))),   # 8 + 7 - 9 = 6
        ("same", (4, 9), (1, 4), (3, 2), (1, 1), ((0, 0), (1, 2))),   # 8 + 4 - 9 = 3
        (2, 5, 3, 1, 1, ((2, 2), (2, 2))),
        ((1, 2), 5, 3, 1, 1, ((1, 1), (2, 2))),
        (((0, 1), (2, 3)), 5, 3, 1, 1, ((0, 1), (2, 3))),
    ],
)
def test_resolve_padding(padding, size, window, stride, dilation, expected):
    assert resolve_padding(padding, size, window, stride, dilation) == expected


def test_resolve_padding_rejects_unknown_string():
    with pytest.raises(ValueError):
        resolve_padding("full", 5, 3, 1, 1)


# ------------------------------------------------------ conv, hand computed


def test_conv_valid_3x3():
    y = conv2d_ref(X33, K22)
    np.testing.assert_array_equal(y[0, :, :, 0], [[37, 47], [67, 77]])


def test_conv_same_stride2_even_kernel_pads_bottom_right():
    # out = ceil(3/2) = 2, total padding 1 -> 0 on top/left, 1 on bottom/right.
    y = conv2d_ref(X33, K22, strides=2, padding="same")
    np.testing.assert_array_equal(y[0, :, :, 0], [[37, 21], [23, 9]])


def test_conv_explicit_asymmetric_padding():
    # One zero row on top, one zero column on the right.
    y = conv2d_ref(X33, K22, padding=((1, 0), (0, 1)))
    expected = [[3 * 1 + 4 * 2, 3 * 2 + 4 * 3, 3 * 3],
                [37, 47, 1 * 3 + 3 * 6],
                [67, 77, 1 * 6 + 3 * 9]]
    np.testing.assert_array_equal(y[0, :, :, 0], expected)


def test_conv_dilation_and_stride():
    x = img([[1.0, 2, 3, 4, 5]])
    k = np.array([1.0, 10.0]).reshape(1, 2, 1, 1)
    y = conv2d_ref(x, k, dilation=(1, 2))
    np.testing.assert_array_equal(y.ravel(), [31, 42, 53])
    y = conv2d_ref(x, k, strides=(1, 2), dilation=(1, 2))
    np.testing.assert_array_equal(y.ravel(), [31, 53])


def test_conv_groups_and_bias():
    x = np.array([[[[1.0, 2.0, 3.0, 4.0]]]])                    # (1,1,1,4)
    # groups=2: channels (0,1) -> filters (0,1), channels (2,3) -> filters (2,3)
    k = np.arange(1.0, 9.0).reshape(1, 1, 2, 4)
    y = conv2d_ref(x, k, bias=np.array([0.5, 0, 0, -1]), groups=2)
    # k[0,0] = [[1,2,3,4],[5,6,7,8]]
    expected = [1 * 1 + 2 * 5 + 0.5, 1 * 2 + 2 * 6, 3 * 3 + 4 * 7, 3 * 4 + 4 * 8 - 1]
    np.testing.assert_array_equal(y.ravel(), expected)


def test_conv_depthwise():
    x = np.array([[[[1.0, 2.0, 3.0]]]])
    k = np.array([10.0, 20.0, 30.0]).reshape(1, 1, 1, 3)
    y = conv2d_ref(x, k, groups=3)
    np.testing.assert_array_equal(y.ravel(), [10, 40, 90])


def test_conv_backward_hand():
    dy = np.ones((1, 2, 2, 1))
    dx, dk, db = conv2d_backward_ref(dy, X33, K22)
    np.testing.assert_array_equal(dx[0, :, :, 0], [[1, 3, 2], [4, 10, 6], [3, 7, 4]])
    np.testing.assert_array_equal(dk[:, :, 0, 0], [[12, 16], [24, 28]])
    np.testing.assert_array_equal(db, [4])


# --------------------------------------------------- conv, brute force


def conv2d_brute(x, k, strides, pads, dilation, groups):
    """One scalar sum per output element, padding by bounds checks."""
    N, H, W, C = x.shape
    KH, KW, Cg, F = k.shape
    Fg = F // groups
    (sh, sw), (dh, dw) = strides, dilation
    (top, bottom), (left, right) = pads
    OH = (H + top + bottom - (KH - 1) * dh - 1) // sh + 1
    OW = (W + left + right - (KW - 1) * dw - 1) // sw + 1
    y = np.zeros((N, OH, OW, F))
    for n, oh, ow, f in itertools.product(range(N), range(OH), range(OW), range(F)):
        g = f // Fg
        s = 0.0
        for i, j, c in itertools.product(range(KH), range(KW), range(Cg)):
            h = oh * sh + i * dh - top
            w = ow * sw + j * dw - left
            if 0 <= h < H and 0 <= w < W:
                s += x[n, h, w, g * Cg + c] * k[i, j, c, f]
        y[n, oh, ow, f] = s
    return y


CONV_CASES = [
    # (N, H, W, C, KH, KW, F, strides, padding, dilation, groups)
    (2, 5, 4, 3, 3, 2, 2, (1, 1), "valid", (1, 1), 1),
    (1, 6, 7, 2, 2, 2, 3, (2, 3), "same", (1, 1), 1),
    (1, 7, 6, 4, 3, 3, 4, (2, 1), "same", (2, 1), 2),
    (2, 5, 5, 3, 3, 1, 3, (1, 2), ((2, 0), (1, 3)), (1, 2), 3),
    (1, 3, 3, 1, 3, 3, 1, (1, 1), "valid", (1, 1), 1),
    (1, 4, 5, 2, 4, 4, 2, (3, 2), "same", (1, 1), 2),
]


@pytest.mark.parametrize("case", CONV_CASES)
def test_conv_ref_matches_brute_force(case):
    N, H, W, C, KH, KW, F, strides, padding, dilation, groups = case
    rng = np.random.default_rng(0)
    x = rng.standard_normal((N, H, W, C))
    k = rng.standard_normal((KH, KW, C // groups, F))
    pads = resolve_padding(padding, (H, W), (KH, KW), strides, dilation)
    y = conv2d_ref(x, k, strides=strides, padding=padding, dilation=dilation,
                   groups=groups)
    np.testing.assert_allclose(
        y, conv2d_brute(x, k, strides, pads, dilation, groups), rtol=1e-12, atol=1e-12
    )


@pytest.mark.parametrize("case", CONV_CASES)
def test_conv_backward_ref_is_adjoint(case):
    """conv is bilinear, so <conv(x, k), dy> = <x, dx> = <k, dk>."""
    N, H, W, C, KH, KW, F, strides, padding, dilation, groups = case
    rng = np.random.default_rng(1)
    x = rng.standard_normal((N, H, W, C))
    k = rng.standard_normal((KH, KW, C // groups, F))
    kwargs = dict(strides=strides, padding=padding, dilation=dilation, groups=groups)
    y = conv2d_ref(x, k, **kwargs)
    dy = rng.standard_normal(y.shape)
    dx, dk, db = conv2d_backward_ref(dy, x, k, **kwargs)
    assert dx.shape == x.shape and dk.shape == k.shape and db.shape == (F,)
    inner = np.sum(y * dy)
    np.testing.assert_allclose(np.sum(x * dx), inner, rtol=1e-12)
    np.testing.assert_allclose(np.sum(k * dk), inner, rtol=1e-12)
    np.testing.assert_allclose(db, dy.sum(axis=(0, 1, 2)), rtol=1e-12)
    # Bias gradient: d/db sum((conv + b) * dy).
    b = rng.standard_normal(F)
    yb = conv2d_ref(x, k, b, **kwargs)
    np.testing.assert_allclose(np.sum((yb - y) * dy), np.sum(b * db), rtol=1e-10)


# ---------------------------------------------------- pooling, hand computed


def test_max_and_avg_pool_2x2():
    x = img(np.arange(1.0, 17.0).reshape(4, 4))
    np.testing.assert_array_equal(max_pool2d_ref(x)[0, :, :, 0], [[6, 8], [14, 16]])
    np.testing.assert_array_equal(
        avg_pool2d_ref(x)[0, :, :, 0], [[3.5, 5.5], [11.5, 13.5]]
    )


def test_avg_pool_same_does_not_count_padding():
    y = avg_pool2d_ref(X33, 2, 2, "same")
    np.testing.assert_array_equal(y[0, :, :, 0], [[3, 4.5], [7.5, 9]])


def test_max_pool_same_padding_never_wins():
    y = max_pool2d_ref(-X33, 2, 2, "same")
    np.testing.assert_array_equal(y[0, :, :, 0], [[-1, -3], [-7, -9]])
    y = max_pool2d_ref(np.full((1, 3, 3, 1), -np.inf), 2, 2, "same")
    assert np.all(y == -np.inf)


def test_pool_strides_none_is_pool_size_and_overlap():
    x = img(np.arange(1.0, 13.0).reshape(3, 4))
    np.testing.assert_array_equal(max_pool2d_ref(x, (1, 3))[0, :, :, 0], [[3], [7], [11]])
    y = max_pool2d_ref(x, (2, 2), (1, 1))
    np.testing.assert_array_equal(y[0, :, :, 0], [[6, 7, 8], [10, 11, 12]])


def test_max_pool_nan_propagates_and_gets_gradient():
    x = img([[1.0, np.nan, 7.0], [3.0, 4.0, np.nan]])
    y = max_pool2d_ref(x, (2, 3))
    assert np.isnan(y).all()
    dx = max_pool2d_backward_ref(np.full(y.shape, 2.0), x, (2, 3))
    np.testing.assert_array_equal(dx[0, :, :, 0], [[0, 2, 0], [0, 0, 0]])


def test_max_pool_backward_ties_go_to_first():
    x = img([[5.0, 5.0, 1.0, 5.0], [5.0, 1.0, 5.0, 5.0]])
    dx = max_pool2d_backward_ref(np.array([3.0, 4.0]).reshape(1, 1, 2, 1), x)
    np.testing.assert_array_equal(dx[0, :, :, 0], [[3, 0, 0, 4], [0, 0, 0, 0]])
    # A tie between rows is resolved row-major: (0, 1) before (1, 0).
    x = img([[1.0, 9.0], [9.0, 9.0]])
    dx = max_pool2d_backward_ref(np.ones((1, 1, 1, 1)), x)
    np.testing.assert_array_equal(dx[0, :, :, 0], [[0, 1], [0, 0]])


def test_max_pool_backward_overlapping_windows_accumulate():
    x = img([[1.0, 3.0, 2.0]])
    dx = max_pool2d_backward_ref(np.array([1.0, 10.0]).reshape(1, 1, 2, 1), x,
                                 (1, 2), 1)
    np.testing.assert_array_equal(dx.ravel(), [0, 11, 0])


def test_avg_pool_backward_same_hand():
    dy = np.array([[1.0, 2.0], [3.0, 4.0]]).reshape(1, 2, 2, 1)
    dx = avg_pool2d_backward_ref(dy, X33, 2, 2, "same")
    np.testing.assert_array_equal(
        dx[0, :, :, 0], [[0.25, 0.25, 1], [0.25, 0.25, 1], [1.5, 1.5, 4]]
    )


# --------------------------------------------------- pooling, brute force

POOL_CASES = [
    # (N, H, W, C, pool, strides, padding)
    (2, 5, 6, 3, (2, 2), None, "valid"),
    (1, 5, 6, 2, (3, 2), (1, 2), "same"),
    (2, 7, 4, 1, (2, 3), (3, 1), "same"),
    (1, 4, 4, 2, (4, 4), None, "valid"),
    (1, 6, 5, 2, (3, 3), (2, 2), ((1, 2), (0, 2))),
    (1, 5, 5, 1, (2, 2), (3, 3), "valid"),
]


def pool_brute(x, pool, strides, padding, kind):
    N, H, W, C = x.shape
    strides = pool if strides is None else strides
    (top, bottom), (left, right) = resolve_padding(padding, (H, W), pool, strides, 1)
    OH = (H + top + bottom - pool[0]) // strides[0] + 1
    OW = (W + left + right - pool[1]) // strides[1] + 1
    y = np.zeros((N, OH, OW, C))
    for n, oh, ow, c in itertools.product(range(N), range(OH), range(OW), range(C)):
        vals = [
            x[n, oh * strides[0] + i - top, ow * strides[1] + j - left, c]
            for i in range(pool[0])
            for j in range(pool[1])
            if 0 <= oh * strides[0] + i - top < H and 0 <= ow * strides[1] + j - left < W
        ]
        y[n, oh, ow, c] = max(vals) if kind == "max" else sum(vals) / len(vals)
    return y


@pytest.mark.parametrize("case", POOL_CASES)
def test_pool_ref_matches_brute_force(case):
    N, H, W, C, pool, strides, padding = case
    x = np.random.default_rng(2).standard_normal((N, H, W, C))
    for kind, ref in (("max", max_pool2d_ref), ("avg", avg_pool2d_ref)):
        np.testing.assert_allclose(
            ref(x, pool, strides, padding),
            pool_brute(x, pool, strides, padding, kind),
            rtol=1e-12, atol=1e-14,
        )


@pytest.mark.parametrize("case", POOL_CASES)
def test_pool_backward_ref_is_adjoint(case):
    """avg pooling is linear, max pooling is x[argmax]: both give <y, dy> = <x, dx>."""
    N, H, W, C, pool, strides, padding = case
    rng = np.random.default_rng(3)
    x = rng.standard_normal((N, H, W, C))
    for fwd, bwd in ((max_pool2d_ref, max_pool2d_backward_ref),
                     (avg_pool2d_ref, avg_pool2d_backward_ref)):
        y = fwd(x, pool, strides, padding)
        dy = rng.standard_normal(y.shape)
        dx = bwd(dy, x, pool, strides, padding)
        assert dx.shape == x.shape
        np.testing.assert_allclose(np.sum(x * dx), np.sum(y * dy), rtol=1e-12)
