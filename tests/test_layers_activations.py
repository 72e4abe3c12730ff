"""LeakyReLU, PReLU and ELU: forward against the formulas in NumPy, backward against float64
finite differences (inputs kept away from the kink at 0), PReLU's weights and shared axes."""

import numpy as np
import pytest

import fastconv
from fastconv import layers
from layercheck import check_layer, roundtrip_config

F64 = {"dtype": "float64"}


def _x(*shape, seed=1):
    x = np.random.default_rng(seed).standard_normal(shape)
    return np.where(np.abs(x) < 0.01, 0.5, x)  # no finite-difference step across 0


def test_leaky_relu():
    layer = layers.LeakyReLU(**F64)
    assert layer.negative_slope == 0.3  # Keras 3's default
    check_layer(layer, _x(3, 4), lambda x: np.where(x >= 0, x, 0.3 * x))
    assert layers.LeakyReLU(alpha=0.1).negative_slope == 0.1  # Keras 2's name
    assert roundtrip_config(layers.LeakyReLU(0.2)).negative_slope == 0.2
    with pytest.raises(ValueError, match="negative_slope=-1"):
        layers.LeakyReLU(-1)


def test_elu():
    layer = layers.ELU(alpha=0.7, **F64)
    check_layer(layer, _x(3, 4), lambda x: np.where(x > 0, x, 0.7 * (np.exp(x) - 1)))
    assert roundtrip_config(layer).alpha == 0.7


@pytest.mark.parametrize("shared_axes, alpha_shape", [(None, (3, 4, 2)), ([1, 2], (1, 1, 2)),
                                                      (2, (3, 1, 2))])
def test_prelu(shared_axes, alpha_shape):
    layer = layers.PReLU(alpha_initializer="random_uniform", shared_axes=shared_axes, **F64)
    x = _x(2, 3, 4, 2)
    check_layer(layer, x, lambda x, alpha: np.where(x > 0, x, alpha * x))
    assert layer.alpha.shape == alpha_shape
    assert layer.count_params() == int(np.prod(alpha_shape))
    roundtrip_config(layer)


def test_prelu_learns_a_slope():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((256, 4)).astype(np.float32)
    y = np.where(x > 0, x, 0.25 * x)
    model = fastconv.Sequential([fastconv.Input((4,)), layers.PReLU()])
    model.compile(optimizer=fastconv.optimizers.SGD(0.5), loss="mse")
    model.fit(x, y, epochs=30, batch_size=64, verbose=0)
    np.testing.assert_allclose(model.layers[0].alpha, 0.25, atol=0.02)
