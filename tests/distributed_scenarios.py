"""Programs that tests/test_distributed.py launches as 2-rank MPI jobs: `python
distributed_scenarios.py NAME OUTDIR` runs the scenario NAME on every rank. Each checks what it
can on the ranks (raising on a mismatch, which aborts the job) and rank 0 writes what the test
compares against a 1-process run to OUTDIR.
"""

import json
import pathlib
import re
import sys
import threading
import time

import numpy as np
from mpi4py import MPI  # the checks compare ranks through MPI itself, not through fastconv

import fastconv as keras
from fastconv import distributed

comm = MPI.COMM_WORLD
SHAPES = [(), (1,), (7,), (3, 4, 5), (2, 1000)]


def per_rank_array(shape, dtype, rank):
    return np.random.default_rng(100 + rank).normal(size=shape).astype(dtype)


def collectives(outdir):
    rank, size = distributed.rank(), distributed.size()
    assert size == 2 and rank == comm.Get_rank(), (rank, size)
    for dtype in (np.float32, np.float64):
        for shape in SHAPES:
            a0, a1 = (per_rank_array(shape, dtype, r) for r in range(2))
            mine = per_rank_array(shape, dtype, rank)
            np.testing.assert_array_equal(distributed.allreduce(mine, op="sum"), a0 + a1)
            # one addition of two values, then a division by 2: exact in the array's dtype
            np.testing.assert_array_equal(distributed.allreduce(mine), np.divide(a0 + a1, 2))
            in_place = mine.copy()
            assert distributed.allreduce(in_place, out=in_place) is in_place
            np.testing.assert_array_equal(in_place, np.divide(a0 + a1, 2))
            strided = np.stack([mine, mine], axis=-1)[..., 0]  # a non-contiguous input
            np.testing.assert_array_equal(distributed.allreduce(strided, op="sum"), a0 + a1)
            for root in (0, 1):
                received = mine.copy()
                assert distributed.broadcast(received, root=root) is received
                np.testing.assert_array_equal(received, (a0, a1)[root])
            np.testing.assert_array_equal(mine, per_rank_array(shape, dtype, rank))  # inputs kept
    counts = np.array([rank + 1, 10 * rank], dtype=np.int64)
    np.testing.assert_array_equal(distributed.allreduce(counts, op="sum"), [3, 10])
    try:  # different shapes on the ranks: the same clear error on both, no hang
        distributed.allreduce(np.zeros(3 + rank))
    except ValueError as error:
        assert "same shapes and dtypes" in str(error), error
    else:
        raise AssertionError("allreduce accepted different shapes on the ranks")
    # allgather: uneven first axes (rank 1 holds none of the float rows), rank order kept
    rows = np.arange(12.0).reshape(4, 3)[:3] if rank == 0 else np.empty((0, 3))
    np.testing.assert_array_equal(distributed.allgather(rows), np.arange(9.0).reshape(3, 3))
    labels = np.array([10 * rank, 10 * rank + 1], dtype=np.int32)
    assert distributed.allgather(labels).tolist() == [0, 1, 10, 11]
    try:
        distributed.allgather(np.zeros((1, 2 + rank)))
    except ValueError as error:
        assert "same shape after the first axis" in str(error), error
    else:
        raise AssertionError("allgather accepted different row shapes")
    distributed.barrier()
    print(f"rank {rank}: collectives ok", flush=True)


def small_model(seed):
    keras.utils.set_random_seed(seed)
    model = keras.Sequential([
        keras.layers.Input(shape=(6, 6, 1)),
        keras.layers.Conv2D(4, 3, activation="relu"),
        keras.layers.Flatten(),
        keras.layers.Dense(3, activation="softmax"),
    ])
    return model


def training_data(batch, steps):
    rng = np.random.default_rng(7)
    x = rng.normal(size=(steps, 2 * batch, 6, 6, 1)).astype(np.float32)
    y = rng.integers(0, 3, size=(steps, 2 * batch))
    return x, y


def gathered_weights_equal(model):
    """Whether every rank holds bitwise the same weights (compared on every rank)."""
    everyone = comm.allgather([w.tobytes() for w in model.weights])
    return all(other == everyone[0] for other in everyone)


def train_on_batch(outdir, batch=5, steps=4):
    rank = distributed.rank()
    model = small_model(seed=1 + rank)  # different start on each rank: the broadcast must fix it
    model.compile(optimizer=distributed.DistributedOptimizer(keras.optimizers.Adam(0.01)),
                  loss="sparse_categorical_crossentropy")
    assert not gathered_weights_equal(model)
    distributed.broadcast_variables(model)
    assert gathered_weights_equal(model)
    initial = [w.copy() for w in model.weights]
    x, y = training_data(batch, steps)
    for step in range(steps):
        shard = slice(rank * batch, (rank + 1) * batch)
        model.train_on_batch(x[step, shard], y[step, shard])
        assert gathered_weights_equal(model), f"weights differ between ranks after step {step}"
    if rank == 0:
        np.savez(pathlib.Path(outdir) / "weights.npz", *initial, *model.weights)
    # broadcast_variables also carries a built optimizer's state (slots and step count)
    optimizer = model.optimizer
    if rank == 1:
        optimizer.set_variables([np.array(99)] + [v + 1 for v in optimizer.variables()[1:]])
        model.weights[0][...] += 1
    distributed.broadcast_variables(model)
    state = comm.allgather([np.asarray(v).tobytes() for v in optimizer.variables()])
    assert state[0] == state[1] and optimizer.iterations == steps, optimizer.iterations
    assert gathered_weights_equal(model)
    print(f"rank {rank}: train_on_batch ok", flush=True)


def uneven_least_squares(outdir):
    """A hand-written loop with ranks holding 3 and 5 samples: sample_count weighs each rank."""
    rank = distributed.rank()
    rng = np.random.default_rng(3)
    x, y = rng.normal(size=(8, 4)), rng.normal(size=8)
    mine = slice(0, 3) if rank == 0 else slice(3, 8)
    w = np.zeros(4)
    optimizer = distributed.DistributedOptimizer(keras.optimizers.SGD(0.1))
    for _ in range(5):
        residual = x[mine] @ w - y[mine]
        grad = 2 * x[mine].T @ residual / len(residual)  # mean squared error over this rank's rows
        optimizer.apply([grad], [w], sample_count=len(residual))
    if rank == 0:
        np.save(pathlib.Path(outdir) / "w.npy", w)
    print(f"rank {rank}: uneven ok", flush=True)


def guide(outdir):
    """The programs of docs/guides/distributed.md as written there; the ranks must end equal."""
    page = pathlib.Path(__file__).resolve().parents[1] / "docs" / "guides" / "distributed.md"
    namespace = {}
    for block in re.findall(r"```python\n(.*?)```", page.read_text(), flags=re.S):
        exec(compile(block, "distributed.md", "exec"), namespace)
    assert gathered_weights_equal(namespace["model"])
    everyone = comm.allgather(namespace["w"].tobytes())
    assert everyone[0] == everyone[1]


# ------------------------------------------------------------------ fit and evaluate
def fit_model(seed, batch_norm=False, dropout=False):
    keras.utils.set_random_seed(seed)
    layers = [keras.layers.Input(shape=(6, 6, 1)), keras.layers.Conv2D(4, 3, activation="relu")]
    if batch_norm:
        layers.append(keras.layers.BatchNormalization())
    layers.append(keras.layers.Flatten())
    if dropout:
        layers.append(keras.layers.Dropout(0.3))
    layers.append(keras.layers.Dense(3, activation="softmax"))
    model = keras.Sequential(layers)
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    return model


def fit_data(samples=29):
    """29 samples: with validation_split=0.2, 23 train in global batches of 8, 8 and 7 (the last
    split 4 + 3 between 2 ranks) and 6 validate."""
    rng = np.random.default_rng(11)
    x = rng.normal(size=(samples, 6, 6, 1)).astype(np.float32)
    y = rng.integers(0, 3, size=samples)
    sample_weight = rng.uniform(0.5, 2.0, size=samples)
    return x, y, sample_weight


FIT_ARGUMENTS = dict(batch_size=8, epochs=3, validation_split=0.2, shuffle=False, verbose=0)


def same_on_every_rank(value):
    everyone = comm.allgather(value)
    return all(other == everyone[0] for other in everyone)


class CheckRanksAgree(keras.callbacks.Callback):
    """After every step: bitwise-equal trainable weights and logs on every rank; after every
    epoch (moving statistics averaged): every weight."""

    def __init__(self):
        super().__init__()
        self.steps = 0

    def on_train_batch_end(self, batch, logs=None):
        trainable = [np.asarray(w).tobytes() for w in self.model.trainable_weights]
        assert same_on_every_rank(trainable), f"trainable weights differ after step {batch}"
        assert same_on_every_rank(logs), f"batch logs differ: {logs}"
        self.steps += 1

    def on_epoch_end(self, epoch, logs=None):
        assert gathered_weights_equal(self.model), f"weights differ after epoch {epoch}"
        assert same_on_every_rank(logs), f"epoch logs differ: {logs}"


def fit_equivalence(outdir):
    """Ranks start from different weights; rank 0 writes its start, end, history and evaluate
    for the test to compare with one process."""
    rank = distributed.rank()
    model = fit_model(seed=1 + rank)
    initial = [np.array(w) for w in model.weights]
    x, y, sample_weight = fit_data()
    check = CheckRanksAgree()
    history = model.fit(x, y, sample_weight=sample_weight, callbacks=[check], **FIT_ARGUMENTS)
    assert check.steps == 3 * 3, check.steps  # every rank ran every global batch's step
    assert same_on_every_rank(history.history)
    evaluated = model.evaluate(x, y, batch_size=7, return_dict=True, verbose=0)
    assert same_on_every_rank(evaluated), evaluated
    rank_0_initial = comm.bcast(initial, root=0)
    if rank == 0:
        np.savez(pathlib.Path(outdir) / "weights.npz", *rank_0_initial, *model.weights)
        (pathlib.Path(outdir) / "results.json").write_text(
            json.dumps({"history": history.history, "evaluate": evaluated}))
    print(f"rank {rank}: fit ok", flush=True)


def two_input_model(seed):
    """A functional model with two inputs and two outputs (data as lists, losses per output)."""
    keras.utils.set_random_seed(seed)
    image, extra = keras.Input(shape=(6, 6, 1)), keras.Input(shape=(3,))
    features = keras.layers.Flatten()(keras.layers.Conv2D(2, 3, activation="relu")(image))
    joined = keras.layers.Concatenate()([features, extra])
    # named: the log keys ("classes_loss", ...) must not depend on the layers made before
    classes = keras.layers.Dense(3, activation="softmax", name="classes")(joined)
    value = keras.layers.Dense(1, name="value")(joined)
    model = keras.Model(inputs=[image, extra], outputs=[classes, value])
    model.compile(optimizer=keras.optimizers.Adam(0.01),
                  loss=["sparse_categorical_crossentropy", "mean_squared_error"],
                  metrics=[["accuracy"], []])
    return model


def two_input_data():
    x, y, _ = fit_data()
    rng = np.random.default_rng(12)
    return [x, rng.normal(size=(len(x), 3)).astype(np.float32)], [y, rng.normal(size=len(x))]


# global batches of 11, 11 and 1: rank 1's share of the last is empty
TWO_INPUT_ARGUMENTS = {**FIT_ARGUMENTS, "batch_size": 11}


def fit_two_inputs(outdir):
    """Several inputs and outputs, and an empty share: the same global-batch semantics
    (compared by the test)."""
    rank = distributed.rank()
    model = two_input_model(seed=1 + rank)
    initial = comm.bcast([np.array(w) for w in model.weights], root=0)
    x, y = two_input_data()
    check = CheckRanksAgree()
    history = model.fit(x, y, callbacks=[check], **TWO_INPUT_ARGUMENTS)
    assert check.steps == 3 * 3 and same_on_every_rank(history.history)
    if rank == 0:
        np.savez(pathlib.Path(outdir) / "weights.npz", *initial, *model.weights)
        (pathlib.Path(outdir) / "results.json").write_text(json.dumps(history.history))
    print(f"rank {rank}: two inputs ok", flush=True)


def fit_batch_norm_dropout(outdir):
    """With BatchNormalization and Dropout: the ranks still agree after every step (trainable)
    and epoch (all), draw different dropout masks, and `save` keeps the averaged statistics."""
    rank = distributed.rank()
    model = fit_model(seed=0, batch_norm=True, dropout=True)  # same seed: dropout must differ
    x, y, _ = fit_data()
    model.fit(x, y, batch_size=8, epochs=2, shuffle=True, verbose=0, callbacks=[CheckRanksAgree()])
    assert not same_on_every_rank(keras.backend.random_generator().random()), \
        "the ranks' random streams are equal"
    dropout = model.layers[-2]
    assert not same_on_every_rank(dropout.forward(type("S", (), {})(), np.ones((4, 8), np.float32),
                                                  training=True).tobytes()), "same dropout masks"
    model.save(pathlib.Path(outdir) / "model.keras")
    distributed.barrier()  # rank 0 has written the file
    saved = keras.models.load_model(pathlib.Path(outdir) / "model.keras")
    for mine, written in zip(model.weights, saved.weights):
        np.testing.assert_array_equal(np.asarray(mine), np.asarray(written))
    print(f"rank {rank}: batch norm ok", flush=True)


def fit_sample_coverage(outdir):
    """Shuffled epochs: every training sample reaches exactly one rank's step once per epoch."""
    rank = distributed.rank()
    model = fit_model(seed=0)
    x, y, _ = fit_data(samples=31)
    x[:, 0, 0, 0] = np.arange(len(x))  # each sample carries its index
    seen = []
    train_step = model._train_step

    def recording_train_step(run, tracker, batch_x, *rest):
        seen[-1].extend(batch_x[:, 0, 0, 0].astype(int).tolist())
        return train_step(run, tracker, batch_x, *rest)

    class NewEpoch(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            seen.append([])

    model._train_step = recording_train_step
    model.fit(x, y, batch_size=6, epochs=3, validation_split=0.1, verbose=0,
              callbacks=[NewEpoch()])
    everyone = comm.allgather(seen)
    train = len(x) - 4  # validation_split=0.1 of 31 holds out the last 4
    for epoch in range(3):
        together = sorted(sum((ranks_seen[epoch] for ranks_seen in everyone), []))
        assert together == list(range(train)), (epoch, together)
    assert everyone[0][0] != everyone[0][1], "the order did not change between epochs"
    print(f"rank {rank}: coverage ok", flush=True)


def fit_files(outdir):
    """Only rank 0 writes files and prints (each rank names its files after itself)."""
    rank = distributed.rank()
    outdir = pathlib.Path(outdir)
    model = fit_model(seed=0)
    x, y, _ = fit_data()
    model.fit(x, y, batch_size=8, epochs=2, validation_split=0.2, verbose=2, callbacks=[
        keras.callbacks.CSVLogger(outdir / f"log_{rank}.csv"),
        keras.callbacks.ModelCheckpoint(outdir / f"checkpoint_{rank}.keras", verbose=1),
        keras.callbacks.EarlyStopping(monitor="loss", patience=0, min_delta=10, verbose=1)])
    model.save(outdir / f"model_{rank}.keras")
    model.save_weights(outdir / f"model_{rank}.weights.h5")
    model.evaluate(x, y, verbose=1)


def fit_refusals(outdir):
    """What fit cannot split raises the same clear error on every rank (no hang)."""
    model = fit_model(seed=0)
    x, y, _ = fit_data()

    def batches():
        yield x[:8], y[:8]

    for call, error, message in [
        (lambda: model.fit(batches(), verbose=0), TypeError, "give each rank its own shard"),
        (lambda: model.fit(x, y, batch_size=1, verbose=0), ValueError, "at least 2"),
        (lambda: model.evaluate(x[:1], y[:1], verbose=0), ValueError, "at least 2"),
    ]:
        try:
            call()
        except error as raised:
            assert message in str(raised), raised
        else:
            raise AssertionError(f"no {error.__name__} with {message!r}")
    summing = fit_model(seed=0)
    summing.compile(optimizer="adam",
                    loss=keras.losses.SparseCategoricalCrossentropy(reduction="sum"))
    try:
        summing.fit(x, y, verbose=0)
    except ValueError as raised:
        assert "reduction='sum'" in str(raised), raised
    else:
        raise AssertionError("a summed loss was accepted")
    distributed.barrier()  # the ranks are still in step
    print(f"rank {distributed.rank()}: refusals ok", flush=True)


def fit_raise_on_rank_1(outdir):
    class Fail(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            if distributed.rank() == 1 and batch == 1:
                raise RuntimeError("rank 1 fails on purpose")

    x, y, _ = fit_data()
    fit_model(seed=0).fit(x, y, batch_size=4, epochs=50, verbose=0, callbacks=[Fail()])


def cli_train(outdir):
    """`fastconv train --distributed` on a small stand-in for MNIST (tests/test_cli.py's)."""
    sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
    from test_cli import tiny_digits

    from fastconv import cli

    cli.load_dataset = tiny_digits
    status = cli.main(["train", "--distributed", "--epochs", "2", "--batch-size", "16",
                       "--verbose", "2", "--output", str(pathlib.Path(outdir) / "model.keras")])
    assert status == 0, status


def raise_on_rank_1(outdir):
    distributed.barrier()
    if distributed.rank() == 1:
        raise RuntimeError("rank 1 fails on purpose")
    distributed.barrier()  # rank 0 would wait here forever without the abort


def raise_in_a_thread_on_rank_1(outdir):
    distributed.barrier()
    if distributed.rank() == 1:
        def fail():
            raise RuntimeError("rank 1 fails on purpose")
        thread = threading.Thread(target=fail)
        thread.start()
        thread.join()
        time.sleep(300)  # only the abort ends this rank (and rank 0, waiting below)
    distributed.barrier()


def stall(outdir):
    distributed.barrier()
    if distributed.rank() == 0:
        time.sleep(300)  # never reaches the barrier rank 1 waits in
    distributed.barrier()


if __name__ == "__main__":
    keras.set_num_threads(1)
    distributed.init()
    globals()[sys.argv[1]](sys.argv[2])
