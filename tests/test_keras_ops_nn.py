"""keras.ops.nn in fastconv: activations against their formulas written out in float64,
conv/pooling against tests/reference.py, cross-entropies and statistics computed by hand;
every differentiable op's gradient against float64 finite differences."""

import math

import numpy as np
import pytest
import reference as ref
from gradcheck import check_gradients

from fastconv import ops
from fastconv.autodiff import GradientTape, Variable

rng = np.random.default_rng(1)
X = rng.uniform(-4, 4, (3, 5))
X[0, :3] = [-3.5, 0.3, 3.5]  # values on each side of the kinks, none on them


def _sigmoid(x):
    return 1 / (1 + np.exp(-x))


def _gelu_exact(x):
    return x * 0.5 * (1 + np.vectorize(math.erf)(x / math.sqrt(2)))


ALPHA, SCALE = 1.6732632423543772848170429916717, 1.0507009873554804934193349852946
ACTIVATIONS = {  # name: (call, float64 formula)
    "relu": (ops.relu, lambda x: np.where(x > 0, x, 0)),
    "relu6": (ops.relu6, lambda x: np.minimum(np.where(x > 0, x, 0), 6)),
    "sigmoid": (ops.sigmoid, _sigmoid),
    "hard_sigmoid": (ops.hard_sigmoid, lambda x: np.minimum(np.maximum(x + 3, 0), 6) / 6),
    "hard_silu": (ops.hard_silu, lambda x: x * np.minimum(np.maximum(x + 3, 0), 6) / 6),
    "softplus": (ops.softplus, lambda x: np.log1p(np.exp(x))),
    "softsign": (ops.softsign, lambda x: x / (1 + np.abs(x))),
    "silu": (ops.silu, lambda x: x * _sigmoid(x)),
    "swish": (ops.swish, lambda x: x * _sigmoid(x)),
    "gelu": (ops.gelu, lambda x: 0.5 * x * (1 + np.tanh(math.sqrt(2 / math.pi)
                                                      * (x + 0.044715 * x ** 3)))),
    "gelu_exact": (lambda x: ops.gelu(x, approximate=False), _gelu_exact),
    "elu": (ops.elu, lambda x: np.where(x > 0, x, np.exp(x) - 1)),
    "elu_alpha": (lambda x: ops.elu(x, alpha=0.5), lambda x: np.where(x > 0, x, 0.5 * (np.exp(x) - 1))),
    "selu": (ops.selu, lambda x: SCALE * np.where(x > 0, x, ALPHA * (np.exp(x) - 1))),
    "celu": (lambda x: ops.celu(x, alpha=2.0),
             lambda x: np.where(x > 0, x, 2.0 * (np.exp(x / 2.0) - 1))),
    "leaky_relu": (ops.leaky_relu, lambda x: np.where(x > 0, x, 0.2 * x)),
    "log_sigmoid": (ops.log_sigmoid, lambda x: np.log(_sigmoid(x))),
    "softmax": (ops.softmax, lambda x: np.exp(x) / np.exp(x).sum(-1, keepdims=True)),
    "softmax_axis0": (lambda x: ops.softmax(x, axis=0),
                      lambda x: np.exp(x) / np.exp(x).sum(0, keepdims=True)),
    "log_softmax": (ops.log_softmax, lambda x: x - np.log(np.exp(x).sum(-1, keepdims=True))),
    "glu": (lambda x: ops.glu(x[:, :4]), lambda x: x[:, :2] * _sigmoid(x[:, 2:4])),
    "hard_tanh": (ops.hard_tanh, lambda x: np.minimum(np.maximum(x, -1), 1)),
    "tanh_shrink": (ops.tanh_shrink, lambda x: x - np.tanh(x)),
    "soft_shrink": (ops.soft_shrink, lambda x: np.sign(x) * np.maximum(np.abs(x) - 0.5, 0)),
    "hard_shrink": (ops.hard_shrink, lambda x: np.where(np.abs(x) > 0.5, x, 0)),
    "squareplus": (ops.squareplus, lambda x: (x + np.sqrt(x * x + 4)) / 2),
    "sparse_plus": (ops.sparse_plus, lambda x: np.where(x <= -1, 0, np.where(x < 1, (x + 1) ** 2 / 4, x))),
    "threshold": (lambda x: ops.threshold(x, 1.0, -2.0), lambda x: np.where(x > 1, x, -2.0)),
}


@pytest.mark.parametrize("name", ACTIVATIONS)
def test_activation_forward_and_gradient(name):
    op, formula = ACTIVATIONS[name]
    np.testing.assert_allclose(op(X), formula(X), rtol=1e-12, atol=1e-15)
    check_gradients(op, X)


def test_activations_keep_float32_and_compute_ints_in_float32():
    assert ops.gelu(X.astype(np.float32)).dtype == np.float32
    assert ops.sigmoid(np.arange(3)).dtype == np.float32
    assert ops.softmax(np.float32([1e4, 0.0])).tolist() == [1.0, 0.0]  # no overflow
    assert ops.sigmoid(np.array([-1e4])).tolist() == [0.0]


# ------------------------------------------------------------------ conv and pooling
IMAGES = rng.standard_normal((2, 5, 6, 4))


@pytest.mark.parametrize("strides,padding,dilation,groups", [
    (1, "valid", 1, 1), (2, "same", 1, 1), (1, "same", 2, 2), ((2, 1), "valid", 1, 4)])
def test_conv_matches_the_reference_and_differentiates(strides, padding, dilation, groups):
    kernel = rng.standard_normal((3, 2, 4 // groups, 4))
    got = ops.conv(IMAGES, kernel, strides=strides, padding=padding, dilation_rate=dilation)
    want = ref.conv2d_ref(IMAGES, kernel, strides=strides, padding=padding, dilation=dilation,
                          groups=groups)
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)
    check_gradients(lambda x, k: ops.conv(x, k, strides, padding, None, dilation),
                    IMAGES[:1], kernel, rtol=1e-5, atol=1e-8)


def test_conv_gradient_of_the_kernel_alone():
    kernel = Variable(rng.standard_normal((3, 3, 4, 2)))
    with GradientTape() as tape:
        loss = ops.sum(ops.conv(IMAGES, kernel, padding="same") ** 2)
    dy = 2 * ref.conv2d_ref(IMAGES, kernel.numpy(), padding="same")
    _, want, _ = ref.conv2d_backward_ref(dy, IMAGES, kernel.numpy(), padding="same")
    np.testing.assert_allclose(tape.gradient(loss, kernel), want, rtol=1e-10)


def test_conv_channels_first_and_1d():
    kernel = rng.standard_normal((3, 3, 4, 2))
    first = ops.conv(IMAGES.transpose(0, 3, 1, 2), kernel, padding="same",
                     data_format="channels_first")
    np.testing.assert_allclose(first.transpose(0, 2, 3, 1),
                               ref.conv2d_ref(IMAGES, kernel, padding="same"), rtol=1e-12)
    signal, kernel1d = IMAGES[:, 0], rng.standard_normal((3, 4, 2))  # (N, W, C), (KW, C, F)
    got = ops.conv(signal, kernel1d, strides=2, padding="same")
    want = ref.conv2d_ref(signal[:, None], kernel1d[None], strides=(1, 2), padding="same")[:, 0]
    np.testing.assert_allclose(got, want, rtol=1e-12)
    check_gradients(lambda x, k: ops.conv(x, k, 2, "same"), signal, kernel1d,
                    rtol=1e-5, atol=1e-8)


def test_depthwise_and_separable_conv():
    depthwise = rng.standard_normal((2, 2, 4, 3))  # depth multiplier 3
    got = ops.depthwise_conv(IMAGES, depthwise, padding="same")
    for c in range(4):
        want = ref.conv2d_ref(IMAGES[..., c:c + 1], depthwise[:, :, c:c + 1, :], padding="same")
        np.testing.assert_allclose(got[..., 3 * c:3 * c + 3], want, rtol=1e-12, atol=1e-12)
    pointwise = rng.standard_normal((1, 1, 12, 5))
    np.testing.assert_allclose(ops.separable_conv(IMAGES, depthwise, pointwise, padding="same"),
                               ref.conv2d_ref(got, pointwise), rtol=1e-12, atol=1e-12)
    check_gradients(lambda x, d: ops.depthwise_conv(x, d, 1, "same", None, 2), IMAGES[:1],
                    depthwise, rtol=1e-5, atol=1e-8)
    check_gradients(lambda x, d, p: ops.separable_conv(x, d, p, strides=2), IMAGES[:1],
                    depthwise, pointwise, rtol=1e-5, atol=1e-8)


def _transposed_reference(x, kernel, strides, padding, output_padding, dilation):
    """The full scatter y[i * s + t * d] += x[i] * kernel[t], cropped as Keras's formulas
    (keras/src/backend/common/backend_utils.py) place it."""
    (sh, sw), (dh, dw) = ref.pair(strides), ref.pair(dilation)
    N, H, W, _ = x.shape
    KH, KW, C_out, _ = kernel.shape
    full = np.zeros((N, (H - 1) * sh + (KH - 1) * dh + 1, (W - 1) * sw + (KW - 1) * dw + 1, C_out))
    for i in range(H):
        for j in range(W):
            for a in range(KH):
                for b in range(KW):
                    full[:, i * sh + a * dh, j * sw + b * dw] += x[:, i, j] @ kernel[a, b].T
    crops = []
    for size, k, s, d, extra in zip((H, W), (KH, KW), (sh, sw), (dh, dw), output_padding):
        reach = (k - 1) * d + 1
        if padding == "valid":
            extra = max(reach, s) - reach if extra is None else extra
            crops.append((0, (size - 1) * s + reach + extra))
            continue
        total = s + reach - 2 if extra is None else reach + reach % 2 - 2 + extra
        out = size * s if extra is None else (size - 1) * s + reach % 2 + extra
        crops.append((reach - 1 - min(total // 2 + total % 2, reach - 1), out))
    (top, height), (left, width) = crops
    padded = np.zeros((N, top + height + full.shape[1], left + width + full.shape[2], C_out))
    padded[:, :full.shape[1], :full.shape[2]] = full
    return padded[:, top:top + height, left:left + width]


@pytest.mark.parametrize("strides,padding,output_padding,dilation", [
    (1, "valid", None, 1), (2, "valid", None, 1), (3, "valid", None, 1), (2, "same", None, 1),
    (3, "same", None, 1), (2, "same", 1, 1), (3, "valid", 2, 1), ((2, 1), "same", None, 2),
    (1, "same", None, 1)])
def test_conv_transpose_matches_the_scatter_and_differentiates(strides, padding,
                                                              output_padding, dilation):
    x = rng.standard_normal((2, 3, 4, 3))
    kernel = rng.standard_normal((3, 2, 5, 3))
    got = ops.conv_transpose(x, kernel, strides, padding, output_padding, None, dilation)
    extra = output_padding if isinstance(output_padding, tuple) else (output_padding,) * 2
    want = _transposed_reference(x, kernel, strides, padding, extra, dilation)
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)
    check_gradients(lambda t, k: ops.conv_transpose(t, k, strides, padding, output_padding,
                                                    None, dilation), x[:1], kernel,
                    rtol=1e-5, atol=1e-8)


@pytest.mark.parametrize("strides,padding,size", [(2, "same", (6, 8)), (1, "same", (5, 7)),
                                                  (2, "valid", (7, 9)), (3, "valid", (6, 9))])
def test_conv_transpose_is_the_adjoint_of_conv(strides, padding, size):
    """<conv(y), x> = <y, conv_transpose(x)> where the transposed shape comes back to y's."""
    kernel = rng.standard_normal((3, 3, 4, 2))
    y = rng.standard_normal((1, *size, 4))
    x = rng.standard_normal(ops.conv(y, kernel, strides, padding).shape)
    transposed = ops.conv_transpose(x, kernel, strides, padding)
    assert transposed.shape == y.shape
    assert np.isclose(np.sum(ops.conv(y, kernel, strides, padding) * x),
                      np.sum(y * transposed), rtol=1e-12)


def test_conv_transpose_1d_channels_first_and_errors():
    signal, kernel = rng.standard_normal((2, 4, 3)), rng.standard_normal((3, 2, 3))
    got = ops.conv_transpose(signal, kernel, 2, "same")
    want = _transposed_reference(signal[:, None], kernel[None], (1, 2), "same", (None, None), 1)
    np.testing.assert_allclose(got, want[:, 0], rtol=1e-12)
    images, kernel2d = rng.standard_normal((1, 3, 4, 3)), rng.standard_normal((2, 2, 5, 3))
    first = ops.conv_transpose(images.transpose(0, 3, 1, 2), kernel2d, 2,
                               data_format="channels_first")
    np.testing.assert_allclose(first.transpose(0, 2, 3, 1),
                               ops.conv_transpose(images, kernel2d, 2), rtol=1e-12)
    check_gradients(lambda t: ops.conv_transpose(t, kernel2d, 2, "same",
                                                 data_format="channels_first"),
                    images.transpose(0, 3, 1, 2))
    got = ops.conv_transpose(signal, kernel, 3, "valid", output_padding=2)
    want = _transposed_reference(signal[:, None], kernel[None], (1, 3), "valid", (None, 2), 1)
    np.testing.assert_allclose(got, want[:, 0], rtol=1e-12)
    with pytest.raises(ValueError, match="expects 4 input channels"):
        ops.conv_transpose(images, np.ones((2, 2, 3, 4)))
    with pytest.raises(ValueError, match="greater than output padding"):
        ops.conv_transpose(images, kernel2d, 2, output_padding=2)
    with pytest.raises(ValueError, match="rank 4"):
        ops.conv_transpose(images, kernel)


DISTINCT_IMAGES = (rng.permutation(2 * 5 * 6 * 3).reshape(2, 5, 6, 3) / 7.0)


@pytest.mark.parametrize("pool_size,strides,padding", [
    (2, None, "valid"), (3, 2, "same"), ((2, 3), (1, 2), "valid")])
def test_pooling_matches_the_reference_and_differentiates(pool_size, strides, padding):
    x = DISTINCT_IMAGES
    np.testing.assert_allclose(ops.max_pool(x, pool_size, strides, padding),
                               ref.max_pool2d_ref(x, pool_size, strides, padding), rtol=1e-14)
    np.testing.assert_allclose(ops.average_pool(x, pool_size, strides, padding),
                               ref.avg_pool2d_ref(x, pool_size, strides, padding), rtol=1e-12)
    check_gradients(lambda t: ops.max_pool(t, pool_size, strides, padding), x[:1])
    check_gradients(lambda t: ops.average_pool(t, pool_size, strides, padding), x[:1])


def test_pooling_1d_and_channels_first():
    signal = DISTINCT_IMAGES[:, 0]  # (N, W, C)
    np.testing.assert_allclose(ops.max_pool(signal, 2), ref.max_pool2d_ref(
        signal[:, None], (1, 2))[:, 0])
    check_gradients(lambda t: ops.average_pool(t, 3, 1, "same"), signal)
    first = ops.max_pool(DISTINCT_IMAGES.transpose(0, 3, 1, 2), 2, data_format="channels_first")
    np.testing.assert_allclose(first.transpose(0, 2, 3, 1), ref.max_pool2d_ref(DISTINCT_IMAGES, 2))


def test_conv_and_pool_errors():
    with pytest.raises(ValueError, match="evenly divisible"):
        ops.conv(IMAGES, np.ones((3, 3, 3, 2)))
    with pytest.raises(ValueError, match="rank 3 .* or 4"):
        ops.conv(np.ones((1, 2, 3, 4, 5)), np.ones((1, 1, 1, 5, 2)))
    with pytest.raises(ValueError, match="padding"):
        ops.conv(IMAGES, np.ones((3, 3, 4, 2)), padding="full")
    with pytest.raises(ValueError, match="depthwise kernel"):
        ops.depthwise_conv(IMAGES, np.ones((3, 3, 2, 2)))
    with pytest.raises(ValueError, match="data_format"):
        ops.max_pool(IMAGES, 2, data_format="nhwc")


# ----------------------------------------------------------------- encodings and losses
def test_one_hot_and_multi_hot():
    np.testing.assert_array_equal(ops.one_hot([[0, 2], [1, -1]], 3),
                                  [[[1, 0, 0], [0, 0, 1]], [[0, 1, 0], [0, 0, 0]]])
    np.testing.assert_array_equal(ops.one_hot([0, 2], 3, axis=0), [[1, 0], [0, 0], [0, 1]])
    assert ops.one_hot([1], 2, dtype="int32").dtype == np.int32
    np.testing.assert_array_equal(ops.multi_hot([[0, 2], [1, 1]], 4), [[1, 0, 1, 0], [0, 1, 0, 0]])
    with pytest.raises(TypeError, match="integer labels"):
        ops.one_hot([0.5], 2)


PROBS = rng.uniform(0.05, 1.0, (4, 3))
PROBS /= PROBS.sum(-1, keepdims=True)
LOGITS = rng.standard_normal((4, 3))
LABELS = np.array([0, 2, 1, 2])
TARGET = np.eye(3)[LABELS] * 0.8 + 0.2 / 3  # smoothed one-hot


def test_crossentropies_equal_the_formulas():
    log_softmax = LOGITS - np.log(np.exp(LOGITS).sum(-1, keepdims=True))
    np.testing.assert_allclose(ops.categorical_crossentropy(TARGET, PROBS),
                               -(TARGET * np.log(PROBS)).sum(-1), rtol=1e-12)
    np.testing.assert_allclose(ops.categorical_crossentropy(TARGET, LOGITS, from_logits=True),
                               -(TARGET * log_softmax).sum(-1), rtol=1e-12)
    np.testing.assert_allclose(ops.sparse_categorical_crossentropy(LABELS, PROBS),
                               -np.log(PROBS[np.arange(4), LABELS]), rtol=1e-12)
    np.testing.assert_allclose(ops.sparse_categorical_crossentropy(LABELS[:, None], LOGITS, True),
                               -log_softmax[np.arange(4), LABELS], rtol=1e-12)
    p = _sigmoid(LOGITS)
    t = (LOGITS > 0.3).astype(float)
    bce = -(t * np.log(p) + (1 - t) * np.log(1 - p))
    np.testing.assert_allclose(ops.binary_crossentropy(t, p), bce, rtol=1e-10)
    np.testing.assert_allclose(ops.binary_crossentropy(t, LOGITS, from_logits=True), bce,
                               rtol=1e-10)
    unnormalized = PROBS * 3  # probabilities are normalized first, as in Keras
    np.testing.assert_allclose(ops.categorical_crossentropy(TARGET, unnormalized),
                               ops.categorical_crossentropy(TARGET, PROBS), rtol=1e-12)


def test_crossentropy_gradients():
    check_gradients(ops.categorical_crossentropy, TARGET, PROBS)
    check_gradients(lambda t, o: ops.categorical_crossentropy(t, o, from_logits=True),
                    TARGET, LOGITS)
    check_gradients(lambda o: ops.sparse_categorical_crossentropy(LABELS, o, True), LOGITS)
    check_gradients(lambda o: ops.sparse_categorical_crossentropy(LABELS, o), PROBS)
    check_gradients(ops.binary_crossentropy, PROBS, PROBS[::-1])
    check_gradients(lambda t, o: ops.binary_crossentropy(t, o, from_logits=True), PROBS, LOGITS)


def test_crossentropy_errors():
    with pytest.raises(ValueError, match="same shape"):
        ops.categorical_crossentropy(TARGET, PROBS[:2])
    with pytest.raises(ValueError, match="up until the last dimension"):
        ops.sparse_categorical_crossentropy(LABELS[:2], PROBS)
    with pytest.raises(ValueError, match=r"Labels must lie in \[0, 3\)"):
        ops.sparse_categorical_crossentropy([3, 0, 0, 0], PROBS)


# ------------------------------------------------------------------------- statistics
def test_moments_and_batch_normalization():
    x = rng.standard_normal((4, 3, 2))
    mean, variance = ops.moments(x, axes=[0, 2])
    np.testing.assert_allclose(mean, x.mean(axis=(0, 2)), rtol=1e-13)
    np.testing.assert_allclose(variance, x.var(axis=(0, 2)), rtol=1e-13)
    assert ops.moments(x, axes=(1,), keepdims=True)[0].shape == (4, 1, 2)
    check_gradients(lambda t: ops.moments(t, axes=[0, 2]), x)
    offset, scale = rng.standard_normal(3), rng.uniform(0.5, 2, 3)
    got = ops.batch_normalization(x, mean, variance, axis=1, offset=offset, scale=scale)
    want = ((x - mean[:, None]) / np.sqrt(variance[:, None] + 1e-3) * scale[:, None]
            + offset[:, None])
    np.testing.assert_allclose(got, want, rtol=1e-12)
    check_gradients(lambda t, m, v, o, s: ops.batch_normalization(t, m, v, 1, o, s),
                    x, mean, variance, offset, scale)
    np.testing.assert_allclose(ops.normalize(x, axis=1),
                               x / np.linalg.norm(x, axis=1, keepdims=True), rtol=1e-13)
    check_gradients(lambda t: ops.normalize(t, axis=-1), x)
    with pytest.raises(NotImplementedError, match="synchronized"):
        ops.moments(x, axes=[0], synchronized=True)
