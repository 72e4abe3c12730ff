"""Programs that tests/test_distributed.py launches as 2-rank MPI jobs: `python
distributed_scenarios.py NAME OUTDIR` runs the scenario NAME on every rank. Each checks what it
can on the ranks (raising on a mismatch, which aborts the job) and rank 0 writes what the test
compares against a 1-process run to OUTDIR.
"""

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
