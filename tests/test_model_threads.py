"""One model used from several Python threads at once.

predict and evaluate keep every per-batch state (activations, reused arrays, metric totals)
in their own run, so concurrent calls on one model must each return exactly what a serial
call returns. Training one model from two threads at once is refused with a RuntimeError.
"""

import threading

import numpy as np
import pytest

import fastconv as keras
from fastconv import layers

THREADS = 4
ROUNDS = 3


def _model():
    keras.utils.set_random_seed(11)
    model = keras.Sequential([
        keras.Input(shape=(10, 10, 2)),
        layers.Conv2D(6, 3, padding="same", activation="relu"),
        layers.MaxPooling2D(2),
        layers.BatchNormalization(),
        layers.Flatten(),
        layers.Dropout(0.3),
        layers.Dense(4, activation="softmax"),
    ])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def _run_in_threads(work):
    """Runs work(thread_index) in THREADS threads started together; returns their results."""
    results, errors = [None] * THREADS, []
    barrier = threading.Barrier(THREADS)

    def target(index):
        try:
            barrier.wait()
            results[index] = [work(index) for _ in range(ROUNDS)]
        except Exception as error:  # reported in the main thread
            errors.append(error)

    threads = [threading.Thread(target=target, args=(i,)) for i in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors
    return results


def test_concurrent_predict_and_evaluate_equal_serial_results():
    model = _model()
    rng = np.random.default_rng(0)
    # A different data set per thread, so a shared buffer or total would show.
    xs = [rng.standard_normal((37, 10, 10, 2)).astype(np.float32) for _ in range(THREADS)]
    ys = [rng.integers(0, 4, 37) for _ in range(THREADS)]
    model.fit(xs[0], ys[0], epochs=1, batch_size=8, verbose=0)  # non-trivial BN statistics
    serial_predict = [model.predict(x, batch_size=5) for x in xs]
    serial_evaluate = [model.evaluate(x, y, batch_size=5, verbose=0) for x, y in zip(xs, ys)]

    def work(i):
        if i % 2:
            return model.evaluate(xs[i], ys[i], batch_size=5, verbose=0)
        return model.predict(xs[i], batch_size=5)

    for i, rounds in enumerate(_run_in_threads(work)):
        for result in rounds:
            if i % 2:
                assert result == serial_evaluate[i]
            else:
                np.testing.assert_array_equal(result, serial_predict[i])


def test_concurrent_eager_calls_equal_serial_results():
    model = _model()
    rng = np.random.default_rng(1)
    xs = [rng.standard_normal((3 + i, 10, 10, 2)).astype(np.float32) for i in range(THREADS)]
    serial = [model(x, training=False) for x in xs]
    for i, rounds in enumerate(_run_in_threads(lambda i: model(xs[i], training=False))):
        for result in rounds:
            np.testing.assert_array_equal(result, serial[i])


def test_training_from_a_second_thread_is_refused():
    model = _model()
    rng = np.random.default_rng(2)
    x, y = rng.standard_normal((16, 10, 10, 2)).astype(np.float32), rng.integers(0, 4, 16)
    seen = []

    class TrainAgainFromAnotherThread(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            if batch == 0:
                def train():
                    try:
                        model.train_on_batch(x[:4], y[:4])
                    except RuntimeError as error:
                        seen.append(str(error))
                thread = threading.Thread(target=train)
                thread.start()
                thread.join()

    model.fit(x, y, batch_size=8, epochs=1, verbose=0, callbacks=[TrainAgainFromAnotherThread()])
    assert len(seen) == 1 and "already training in another thread" in seen[0]
    assert model.optimizer.iterations == 2  # only fit's own steps ran
    model.train_on_batch(x[:4], y[:4])  # the lock was released after fit
