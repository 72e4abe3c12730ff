"""A Keras-style CNN on MNIST: build, train, evaluate, predict.

Run:  FASTCONV_DATA=/path/to/data python examples/keras_cnn.py            (5 epochs, ~99% test accuracy)
      python examples/keras_cnn.py --quick                                 (2,000 images, 1 epoch, seconds)

`import fastconv as keras` is the only change a Keras program needs.
"""
import argparse

import fastconv as keras

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--quick", action="store_true", help="a few samples and one epoch")
quick = parser.parse_args().quick

keras.utils.set_random_seed(0)
(x_train, y_train), (x_test, y_test) = keras.datasets.mnist.load_data()
if quick:
    x_train, y_train, x_test, y_test = x_train[:2000], y_train[:2000], x_test[:500], y_test[:500]
# Images are (N, H, W, C): add the channel axis and scale the pixels to [0, 1].
x_train = x_train.reshape(-1, 28, 28, 1).astype("float32") / 255.0
x_test = x_test.reshape(-1, 28, 28, 1).astype("float32") / 255.0

model = keras.Sequential([
    keras.Input(shape=(28, 28, 1)),
    keras.layers.Conv2D(32, 3, activation="relu", padding="same"),
    keras.layers.MaxPooling2D(2),
    keras.layers.Conv2D(64, 3, activation="relu", padding="same"),
    keras.layers.MaxPooling2D(2),
    keras.layers.Flatten(),
    keras.layers.Dense(100, activation="relu"),
    keras.layers.Dropout(0.4),
    keras.layers.Dense(10, activation="softmax"),
])
model.summary()
model.compile(optimizer=keras.optimizers.Adam(learning_rate=1e-3),
              loss="sparse_categorical_crossentropy", metrics=["accuracy"])
history = model.fit(x_train, y_train, batch_size=64, epochs=1 if quick else 5,
                    validation_split=0.1, verbose=2)

loss, accuracy = model.evaluate(x_test, y_test, verbose=0)
print(f"test accuracy {accuracy:.4f}, test loss {loss:.4f}")
probabilities = model.predict(x_test[:5], verbose=0)
print("predicted", probabilities.argmax(axis=1).tolist(), "true", y_test[:5].tolist())
