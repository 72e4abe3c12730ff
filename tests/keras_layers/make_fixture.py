"""Writes keras_layers.npz and keras_layers.json: inputs, weights and outputs of real Keras 3
layers, which tests/test_layers_vs_keras.py compares fastconv's layers with.

Run under real Keras (not fastconv), from this folder:

    KERAS_BACKEND=jax python make_fixture.py

Written with Keras 3.15.1 on the JAX 0.10.2 backend (CPU), float32. Each case builds one
layer from its constructor arguments, gives it seeded random weights (Keras's own
initializers, then read back), calls it on a seeded random input and keeps the output, the
weights in `layer.weights` order, `count_params()` and, for regularized layers, `sum(losses)`.
"""

import json

import keras
import numpy as np

CASES = [
    ("Conv2DTranspose", dict(filters=3, kernel_size=3, strides=2, padding="same"), (2, 4, 5, 2)),
    ("Conv2DTranspose", dict(filters=2, kernel_size=4, strides=2, padding="same"), (1, 3, 3, 3)),
    ("Conv2DTranspose", dict(filters=2, kernel_size=3, strides=2, output_padding=1), (1, 3, 4, 2)),
    ("Conv2DTranspose", dict(filters=2, kernel_size=3, strides=3, padding="same",
                             output_padding=(2, 1)), (1, 3, 2, 2)),
    ("Conv2DTranspose", dict(filters=2, kernel_size=(2, 3), strides=(3, 2)), (1, 2, 3, 2)),
    ("Conv2DTranspose", dict(filters=2, kernel_size=3, dilation_rate=2, padding="same"),
     (1, 5, 4, 2)),
    ("DepthwiseConv2D", dict(kernel_size=3, depth_multiplier=2, strides=2, padding="same"),
     (2, 5, 6, 3)),
    ("DepthwiseConv2D", dict(kernel_size=(2, 3), dilation_rate=2), (1, 6, 7, 2)),
    ("SeparableConv2D", dict(filters=4, kernel_size=3, depth_multiplier=2, padding="same",
                             activation="relu"), (1, 5, 5, 3)),
    ("Conv1D", dict(filters=3, kernel_size=3, padding="causal", dilation_rate=2), (2, 9, 2)),
    ("Conv1D", dict(filters=4, kernel_size=3, strides=2, padding="same", groups=2), (2, 8, 4)),
    ("MaxPooling1D", dict(pool_size=3, strides=2, padding="same"), (2, 8, 3)),
    ("AveragePooling1D", dict(pool_size=3, strides=2, padding="same"), (2, 8, 3)),
    ("AveragePooling1D", dict(pool_size=2), (2, 7, 3)),
    ("GlobalAveragePooling1D", dict(), (2, 5, 3)),
    ("GlobalMaxPooling1D", dict(keepdims=True), (2, 5, 3)),
    ("ZeroPadding2D", dict(padding=((1, 2), (0, 3))), (1, 2, 3, 2)),
    ("ZeroPadding1D", dict(padding=(2, 1)), (1, 3, 2)),
    ("Cropping2D", dict(cropping=((1, 0), (2, 1))), (1, 4, 5, 2)),
    ("Cropping1D", dict(cropping=(1, 2)), (1, 6, 2)),
    ("UpSampling2D", dict(size=(2, 2), interpolation="nearest"), (1, 2, 3, 2)),
    ("UpSampling2D", dict(size=(2, 2), interpolation="bilinear"), (1, 3, 4, 2)),
    ("UpSampling2D", dict(size=(3, 2), interpolation="bilinear"), (2, 2, 3, 1)),
    ("UpSampling1D", dict(size=3), (1, 3, 2)),
    ("LayerNormalization", dict(), (2, 3, 4)),
    ("LayerNormalization", dict(axis=[1, 2], epsilon=1e-5), (2, 3, 4)),
    ("LeakyReLU", dict(), (2, 5)),
    ("PReLU", dict(shared_axes=[1, 2]), (2, 3, 4, 2)),
    ("ELU", dict(alpha=0.7), (2, 5)),
    ("Permute", dict(dims=(3, 1, 2)), (2, 3, 4, 2)),
    ("RepeatVector", dict(n=3), (2, 4)),
    ("Embedding", dict(input_dim=7, output_dim=3), (2, 4)),
    ("Identity", dict(), (2, 3)),
    ("Dense", dict(units=3, kernel_regularizer={"class_name": "L1L2",
                                                "config": {"l1": 0.01, "l2": 0.1}},
                   bias_regularizer={"class_name": "L2", "config": {"l2": 0.5}},
                   activity_regularizer={"class_name": "L2", "config": {"l2": 0.3}}), (4, 5)),
    ("Conv2D", dict(filters=2, kernel_size=3, kernel_regularizer={"class_name": "L2",
                                                                 "config": {"l2": 0.2}},
                    activity_regularizer={"class_name": "L1", "config": {"l1": 0.05}}),
     (2, 5, 5, 2)),
]


def main():
    arrays, records = {}, []
    for index, (class_name, kwargs, shape) in enumerate(CASES):
        rng = np.random.default_rng(index)
        if class_name == "Embedding":
            x = rng.integers(0, kwargs["input_dim"], size=shape).astype("int32")
        else:
            x = rng.standard_normal(shape).astype("float32")
        built = dict(kwargs)
        for key in ("kernel_regularizer", "bias_regularizer", "activity_regularizer"):
            if key in built:
                built[key] = keras.regularizers.get(built[key])
        layer = getattr(keras.layers, class_name)(**built)
        layer.build(shape)
        # Random weights even where Keras starts from zeros/ones (biases, PReLU's alpha).
        for weight in layer.weights:
            weight.assign(rng.standard_normal(weight.shape).astype("float32") * 0.5)
        y = np.asarray(layer(x))
        key = f"case{index}"
        arrays[f"{key}/x"] = x
        arrays[f"{key}/y"] = y
        for w_index, weight in enumerate(layer.weights):
            arrays[f"{key}/w{w_index}"] = np.asarray(weight)
        losses = [float(loss) for loss in layer.losses]
        records.append({"key": key, "class_name": class_name, "kwargs": kwargs,
                        "weights": len(layer.weights), "count_params": layer.count_params(),
                        "losses": sum(losses) if losses else None})
    np.savez_compressed("keras_layers.npz", **arrays)
    with open("keras_layers.json", "w") as file:
        json.dump({"keras": keras.__version__, "backend": keras.backend.backend(),
                   "cases": records}, file, indent=1)


if __name__ == "__main__":
    main()
