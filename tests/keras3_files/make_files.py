"""Writes the Keras 3 files that tests/test_saving_keras.py loads without Keras installed.

Run with real Keras 3 (not fastconv), from this folder:
    pip install keras jax jaxlib h5py
    KERAS_BACKEND=jax python make_files.py
It trains three small models (the last with two named inputs, a shared layer, a nested
Sequential and two outputs) for a few steps and saves them as Keras writes them (.keras, .h5,
.weights.h5), with the inputs, Keras's predictions and the optimizer step counts in
expected.npz.
"""

import os

os.environ.setdefault("KERAS_BACKEND", "jax")

import keras  # noqa: E402
import numpy as np  # noqa: E402


def save(model, name):
    model.save(f"{name}.keras")
    model.save(f"{name}.h5")
    model.save_weights(f"{name}.weights.h5")


def cnn():
    return keras.Sequential([
        keras.Input(shape=(8, 8, 1)),
        keras.layers.Conv2D(3, 3, activation="relu", padding="same"),
        keras.layers.BatchNormalization(),
        keras.layers.MaxPooling2D(),
        keras.layers.Dropout(0.2),
        keras.layers.Flatten(),
        keras.layers.Dense(2, activation="softmax"),
    ], name="cnn")


def functional():
    inputs = keras.Input(shape=(6, 6, 2), name="image")
    x = keras.layers.Conv2D(2, 3, padding="same", activation="relu")(inputs)
    y = keras.layers.AveragePooling2D(pool_size=1)(inputs)
    x = keras.layers.Concatenate()([x, y])
    x = keras.layers.GlobalAveragePooling2D()(x)
    outputs = keras.layers.Dense(2)(x)
    return keras.Model(inputs, outputs, name="branches")


def graph():
    """Two named inputs, a shared layer, a nested Sequential, two outputs."""
    left = keras.Input(shape=(5,), name="left")
    right = keras.Input(shape=(5,), name="right")
    shared = keras.layers.Dense(4, activation="relu", name="shared")
    tower = keras.Sequential([keras.Input(shape=(8,)), keras.layers.Dense(3, use_bias=False),
                              keras.layers.BatchNormalization()], name="tower")
    x = tower(keras.layers.Concatenate()([shared(left), shared(right)]))
    return keras.Model({"left": left, "right": right},
                       [keras.layers.Dense(2, activation="softmax", name="label")(x),
                        keras.layers.Dense(1, name="score")(x)], name="graph")


def main():
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    expected = {}
    for name, build, optimizer, shape in (
            ("cnn", cnn, keras.optimizers.Adam(0.01), (8, 8, 1)),
            ("functional", functional, keras.optimizers.SGD(0.1, momentum=0.9), (6, 6, 2))):
        model = build()
        model.compile(optimizer=optimizer, loss="sparse_categorical_crossentropy"
                      if name == "cnn" else "mse", metrics=["accuracy"] if name == "cnn" else [])
        x = rng.random((8,) + shape, dtype=np.float32)
        y = rng.integers(0, 2, 8) if name == "cnn" else rng.random((8, 2), dtype=np.float32)
        model.fit(x, y, batch_size=4, epochs=1, verbose=0)
        save(model, name)
        test = rng.random((3,) + shape, dtype=np.float32)
        expected[f"{name}_x"] = test
        expected[f"{name}_predictions"] = np.asarray(model.predict(test, verbose=0))
        expected[f"{name}_iterations"] = np.asarray(int(model.optimizer.iterations))
    model = graph()
    model.compile(optimizer=keras.optimizers.RMSprop(0.01), loss=["sparse_categorical_crossentropy",
                                                                  "mse"])
    inputs = {"left": rng.random((8, 5), dtype=np.float32),
              "right": rng.random((8, 5), dtype=np.float32)}
    model.fit(inputs, [rng.integers(0, 2, 8), rng.random((8, 1), dtype=np.float32)],
              batch_size=4, epochs=1, verbose=0)
    save(model, "graph")
    test = {key: rng.random((3, 5), dtype=np.float32) for key in ("left", "right")}
    for key, value in test.items():
        expected[f"graph_x_{key}"] = value
    for index, value in enumerate(model.predict(test, verbose=0)):
        expected[f"graph_predictions_{index}"] = np.asarray(value)
    expected["graph_iterations"] = np.asarray(int(model.optimizer.iterations))
    expected["keras_version"] = np.asarray(keras.__version__)
    np.savez("expected.npz", **expected)


if __name__ == "__main__":
    main()
