"""Custom callbacks: hooks into `fit` that record, react and stop, next to the built-in ones.

Run:  FASTCONV_DATA=/path/to/data python examples/custom_callbacks.py      (10 epochs at most)
      python examples/custom_callbacks.py --quick                          (1,000 images, seconds)

A callback subclasses `fastconv.callbacks.Callback` and overrides the hooks it needs;
`self.model` is the model being trained and `logs` holds the loss and metrics (running means
within an epoch, the epoch's values plus the `val_` ones at its end).
"""
import argparse
import os
import tempfile
import time

import fastconv as keras

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--quick", action="store_true", help="1,000 images, at most 3 epochs")
quick = parser.parse_args().quick


class BatchLossRecorder(keras.callbacks.Callback):
    """Keeps the running loss after every training batch (for a finer curve than History's)."""

    def on_train_begin(self, logs=None):
        self.losses = []

    def on_train_batch_end(self, batch, logs=None):
        self.losses.append(logs["loss"])


class StopAtAccuracy(keras.callbacks.Callback):
    """Stops training once the validation accuracy reaches `target`."""

    def __init__(self, target):
        super().__init__()
        self.target = target

    def on_epoch_end(self, epoch, logs=None):
        if logs["val_accuracy"] >= self.target:
            print(f"epoch {epoch + 1}: val_accuracy {logs['val_accuracy']:.4f} >= {self.target}, stopping")
            self.model.stop_training = True


class EpochTimer(keras.callbacks.Callback):
    """Prints the seconds each epoch took and the optimizer's learning rate."""

    def on_epoch_begin(self, epoch, logs=None):
        self.start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        seconds = time.perf_counter() - self.start
        print(f"epoch {epoch + 1}: {seconds:.1f} s, learning rate {self.model.optimizer.learning_rate:g}")


keras.utils.set_random_seed(0)
(x, y), _ = keras.datasets.mnist.load_data()
if quick:
    x, y = x[:1000], y[:1000]
x = x.reshape(-1, 28, 28, 1).astype("float32") / 255.0

model = keras.Sequential([
    keras.Input(shape=(28, 28, 1)),
    keras.layers.Conv2D(16, 3, activation="relu"),
    keras.layers.MaxPooling2D(2),
    keras.layers.Flatten(),
    keras.layers.Dense(10, activation="softmax"),
])
model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])

recorder = BatchLossRecorder()
with tempfile.TemporaryDirectory() as folder:
    log_file = os.path.join(folder, "training.csv")
    history = model.fit(
        x, y, epochs=3 if quick else 10, batch_size=32, validation_split=0.2, verbose=0,
        callbacks=[
            recorder,
            StopAtAccuracy(0.75 if quick else 0.98),
            EpochTimer(),
            # Built-in callbacks mix with custom ones in the same list.
            keras.callbacks.EarlyStopping(monitor="val_loss", patience=2, restore_best_weights=True),
            keras.callbacks.CSVLogger(log_file),
            keras.callbacks.LambdaCallback(
                on_train_end=lambda logs: print("training finished")),
        ],
    )
    with open(log_file) as f:
        print("CSVLogger wrote:", f.readline().strip(), f"+ {len(f.readlines())} epoch line(s)")

print(f"{len(recorder.losses)} batch losses recorded: first {recorder.losses[0]:.3f}, "
      f"last {recorder.losses[-1]:.3f}")
print("epochs run:", len(history.history["loss"]))
