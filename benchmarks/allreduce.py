"""The cost of averaging a model's gradients over 2 ranks on one machine (loopback / shared memory).

    OMP_NUM_THREADS=1 mpirun -n 2 python benchmarks/allreduce.py
    OMP_NUM_THREADS=1 mpirun -n 2 python benchmarks/allreduce.py --samples 200 --sizes 333526

(as root, Open MPI also needs OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1.)

For each gradient size (float32 values; the defaults are the parameter counts of the tutorial CNN
and of the large CNN), three medians over `--samples` calls, each call started after a barrier so
that the time is the collective's and not the ranks' skew:
- `MPI`: mpi4py's in-place `Allreduce(SUM)` on one flat buffer, the floor;
- `allreduce`: `fastconv.distributed.allreduce(buffer, out=buffer)` (its cross-rank shape check,
  the Allreduce and the division by the number of ranks);
- `step overhead`: `DistributedOptimizer(SGD).apply_gradients` minus the plain `SGD` step on the
  same 8 gradient arrays: what averaging adds to a training step (copy into the flat buffer,
  Allreduce, division).
Results are checked before timing. Rank 0 prints the table.
"""

import argparse
import statistics
import time

import numpy as np

import fastconv as keras
from fastconv import distributed
from fastconv.bench.runner import machine_info


def median_ms(fn, samples, comm):
    fn()  # warm-up (and first-call buffer allocation)
    times = []
    for _ in range(samples):
        comm.Barrier()
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    # the slowest rank's time is the job's
    return 1e3 * max(comm.allgather(statistics.median(times)))


def gradient_arrays(size, rank, parts=8):
    """`size` float32 values in `parts` arrays, as a model's layers hold them."""
    values = np.random.default_rng(rank).normal(size=size).astype(np.float32)
    return [part.copy() for part in np.array_split(values, parts)]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="333526,5259594", help="float32 values per gradient")
    parser.add_argument("--samples", type=int, default=50)
    args = parser.parse_args()
    distributed.init()
    if distributed.size() < 2:
        raise SystemExit("run under an MPI launcher: mpirun -n 2 python benchmarks/allreduce.py")
    from mpi4py import MPI

    comm, rank = MPI.COMM_WORLD, distributed.rank()
    rows = []
    for size in (int(s) for s in args.sizes.split(",")):
        buffer = np.random.default_rng(rank).normal(size=size).astype(np.float32)
        expected = sum(np.random.default_rng(r).normal(size=size).astype(np.float32)
                       for r in range(distributed.size()))
        check = buffer.copy()
        comm.Allreduce(MPI.IN_PLACE, check, op=MPI.SUM)
        np.testing.assert_allclose(check, expected, rtol=1e-6)
        raw = median_ms(lambda: comm.Allreduce(MPI.IN_PLACE, buffer, op=MPI.SUM), args.samples,
                        comm)
        helper = median_ms(lambda: distributed.allreduce(buffer, out=buffer), args.samples, comm)

        grads, weights = gradient_arrays(size, rank), [np.zeros(g.shape, np.float32) for g in
                                                       gradient_arrays(size, 0)]
        averaging = distributed.DistributedOptimizer(keras.optimizers.SGD(0.5))
        averaging.apply_gradients(zip(grads, weights))  # one step from 0: w = -0.5 * mean gradient
        mean = sum(np.concatenate(gradient_arrays(size, r)) for r in range(distributed.size()))
        mean /= distributed.size()
        np.testing.assert_allclose(np.concatenate(weights), -0.5 * mean, rtol=1e-5, atol=1e-6)
        plain = keras.optimizers.SGD(0.5)
        step = median_ms(lambda: averaging.apply_gradients(zip(grads, weights)), args.samples, comm)
        base = median_ms(lambda: plain.apply_gradients(zip(grads, weights)), args.samples, comm)
        rows.append((size, raw, helper, step - base, step))
    if rank == 0:
        library = MPI.Get_library_version().splitlines()[0]
        print(f"{distributed.size()} ranks, {machine_info()['cpu']}, {library}")
        print(f"median of {args.samples} calls, ms (slowest rank)")
        print(f"{'floats':>10} {'MB':>6} {'MPI':>8} {'allreduce':>10} {'step overhead':>14} "
              f"{'wrapped step':>13} {'GB/s (MPI)':>11}")
        for size, raw, helper, overhead, step in rows:
            mb = 4 * size / 1e6
            print(f"{size:>10} {mb:>6.2f} {raw:>8.3f} {helper:>10.3f} {overhead:>14.3f} "
                  f"{step:>13.3f} {mb / raw:>11.2f}")


if __name__ == "__main__":
    main()
