"""Saving and loading: whole models, weights only, and the best epoch with ModelCheckpoint.

Run:  FASTCONV_DATA=/path/to/data python examples/save_and_load.py        (3 epochs)
      python examples/save_and_load.py --quick                             (1,000 images, seconds)
"""
import argparse
import os
import tempfile

import numpy as np

import fastconv as keras

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--quick", action="store_true", help="1,000 images, 1 epoch")
quick = parser.parse_args().quick


def build():
    return keras.Sequential([
        keras.Input(shape=(28, 28, 1)),
        keras.layers.Conv2D(16, 3, activation="relu"),
        keras.layers.MaxPooling2D(2),
        keras.layers.Flatten(),
        keras.layers.Dense(10, activation="softmax"),
    ])


keras.utils.set_random_seed(0)
(x, y), (x_test, y_test) = keras.datasets.mnist.load_data()
if quick:
    x, y, x_test, y_test = x[:1000], y[:1000], x_test[:200], y_test[:200]
x = x.reshape(-1, 28, 28, 1).astype("float32") / 255.0
x_test = x_test.reshape(-1, 28, 28, 1).astype("float32") / 255.0
epochs = 1 if quick else 3

# Everything is written to a temporary folder, removed at the end.
with tempfile.TemporaryDirectory() as folder:
    model = build()
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    # ModelCheckpoint writes the model after each epoch; save_best_only keeps the best val_loss.
    best_path = os.path.join(folder, "best.keras")
    model.fit(x, y, epochs=epochs, validation_split=0.2, verbose=0,
              callbacks=[keras.callbacks.ModelCheckpoint(best_path, save_best_only=True)])
    expected = model.predict(x_test, verbose=0)

    # 1. The whole model: architecture, weights, compile arguments and optimizer state.
    path = os.path.join(folder, "mnist_cnn.keras")
    model.save(path)
    restored = keras.models.load_model(path)
    np.testing.assert_array_equal(restored.predict(x_test, verbose=0), expected)
    print(f"load_model({os.path.basename(path)!r}) predicts exactly what the saved model did")
    print("restored evaluate:", restored.evaluate(x_test, y_test, verbose=0))
    # It is compiled as it was saved, with Adam's moments: fit continues training.
    restored.fit(x, y, epochs=1, verbose=0)
    print("after one more epoch:", restored.evaluate(x_test, y_test, verbose=0))

    # 2. Weights only, into a model built by the same code.
    weights_path = os.path.join(folder, "mnist_cnn.weights.h5")
    model.save_weights(weights_path)
    fresh = build()
    fresh.load_weights(weights_path)
    np.testing.assert_array_equal(fresh.predict(x_test, verbose=0), expected)
    print("load_weights into a freshly built model: same predictions")

    # 3. In memory: get_weights / set_weights are lists of NumPy arrays.
    copy = build()
    copy.set_weights(model.get_weights())
    np.testing.assert_array_equal(copy.predict(x_test, verbose=0), expected)
    print("set_weights(get_weights()): same predictions;",
          [w.shape for w in model.get_weights()])

    best = keras.models.load_model(best_path)
    print("best checkpoint evaluate:", best.evaluate(x_test, y_test, verbose=0))
    print("files:", sorted(os.listdir(folder)))
