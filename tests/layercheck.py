"""One call that checks a layer: forward against a float64 NumPy reference, backward against
central finite differences in float64 for the input and every trainable weight."""

import numpy as np

EPS = 1e-6


def numerical(f, array):
    """d f / d array by central differences, perturbing `array` in place."""
    grad = np.zeros(array.shape)
    flat, gflat = array.reshape(-1), grad.reshape(-1)
    for i in range(flat.size):
        saved = flat[i]
        flat[i] = saved + EPS
        plus = f()
        flat[i] = saved - EPS
        minus = f()
        flat[i] = saved
        gflat[i] = (plus - minus) / (2 * EPS)
    return grad


def check_layer(layer, x, reference=None, seed=0, atol=1e-6, rtol=1e-5, input_grad=True):
    """Builds `layer` (dtype float64) on `x`, compares `layer(x)` with `reference(x, *weights)`
    (weights in `layer.weights` order) and `backward` with finite differences of
    `sum(layer(x) * dy)`. Returns the output."""
    x = np.array(x, dtype=np.float64)
    y = layer(x)
    assert y.dtype == np.float64, "a float64 layer must compute in float64"
    if reference is not None:
        expected = reference(x, *[np.asarray(w) for w in layer.weights])
        assert y.shape == expected.shape, (y.shape, expected.shape)
        np.testing.assert_allclose(y, expected, rtol=1e-10, atol=1e-12, err_msg="forward")
    assert y.shape == layer.compute_output_shape(x.shape)
    dy = np.random.default_rng(seed).standard_normal(y.shape)
    layer.call(x)
    dx = layer.backward(dy)

    def loss():
        return float(np.sum(layer.call(x) * dy))

    if input_grad:
        np.testing.assert_allclose(dx, numerical(loss, x), rtol=rtol, atol=atol, err_msg="dx")
    assert len(layer.grads) == len(layer.trainable_weights)
    for weight, grad in zip(layer.trainable_weights, layer.grads):
        assert grad.shape == weight.shape
        np.testing.assert_allclose(grad, numerical(loss, weight), rtol=rtol, atol=atol,
                                   err_msg="weight gradient")
    return y


def roundtrip_config(layer):
    """A new layer from `layer.get_config()`, whose config must equal the original's."""
    clone = type(layer).from_config(layer.get_config())
    assert clone.get_config() == layer.get_config()
    return clone
