"""Data-parallel scaling on one machine: `fit` samples per second of the MNIST tutorial CNN.

    python benchmarks/scaling.py              # the three runs below, twice: ~50 s
    python benchmarks/scaling.py --samples 8192 --epochs 4

(as root, Open MPI also needs OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1.)

Three runs of the same `fit` (global batch `--batch-size`, random 28x28x1 images, Adam), each in
fresh processes that this script starts:
- 1 process with 2 threads (how one process uses the machine);
- 2 ranks with 1 thread each (`mpiexec -n 2`, data-parallel after `fastconv.distributed.init()`);
- 1 rank with 1 thread (the unit the 2-rank run scales from).
Each run times `--epochs` epochs after a warm-up epoch and reports the median epoch's samples
per second; the three runs are repeated `--rounds` times in turn and the best round of each is
kept (on a shared machine, the least disturbed one). The 2-rank run also reports how much of a
step the gradient averaging takes: the time inside the averaging (the Allreduce, and waiting for
the slower rank), the time of a bare Allreduce of the same buffer started after a barrier (the
communication alone), and the metric-sum Allreduce. After training, the 2-rank run checks that
the ranks hold equal weights.
"""

import argparse
import json
import os
import pathlib
import shutil
import statistics
import subprocess
import sys
import time

import numpy as np

HERE = pathlib.Path(__file__).resolve()


def timed(owner, name, totals):
    """Wraps `owner.name` to add its wall time to totals[name]."""
    original = getattr(owner, name)

    def wrapper(*args, **kwargs):
        start = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            totals[name] = totals.get(name, 0.0) + time.perf_counter() - start

    setattr(owner, name, wrapper)


def worker(args):
    """One run: fit and report (rank 0 prints one JSON line)."""
    import fastconv as keras
    from fastconv import cli, distributed
    from fastconv.distributed import averaging, data_parallel

    distributed.init()
    keras.set_num_threads(args.threads)
    rank, size = distributed.rank(), distributed.size()
    totals = {}
    timed(averaging.GradientAverager, "average", totals)
    timed(data_parallel.ReducedTracker, "logs", totals)

    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    x = rng.random((args.samples, 28, 28, 1), dtype=np.float32)
    y = rng.integers(0, 10, args.samples)
    model = cli.build_model()
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    epoch_seconds = []

    class EpochTimer(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            totals.clear()
            self.start = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            epoch_seconds.append((time.perf_counter() - self.start, dict(totals)))

    model.fit(x, y, batch_size=args.batch_size, epochs=1 + args.epochs, verbose=0,
              callbacks=[EpochTimer()])
    steps = -(-args.samples // args.batch_size)
    seconds, spent = sorted(epoch_seconds[1:], key=lambda entry: entry[0])[args.epochs // 2]
    result = {"ranks": size, "threads": keras.get_num_threads(),
              "samples_per_second": args.samples / seconds, "step_ms": 1e3 * seconds / steps}
    if size > 1:
        from mpi4py import MPI

        comm = MPI.COMM_WORLD
        everyone = comm.allgather([np.asarray(w).tobytes() for w in model.weights])
        assert all(weights == everyone[0] for weights in everyone), "the ranks' weights differ"
        gradient = np.ones(sum(int(np.prod(w.shape)) for w in model.trainable_weights) + 1,
                           np.float32)
        bare = []
        for _ in range(50):
            comm.Barrier()
            start = time.perf_counter()
            comm.Allreduce(MPI.IN_PLACE, gradient, op=MPI.SUM)
            bare.append(time.perf_counter() - start)
        result.update({
            "gradient_mb": 4 * gradient.size / 1e6,
            "averaging_ms": 1e3 * spent.get("average", 0.0) / steps,
            "bare_allreduce_ms": 1e3 * max(comm.allgather(statistics.median(bare))),
            "metric_sums_ms": 1e3 * spent.get("logs", 0.0) / steps,
        })
    if rank == 0:
        print("RESULT " + json.dumps(result), flush=True)


def launch(command, threads):
    env = {**os.environ, "OMP_NUM_THREADS": str(threads),
           "OMPI_ALLOW_RUN_AS_ROOT": "1", "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM": "1"}
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=600)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{done.stdout}{done.stderr}")
    line = next(line for line in done.stdout.splitlines() if line.startswith("RESULT "))
    return json.loads(line[len("RESULT "):])


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--samples", type=int, default=4096, help="training samples per epoch")
    parser.add_argument("--batch-size", type=int, default=128, help="the global batch")
    parser.add_argument("--epochs", type=int, default=3, help="timed epochs (after a warm-up)")
    parser.add_argument("--rounds", type=int, default=2, help="repetitions of the three runs")
    parser.add_argument("--threads", type=int, default=1, help=argparse.SUPPRESS)
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        return worker(args)
    from fastconv.bench.runner import machine_info  # the launcher needs fastconv for this alone

    mpiexec = shutil.which("mpiexec", path=os.pathsep.join(
        [str(pathlib.Path(sys.executable).parent), os.environ.get("PATH", "")]))
    if mpiexec is None:
        raise SystemExit('no mpiexec: pip install "fastconv[distributed]"')
    version = subprocess.run([mpiexec, "--version"], capture_output=True, text=True).stdout
    oversubscribe = ["--oversubscribe"] if "Open MPI" in version else []
    common = [str(HERE), "--worker", "--samples", str(args.samples), "--batch-size",
              str(args.batch_size), "--epochs", str(args.epochs)]
    commands = [
        ("1 process x 2 threads", [sys.executable, *common, "--threads", "2"], 2),
        ("2 ranks x 1 thread", [mpiexec, *oversubscribe, "-n", "2", sys.executable, *common,
                                "--threads", "1"], 1),
        ("1 rank x 1 thread", [sys.executable, *common, "--threads", "1"], 1),
    ]
    rounds = [[launch(command, threads) for _, command, threads in commands]
              for _ in range(args.rounds)]
    runs = [(name, max((results[i] for results in rounds),
                       key=lambda result: result["samples_per_second"]))
            for i, (name, _, _) in enumerate(commands)]
    print(f"{machine_info()['cpu']}, {os.cpu_count()} cores; {version.splitlines()[0]}")
    print(f"tutorial CNN, global batch {args.batch_size}, {args.samples} samples per epoch, "
          f"median of {args.epochs} epochs after a warm-up, best of {args.rounds} rounds")
    unit = runs[2][1]["samples_per_second"]
    print(f"{'run':<24}{'samples/s':>10}{'step ms':>9}{'vs 1x1':>8}")
    for name, result in runs:
        print(f"{name:<24}{result['samples_per_second']:>10.0f}{result['step_ms']:>9.1f}"
              f"{result['samples_per_second'] / unit:>7.2f}x")
    ranks = runs[1][1]
    step = ranks["step_ms"]
    print(f"2 ranks, per step of {step:.1f} ms: gradient averaging {ranks['averaging_ms']:.2f} ms "
          f"({100 * ranks['averaging_ms'] / step:.1f}%, incl. waiting for the slower rank), "
          f"bare Allreduce of the {ranks['gradient_mb']:.2f} MB gradient "
          f"{ranks['bare_allreduce_ms']:.2f} ms ({100 * ranks['bare_allreduce_ms'] / step:.1f}%), "
          f"metric sums {ranks['metric_sums_ms']:.3f} ms (incl. waiting)")


if __name__ == "__main__":
    main()
