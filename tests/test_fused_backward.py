"""Fused backward passes against the composition of the separately tested ops they replace.

max_pool2d_backward(..., relu=True) must equal relu_backward(max_pool2d_backward(dy, x), x)
bit for bit: the gradient reaching a ReLU's input through a max pool; and a conv's input
gradient taken through the ReLU that produced its input (every kernel path) must equal
relu_backward of the plain input gradient.
"""
import numpy as np
import pytest

import fastconv
from fastconv import ops
from opcheck import conv_kernels  # noqa: F401 (a fixture)

# (x shape NHWC, pool_size, strides, padding): overlapping windows, "same" padding, odd sizes.
GEOMETRIES = [
    ((2, 8, 8, 5), 2, None, "valid"),
    ((3, 7, 9, 16), 3, 2, "same"),
    ((1, 6, 5, 3), (2, 3), 1, "valid"),
    ((2, 9, 9, 130), 2, 2, "same"),
]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("geometry", GEOMETRIES)
@pytest.mark.parametrize("threads", [1, 2])
def test_max_pool_relu_backward_equals_the_composition(dtype, geometry, threads):
    shape, pool_size, strides, padding = geometry
    rng = np.random.default_rng(sum(shape))
    # A ReLU's output: many exact zeros (whole windows of them), positives, a NaN.
    x = np.maximum(rng.standard_normal(shape), 0).astype(dtype)
    x[0, :2, :2, :] = 0
    x.flat[7] = np.nan
    args = dict(pool_size=pool_size, strides=strides, padding=padding)
    dy = rng.standard_normal(ops.max_pool2d(x, **args).shape).astype(dtype)
    fastconv.set_num_threads(threads)
    try:
        fused = ops.max_pool2d_backward(dy, x, relu=True, **args)
        unfused = ops.relu_backward(ops.max_pool2d_backward(dy, x, **args), x)
    finally:
        fastconv.set_num_threads(None)
    np.testing.assert_array_equal(fused, unfused)
    assert np.count_nonzero(fused) > 0
    assert np.count_nonzero(fused) < np.count_nonzero(ops.max_pool2d_backward(dy, x, **args))


def _conv_pool_model(seed):
    # Four input channels: a first layer of at most three would take its pool's gradient into
    # its weight gradient instead (test_pooled_conv.py).
    fastconv.utils.set_random_seed(seed)
    layers = fastconv.layers
    model = fastconv.Sequential([
        fastconv.Input((10, 10, 4)),
        layers.Conv2D(6, 3, padding="same", activation="relu"),
        layers.MaxPooling2D(2),
        layers.Conv2D(4, 3, activation="relu"),
        layers.MaxPooling2D(2, padding="same"),
        layers.Flatten(),
        layers.Dense(3, activation="softmax"),
    ])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    return model


def test_model_fuses_pool_and_relu_gradients_without_changing_them(monkeypatch):
    rng = np.random.default_rng(8)
    x = rng.standard_normal((12, 10, 10, 4)).astype(np.float32)
    y = rng.integers(0, 3, 12)
    fused_calls = []
    fused_pass = fastconv.layers.MaxPooling2D.grad_through_relu

    def counted(self, state, dy, logits=False):
        fused_calls.append(self.name)
        return fused_pass(self, state, dy, logits)

    monkeypatch.setattr(fastconv.layers.MaxPooling2D, "grad_through_relu", counted)
    fused = _conv_pool_model(1)
    fused.fit(x, y, batch_size=4, epochs=2, shuffle=False, verbose=0)
    assert len(fused_calls) == 2 * 3 * 2  # both pools, every step

    monkeypatch.setattr(fastconv.layers.MaxPooling2D, "grad_through_relu",
                        lambda self, state, dy, logits=False: None)  # the layer-by-layer path
    plain = _conv_pool_model(1)
    plain.fit(x, y, batch_size=4, epochs=2, shuffle=False, verbose=0)
    for a, b in zip(fused.get_weights(), plain.get_weights()):
        np.testing.assert_array_equal(a, b)


# (x shape NHWC, kernel shape, strides, padding, groups): the rotated stride-1 path (Winograd's
# or the GEMM's, by the conv_kernels fixture), the GEMM + col2im path (stride 2, few channels),
# a grouped and a depthwise conv.
CONV_PATHS = [
    ((2, 9, 8, 16), (3, 3, 16, 24), 1, "same", 1),
    ((2, 12, 12, 40), (3, 3, 40, 32), 1, "valid", 1),
    ((3, 9, 9, 6), (3, 3, 6, 8), 2, "same", 1),
    ((2, 8, 8, 32), (3, 3, 16, 20), 1, "same", 2),
    ((2, 10, 9, 24), (3, 3, 1, 24), 1, "same", 24),
]


@pytest.mark.usefixtures("conv_kernels")
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("case", CONV_PATHS)
@pytest.mark.parametrize("threads", [1, 2])
def test_conv_input_gradient_through_relu_equals_the_composition(dtype, case, threads):
    from fastconv._ext import _conv
    from fastconv.ops.conv2d import _geometry

    x_shape, k_shape, strides, padding, groups = case
    rng = np.random.default_rng(sum(x_shape))
    x = np.maximum(rng.standard_normal(x_shape), 0).astype(dtype)  # a ReLU's output
    x.flat[5] = np.nan
    kernel = rng.standard_normal(k_shape).astype(dtype)
    geometry, out_shape = _geometry(x_shape, k_shape, strides, padding, 1, groups)
    dy = rng.standard_normal(out_shape).astype(dtype)
    plain, fused = np.empty_like(x), np.empty_like(x)
    _conv.backward_input(dy, kernel, plain, geometry, threads)
    _conv.backward_input(dy, kernel, fused, geometry, threads, relu_mask=x)
    assert fused.tobytes() == ops.relu_backward(plain, x).tobytes()
    assert 0 < np.count_nonzero(fused) < np.count_nonzero(plain)
    with pytest.raises(ValueError, match="overlaps"):
        _conv.backward_input(dy, kernel, fused, geometry, threads, relu_mask=fused)


def _conv_conv_model(seed):
    fastconv.utils.set_random_seed(seed)
    layers = fastconv.layers
    model = fastconv.Sequential([
        fastconv.Input((10, 10, 3)),
        layers.Conv2D(16, 3, padding="same", activation="relu"),
        layers.Conv2D(8, 3, activation="relu"),
        layers.Conv2D(8, 3, strides=2, padding="same", activation="relu"),
        layers.Flatten(),
        layers.Dense(3, activation="softmax"),
    ])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    return model


def test_model_fuses_relu_into_the_next_convs_input_gradient(monkeypatch):
    """conv(relu) -> conv(relu) -> conv(relu, stride 2): each upper conv's input gradient takes
    the ReLU below it, the middle one from a pre-activation gradient (its own ReLU taken by the
    conv above); training is unchanged bit for bit."""
    rng = np.random.default_rng(9)
    x = rng.standard_normal((12, 10, 10, 3)).astype(np.float32)
    y = rng.integers(0, 3, 12)
    calls = []
    fused_pass = fastconv.layers.Conv2D.grad_through_relu

    def counted(self, state, dy, logits=False):
        dx = fused_pass(self, state, dy, logits)
        calls.append((self.name, logits, dx is not None))
        return dx

    monkeypatch.setattr(fastconv.layers.Conv2D, "grad_through_relu", counted)
    fused = _conv_conv_model(2)
    fused.fit(x, y, batch_size=4, epochs=1, shuffle=False, verbose=0)
    middle, top = fused.layers[1].name, fused.layers[2].name
    assert calls == [(top, False, True), (middle, True, True)] * 3

    monkeypatch.setattr(fastconv.layers.Conv2D, "grad_through_relu",
                        lambda self, state, dy, logits=False: None)  # the layer-by-layer path
    plain = _conv_conv_model(2)
    plain.fit(x, y, batch_size=4, epochs=1, shuffle=False, verbose=0)
    for a, b in zip(fused.get_weights(), plain.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_relu_output_that_is_also_a_model_output_is_not_fused(monkeypatch):
    """A ReLU conv whose output is returned and read by the next conv: the output's loss
    gradient meets the conv's there, so the ReLU's own gradient pass must run (training equals
    the layer-by-layer path)."""
    rng = np.random.default_rng(10)
    x = rng.standard_normal((8, 6, 6, 2)).astype(np.float32)
    targets = [rng.standard_normal((8, 6, 6, 4)).astype(np.float32), rng.integers(0, 3, 8)]

    def model():
        fastconv.utils.set_random_seed(3)
        layers = fastconv.layers
        inputs = fastconv.Input((6, 6, 2))
        hidden = layers.Conv2D(4, 3, padding="same", activation="relu")(inputs)
        top = layers.Conv2D(3, 3, padding="same", activation="relu")(hidden)
        outputs = layers.Dense(3, activation="softmax")(layers.Flatten()(top))
        net = fastconv.Model(inputs, [hidden, outputs])
        net.compile(optimizer="sgd", loss=["mse", "sparse_categorical_crossentropy"])
        return net

    fused = model()
    fused.fit(x, targets, batch_size=4, epochs=1, shuffle=False, verbose=0)
    monkeypatch.setattr(fastconv.layers.Conv2D, "grad_through_relu",
                        lambda self, state, dy, logits=False: None)
    plain = model()
    plain.fit(x, targets, batch_size=4, epochs=1, shuffle=False, verbose=0)
    for a, b in zip(fused.get_weights(), plain.get_weights()):
        np.testing.assert_array_equal(a, b)
