"""A conv and the 2 x 2 max pool after it, fused, against the composition each fusion replaces
(both parts are tested against references elsewhere; here they must agree bit for bit):

- in inference, the pool's output computed by the conv kernels (`Conv2DCall.forward_pooled`,
  `Conv2D.forward_pooled`) against max_pool2d(conv2d(...));
- in training, the first layer's weight gradient taken straight from the pool's gradient
  (`Conv2DCall.backward_weight_pooled`, `Conv2D.grad_through_max_pool`) against
  max_pool2d_backward(..., relu=True), then the conv's weight gradient.
"""
import numpy as np
import pytest

import fastconv
from fastconv import ops
from fastconv.ops.conv2d import prepare_conv2d

# (x shape NHWC, kernel shape, strides, padding, dilation): the tutorial's first layer, odd
# outputs (a last row and column outside every window), more filters than one register tile,
# strides, dilation, a 1 x 1 kernel, the smallest output the pool takes, and two and three
# input channels (an RGB first layer).
CASES = [
    ((4, 28, 28, 1), (3, 3, 1, 32), 1, "same", 1),
    ((2, 14, 13, 3), (3, 3, 3, 32), 1, "valid", 1),
    ((2, 11, 12, 2), (3, 2, 2, 19), 2, "same", 2),
    ((3, 13, 15, 1), (3, 3, 1, 37), 1, "valid", 1),
    ((2, 20, 21, 1), (5, 5, 1, 70), 2, "same", 1),
    ((3, 17, 16, 1), (3, 2, 1, 33), 1, "valid", 2),
    ((2, 5, 4, 1), (1, 1, 1, 5), 1, "valid", 1),
    ((2, 3, 3, 1), (2, 2, 1, 16), 1, "valid", 1),
]


def _activations(rng, shape, dtype, kind):
    """A pool input: a ReLU's output, or one full of ties, or of NaN, infinities and -0."""
    if kind == "relu":
        return np.maximum(rng.standard_normal(shape), 0).astype(dtype)
    act = rng.integers(0, 3, shape).astype(dtype)  # many windows with tied maxima
    if kind == "special":
        act[rng.random(shape) < 0.05] = np.nan
        act[rng.random(shape) < 0.03] = np.inf
        act[rng.random(shape) < 0.1] = -0.0
    return act


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("kind", ["relu", "ties", "special"])
@pytest.mark.parametrize("threads", [1, 2])
def test_pooled_weight_gradient_equals_the_composition(dtype, case, kind, threads):
    x_shape, k_shape, strides, padding, dilation = case
    rng = np.random.default_rng(sum(x_shape) + sum(k_shape))
    x = rng.standard_normal(x_shape).astype(dtype)
    kernel = rng.standard_normal(k_shape).astype(dtype)
    call = prepare_conv2d(x, kernel, np.zeros(k_shape[3], dtype), strides=strides,
                          padding=padding, dilation_rate=dilation, activation="relu")
    assert call.takes_pooled_gradient
    act = _activations(rng, call.out_shape, dtype, kind)
    dpool = rng.standard_normal(ops.max_pool2d(act, 2).shape).astype(dtype)
    dpool[0, 0, 0, :] = -0.0
    fastconv.set_num_threads(threads)
    try:
        dact = ops.max_pool2d_backward(dpool, act, 2, relu=True)
        _, dkernel, dbias = call.backward(dact, x, kernel, compute_dx=False)
        pooled_dkernel, pooled_dbias = call.backward_weight_pooled(dpool, x, act)
    finally:
        fastconv.set_num_threads(None)
    for fused, plain in ((pooled_dkernel, dkernel), (pooled_dbias, dbias)):
        np.testing.assert_array_equal(fused, plain)
        np.testing.assert_array_equal(np.signbit(fused), np.signbit(plain))
    assert np.count_nonzero(dkernel) > 0


def test_pooled_weight_gradient_refuses_what_it_does_not_take():
    x = np.zeros((2, 8, 8, 4), np.float32)
    call = prepare_conv2d(x, np.zeros((3, 3, 4, 4), np.float32), activation="relu")
    assert not call.takes_pooled_gradient
    act = np.zeros(call.out_shape, np.float32)
    with pytest.raises(ValueError, match=r"at most 3 input channels.*x\.shape=\(2, 8, 8, 4\)"):
        call.backward_weight_pooled(np.zeros((2, 3, 3, 4), np.float32), x, act)
    x = np.zeros((2, 8, 8, 1), np.float32)
    call = prepare_conv2d(x, np.zeros((3, 3, 1, 4), np.float32), activation="relu")
    with pytest.raises(ValueError, match=r"`dpool` must have shape \(2, 3, 3, 4\)"):
        call.backward_weight_pooled(np.zeros((2, 6, 6, 4), np.float32), x,
                                    np.zeros(call.out_shape, np.float32))


def _first_layer_model(seed, functional=False):
    fastconv.utils.set_random_seed(seed)
    layers = fastconv.layers
    stack = [
        layers.Conv2D(8, 3, padding="same", activation="relu"),
        layers.MaxPooling2D(2),
        layers.Conv2D(6, 3, activation="relu"),
        layers.MaxPooling2D(2),
        layers.Flatten(),
        layers.Dense(3, activation="softmax"),
    ]
    if functional:
        inputs = fastconv.Input((11, 11, 1))
        outputs = inputs
        for layer in stack:
            outputs = layer(outputs)
        model = fastconv.Model(inputs, outputs)
    else:
        model = fastconv.Sequential([fastconv.Input((11, 11, 1))] + stack)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    return model


@pytest.mark.parametrize("functional", [False, True])
def test_model_takes_the_first_pools_gradient_without_changing_the_weights(monkeypatch,
                                                                           functional):
    rng = np.random.default_rng(3)
    x = rng.standard_normal((12, 11, 11, 1)).astype(np.float32)
    y = rng.integers(0, 3, 12)
    Conv2D = fastconv.layers.Conv2D
    taken = []
    fused_pass = Conv2D.grad_through_max_pool

    def counted(self, state, dpool):
        taken.append(self.name)
        return fused_pass(self, state, dpool)

    monkeypatch.setattr(Conv2D, "grad_through_max_pool", counted)
    fused = _first_layer_model(1, functional)
    fused.fit(x, y, batch_size=4, epochs=2, shuffle=False, verbose=0)
    first = next(layer for layer in fused.layers if isinstance(layer, Conv2D))
    assert taken == [first.name] * 2 * 3  # the first layer only, every step

    monkeypatch.setattr(Conv2D, "takes_max_pool_gradient", lambda self, state: False)
    plain = _first_layer_model(1, functional)
    plain.fit(x, y, batch_size=4, epochs=2, shuffle=False, verbose=0)
    assert len(taken) == 2 * 3
    for a, b in zip(fused.get_weights(), plain.get_weights()):
        np.testing.assert_array_equal(a, b)


# (x shape NHWC, kernel shape, strides, padding, dilation): first layers of one and three
# channels (odd outputs, strides, dilation), Winograd's 3x3 shapes (odd, "valid", more filters
# than a block, the smallest image of 2 x 2 tiles).
FORWARD_CASES = [
    ((4, 28, 28, 1), (3, 3, 1, 32), 1, "same", 1),
    ((3, 13, 15, 3), (5, 5, 3, 37), 2, "same", 1),
    ((2, 17, 16, 2), (3, 2, 2, 33), 1, "valid", 2),
    ((3, 14, 14, 32), (3, 3, 32, 64), 1, "same", 1),
    ((2, 13, 11, 20), (3, 3, 20, 130), 1, "valid", 1),
    ((2, 4, 4, 16), (3, 3, 16, 9), 1, "same", 1),
]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("case", FORWARD_CASES)
@pytest.mark.parametrize("activation", [None, "relu"])
@pytest.mark.parametrize("threads", [1, 2])
def test_pooled_forward_equals_the_composition(dtype, case, activation, threads):
    x_shape, k_shape, strides, padding, dilation = case
    rng = np.random.default_rng(sum(x_shape) + sum(k_shape))
    x = rng.standard_normal(x_shape).astype(dtype)
    x.flat[3] = np.nan
    kernel = rng.standard_normal(k_shape).astype(dtype)
    bias = rng.standard_normal(k_shape[3]).astype(dtype)
    call = prepare_conv2d(x, kernel, bias, strides=strides, padding=padding,
                          dilation_rate=dilation, activation=activation)
    fastconv.set_num_threads(threads)
    try:
        expected = ops.max_pool2d(call.forward(x, kernel, bias), 2)
        pooled = call.forward_pooled(x, kernel, bias)
    finally:
        fastconv.set_num_threads(None)
    assert pooled is not None
    np.testing.assert_array_equal(pooled, expected)
    np.testing.assert_array_equal(np.signbit(pooled), np.signbit(expected))


def test_pooled_forward_declines_what_no_kernel_takes():
    rng = np.random.default_rng(0)
    for x_shape, k_shape, strides in [((2, 9, 9, 16), (5, 5, 16, 8), 1),   # GEMM: 5 x 5
                                      ((2, 9, 9, 16), (3, 3, 16, 8), 2)]:  # GEMM: stride 2
        x = rng.standard_normal(x_shape).astype(np.float32)
        kernel = rng.standard_normal(k_shape).astype(np.float32)
        call = prepare_conv2d(x, kernel, strides=strides, padding="same")
        assert call.forward_pooled(x, kernel) is None
    x = rng.standard_normal((2, 1, 8, 8)).astype(np.float32)
    call = prepare_conv2d(x, np.zeros((3, 3, 1, 4), np.float32), data_format="channels_first")
    assert call.forward_pooled(x, np.zeros((3, 3, 1, 4), np.float32)) is None


def _inference_model(functional=False):
    fastconv.utils.set_random_seed(4)
    layers = fastconv.layers
    stack = [
        layers.Conv2D(16, 3, padding="same", activation="relu"),  # a first layer
        layers.MaxPooling2D(2),
        layers.Conv2D(8, 3, padding="same"),  # Winograd's, no activation
        layers.MaxPooling2D(2),
        layers.Conv2D(8, 3, padding="same", activation="relu"),  # GEMM: 8 channels
        layers.MaxPooling2D(2),
        layers.Flatten(),
        layers.Dense(3, activation="softmax"),
    ]
    inputs = fastconv.Input((21, 22, 1))
    if functional:
        outputs = inputs
        for layer in stack:
            outputs = layer(outputs)
        return fastconv.Model(inputs, outputs)
    return fastconv.Sequential([inputs] + stack)


@pytest.mark.parametrize("functional", [False, True])
def test_inference_takes_the_pools_into_the_convs(monkeypatch, functional):
    x = np.random.default_rng(5).standard_normal((10, 21, 22, 1)).astype(np.float32)
    y = np.arange(10) % 3
    Conv2D = fastconv.layers.Conv2D
    pooled = []
    fused_pass = Conv2D.forward_pooled

    def counted(self, state, inputs):
        output = fused_pass(self, state, inputs)
        pooled.append(output is not None)
        return output

    monkeypatch.setattr(Conv2D, "forward_pooled", counted)
    fused = _inference_model(functional)
    fused.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    fused_predictions = fused.predict(x, batch_size=5, verbose=0)
    fused_loss = fused.evaluate(x, y, batch_size=5, verbose=0)
    assert pooled == [True, True, False] * 4  # 2 predict + 2 evaluate batches; GEMM declines
    pooled.clear()
    fused.fit(x, y, batch_size=5, epochs=1, verbose=0)
    assert pooled == []  # training keeps the conv outputs for the backward pass

    monkeypatch.setattr(Conv2D, "forward_pooled", lambda self, state, inputs: None)
    plain = _inference_model(functional)
    plain.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    np.testing.assert_array_equal(fused_predictions, plain.predict(x, batch_size=5, verbose=0))
    assert fused_loss == plain.evaluate(x, y, batch_size=5, verbose=0)


def _conv_pool_stack():
    layers = fastconv.layers
    return [layers.Conv2D(8, 3, padding="same", activation="relu"), layers.MaxPooling2D(2),
            layers.Conv2D(16, 3, padding="same", activation="relu"), layers.MaxPooling2D(2),
            layers.Flatten()]


def test_a_tape_through_a_call_without_training_sees_the_conv_outputs():
    # training=False is not inference: a tape may still ask for the gradients
    from fastconv import autodiff

    fastconv.utils.set_random_seed(6)
    model = fastconv.Sequential([fastconv.Input((10, 10, 1))] + _conv_pool_stack()
                                + [fastconv.layers.Dense(3)])
    x = np.random.default_rng(6).standard_normal((4, 10, 10, 1)).astype(np.float32)
    grads = []
    for training in (True, None, False):
        with autodiff.GradientTape() as tape:
            out = model(x) if training is None else model(x, training=training)
            loss = (out * out).sum()
        grads.append(tape.gradient(loss, model.trainable_weights))
    for other in grads[1:]:
        for a, b in zip(grads[0], other):
            np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


@pytest.mark.parametrize("nested", [False, True])
def test_fit_through_calls_without_training_sees_the_conv_outputs(nested):
    # a layer or a nested base model called with training=False inside a trained model
    # (Keras's fine-tuning recipe) still has its backward pass
    x = np.random.default_rng(7).standard_normal((8, 10, 10, 3)).astype(np.float32)
    y = np.arange(8) % 3
    weights = []
    for training in (False, None):
        fastconv.utils.set_random_seed(7)
        inputs = fastconv.Input((10, 10, 3))
        kwargs = {} if training is None else {"training": training}
        if nested:
            base = fastconv.Sequential([fastconv.Input((10, 10, 3))] + _conv_pool_stack())
            features = base(inputs, **kwargs)
        else:
            conv, *rest = _conv_pool_stack()
            features = conv(inputs, **kwargs)
            for layer in rest:
                features = layer(features)
        model = fastconv.Model(inputs, fastconv.layers.Dense(3, activation="softmax")(features))
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
        model.fit(x, y, batch_size=4, epochs=2, verbose=0, shuffle=False)
        weights.append(model.get_weights())
    for a, b in zip(*weights):
        np.testing.assert_array_equal(a, b)
