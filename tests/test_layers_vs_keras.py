"""fastconv's layers give real Keras 3's outputs on the same weights and inputs.

The fixture (tests/keras_layers/keras_layers.npz and .json) was written by real Keras 3 (JAX
backend) with tests/keras_layers/make_fixture.py; this test needs no Keras. Each case builds
the fastconv layer from the same constructor arguments, loads Keras's weights with
`set_weights` and compares the output (float32), `count_params()` and the regularization
penalties in `losses`."""

import json
import pathlib

import numpy as np
import pytest

from fastconv import layers

FOLDER = pathlib.Path(__file__).resolve().parent / "keras_layers"
FIXTURE = json.loads((FOLDER / "keras_layers.json").read_text())
ARRAYS = np.load(FOLDER / "keras_layers.npz")


@pytest.mark.parametrize("case", FIXTURE["cases"],
                         ids=lambda case: f"{case['key']}-{case['class_name']}")
def test_layer_matches_real_keras(case):
    key = case["key"]
    x, expected = ARRAYS[f"{key}/x"], ARRAYS[f"{key}/y"]
    weights = [ARRAYS[f"{key}/w{i}"] for i in range(case["weights"])]
    layer = getattr(layers, case["class_name"])(**case["kwargs"])
    layer(x)  # builds
    layer.set_weights(weights)
    y = layer(x)
    assert y.shape == expected.shape
    np.testing.assert_allclose(y, expected, rtol=1e-5, atol=1e-5)
    assert layer.count_params() == case["count_params"]
    if case["losses"] is not None:
        assert sum(layer.losses) == pytest.approx(case["losses"], rel=1e-5)


def test_fixture_covers_the_new_layers():
    covered = {case["class_name"] for case in FIXTURE["cases"]}
    assert {"Conv2DTranspose", "DepthwiseConv2D", "SeparableConv2D", "Conv1D", "UpSampling2D",
            "LayerNormalization", "PReLU", "Embedding"} <= covered
    assert FIXTURE["keras"].startswith("3.")
