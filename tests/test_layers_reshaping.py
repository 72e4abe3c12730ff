"""ZeroPadding1D/2D, Cropping1D/2D, UpSampling1D/2D, Permute and RepeatVector: forward
against plain NumPy (explicit index arithmetic), backward against float64 finite differences,
configs and errors."""

import numpy as np
import pytest

import layers_reference as lref
from fastconv import layers
from layercheck import check_layer, roundtrip_config

F64 = {"dtype": "float64"}


def _x(*shape, seed=1):
    return np.random.default_rng(seed).standard_normal(shape)


@pytest.mark.parametrize("padding, expected", [
    (1, ((1, 1), (1, 1))), ((2, 0), ((2, 2), (0, 0))), (((1, 2), (0, 3)), ((1, 2), (0, 3))),
])
def test_zero_padding2d(padding, expected):
    layer = layers.ZeroPadding2D(padding, **F64)
    (top, bottom), (left, right) = expected

    def reference(x):
        n, h, w, c = x.shape
        y = np.zeros((n, top + h + bottom, left + w + right, c))
        y[:, top:top + h, left:left + w] = x
        return y

    check_layer(layer, _x(2, 3, 4, 2), reference)
    assert roundtrip_config(layer).padding == expected


def test_zero_padding_channels_first_and_1d():
    layer = layers.ZeroPadding2D(((0, 1), (2, 0)), data_format="channels_first", **F64)
    y = check_layer(layer, _x(1, 2, 3, 3))
    assert y.shape == (1, 2, 4, 5) and not y[:, :, 3].any() and not y[:, :, :, :2].any()
    layer = layers.ZeroPadding1D((1, 2), **F64)
    y = check_layer(layer, _x(2, 3, 2))
    assert y.shape == (2, 6, 2) and not y[:, [0, 4, 5]].any()
    assert roundtrip_config(layer).get_config()["padding"] == (1, 2)


@pytest.mark.parametrize("cropping, expected", [
    (1, ((1, 1), (1, 1))), ((1, 0), ((1, 1), (0, 0))), (((0, 2), (1, 1)), ((0, 2), (1, 1))),
])
def test_cropping2d(cropping, expected):
    layer = layers.Cropping2D(cropping, **F64)
    (top, bottom), (left, right) = expected
    x = _x(2, 5, 6, 2)
    check_layer(layer, x, lambda x: x[:, top:5 - bottom, left:6 - right])
    roundtrip_config(layer)


def test_cropping_1d_channels_first_and_errors():
    layer = layers.Cropping2D(((1, 0), (0, 2)), data_format="channels_first", **F64)
    check_layer(layer, _x(1, 2, 4, 5), lambda x: x[:, :, 1:, :3])
    check_layer(layers.Cropping1D((2, 1), **F64), _x(2, 6, 3), lambda x: x[:, 2:5])
    with pytest.raises(ValueError, match="leaves nothing"):
        layers.Cropping2D(2)(np.zeros((1, 4, 5, 1)))
    with pytest.raises(ValueError, match="cropping"):
        layers.Cropping2D((1, 2, 3))
    with pytest.raises(ValueError, match="padding"):
        layers.ZeroPadding2D(-1)


@pytest.mark.parametrize("size", [(2, 2), (1, 3), 3])
def test_upsampling2d_nearest(size):
    layer = layers.UpSampling2D(size, **F64)
    fh, fw = (size, size) if isinstance(size, int) else size

    def reference(x):
        n, h, w, c = x.shape
        y = np.zeros((n, h * fh, w * fw, c))
        for i in range(h * fh):
            for j in range(w * fw):
                y[:, i, j] = x[:, i // fh, j // fw]
        return y

    check_layer(layer, _x(2, 3, 2, 2), reference)


@pytest.mark.parametrize("size, data_format", [((2, 2), "channels_last"), ((3, 2), "channels_last"),
                                               ((2, 3), "channels_first")])
def test_upsampling2d_bilinear(size, data_format):
    layer = layers.UpSampling2D(size, data_format=data_format, interpolation="bilinear", **F64)
    if data_format == "channels_last":
        reference = lambda x: lref.bilinear_upsample(x, size)  # noqa: E731
        x = _x(2, 3, 4, 2)
    else:
        reference = lambda x: lref.bilinear_upsample(  # noqa: E731
            x.transpose(0, 2, 3, 1), size).transpose(0, 3, 1, 2)
        x = _x(1, 2, 3, 3)
    check_layer(layer, x, reference)
    assert roundtrip_config(layer).interpolation == "bilinear"


def test_upsampling_1d_and_errors():
    check_layer(layers.UpSampling1D(3, **F64), _x(2, 4, 2),
                lambda x: np.stack([x[:, t // 3] for t in range(12)], axis=1))
    with pytest.raises(ValueError, match="interpolation"):
        layers.UpSampling2D(interpolation="bicubic")


def test_permute():
    layer = layers.Permute((3, 1, 2), **F64)
    x = _x(2, 3, 4, 5)
    y = check_layer(layer, x, lambda x: np.stack([x[:, :, :, k] for k in range(5)], axis=1))
    assert y.shape == (2, 5, 3, 4)
    assert layer.compute_output_shape((None, 3, 4, 5)) == (None, 5, 3, 4)
    roundtrip_config(layer)
    with pytest.raises(ValueError, match="consecutive and start from 1"):
        layers.Permute((0, 1))


def test_repeat_vector():
    layer = layers.RepeatVector(3, **F64)
    x = _x(2, 4)
    check_layer(layer, x, lambda x: np.stack([x, x, x], axis=1))
    assert roundtrip_config(layer).n == 3
    with pytest.raises(ValueError, match="expected ndim=2"):
        layer(np.zeros((1, 2, 3)))
