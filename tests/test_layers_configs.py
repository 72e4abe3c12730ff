"""Every issue-14 layer, built with non-default arguments (regularizers and constraints
included), survives fastconv's JSON layer serialization: same class, same config."""

import json

import pytest

from fastconv import constraints, layers, regularizers, saving

L2 = regularizers.L2(1e-3)

EXAMPLES = {
    "Conv1D": lambda: layers.Conv1D(4, 3, strides=2, padding="causal", groups=2,
                                    activation="relu", kernel_regularizer=L2,
                                    bias_constraint=constraints.NonNeg()),
    "Conv2DTranspose": lambda: layers.Conv2DTranspose(
        4, (3, 2), strides=2, padding="same", output_padding=1, data_format="channels_first",
        kernel_constraint=constraints.MaxNorm(2.0, axis=[0, 1, 2]), activity_regularizer="l1"),
    "DepthwiseConv2D": lambda: layers.DepthwiseConv2D(
        3, depth_multiplier=2, dilation_rate=2, depthwise_regularizer=L2, use_bias=False),
    "SeparableConv2D": lambda: layers.SeparableConv2D(
        8, 3, depth_multiplier=2, pointwise_regularizer=regularizers.L1L2(0.1, 0.2),
        pointwise_constraint=constraints.UnitNorm()),
    "MaxPooling1D": lambda: layers.MaxPooling1D(3, strides=1, padding="same"),
    "AveragePooling1D": lambda: layers.AveragePooling1D(2, data_format="channels_first"),
    "GlobalMaxPooling1D": lambda: layers.GlobalMaxPooling1D(keepdims=True),
    "ZeroPadding2D": lambda: layers.ZeroPadding2D(((1, 2), (3, 0))),
    "ZeroPadding1D": lambda: layers.ZeroPadding1D((2, 1)),
    "Cropping2D": lambda: layers.Cropping2D((1, 2), data_format="channels_first"),
    "Cropping1D": lambda: layers.Cropping1D(3),
    "UpSampling2D": lambda: layers.UpSampling2D((2, 3), interpolation="bilinear"),
    "UpSampling1D": lambda: layers.UpSampling1D(4),
    "Permute": lambda: layers.Permute((2, 1)),
    "RepeatVector": lambda: layers.RepeatVector(5),
    "LayerNormalization": lambda: layers.LayerNormalization(
        axis=[1, 2], epsilon=1e-5, center=False, gamma_regularizer=L2),
    "SpatialDropout1D": lambda: layers.SpatialDropout1D(0.2, seed=1),
    "SpatialDropout2D": lambda: layers.SpatialDropout2D(0.3, data_format="channels_first"),
    "GaussianNoise": lambda: layers.GaussianNoise(0.1, seed=2),
    "LeakyReLU": lambda: layers.LeakyReLU(0.1),
    "PReLU": lambda: layers.PReLU(shared_axes=[1, 2], alpha_constraint="non_neg"),
    "ELU": lambda: layers.ELU(0.5),
    "Identity": lambda: layers.Identity(),
    "Embedding": lambda: layers.Embedding(100, 8, embeddings_regularizer="l2",
                                          embeddings_constraint=constraints.MaxNorm(1.0)),
    "Dense": lambda: layers.Dense(3, kernel_regularizer=L2, bias_regularizer="l1",
                                  kernel_constraint="max_norm"),
    "BatchNormalization": lambda: layers.BatchNormalization(beta_regularizer=L2,
                                                            gamma_constraint="non_neg"),
}


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_config_round_trips_through_json(name):
    layer = EXAMPLES[name]()
    entry = json.loads(json.dumps(saving.serialize_layer(layer), default=list))
    rebuilt = saving.deserialize_layer(entry)
    assert type(rebuilt) is type(layer)
    assert json.loads(json.dumps(rebuilt.get_config(), default=list)) == entry["config"]
