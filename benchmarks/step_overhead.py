"""Python overhead of a training step of the tutorial CNN, and its share of the step.

    python benchmarks/step_overhead.py
    python benchmarks/step_overhead.py --rounds 7 --tiny-steps 300 --steps 30 --profile
    python benchmarks/step_overhead.py --threads 2 --baseline ../main

The tutorial CNN (Conv32-Pool-Conv64-Pool-Dense100-Dropout-Dense10, Adam, sparse categorical
crossentropy, accuracy) trains through `model.fit`, and the same step is also written straight
through `fastconv.ops` and NumPy with arrays allocated once ("bare"): the gather of a shuffled
batch, both convolutions with fused ReLU, both max pools, the dense layers, a dropout mask,
softmax and the crossentropy, its fused logits gradient, every backward op (ReLU fused into the
pooling backward, no input gradient for the first convolution), eight Adam updates and the
accuracy. Before timing, both compute the same loss from the same weights and batch.

- overhead: the same layer stack on 4x4x1 inputs at batch 1, where the arithmetic is negligible,
  so `fit` per step minus `bare` per step is what the framework adds per step (layer dispatch,
  plans, loss and metric bookkeeping, callbacks). The ops' own argument checks are in both.
- step: `fit` per step of the real tutorial CNN (28x28x1) at `--batch`.

Rounds alternate the loops so machine noise falls on all of them; each figure is the median
over `--rounds`, the overhead the median of each round's difference. The tiny fit step is
mostly Python (the ops' checks and calls, the loop, loss, metrics and optimizer) but not only:
its kernels still cost their fixed price per call (threads, packing the full-size weights of
the second convolution and the dense layers, Adam over every weight). So the same step's
compiled kernel calls are also timed alone ("kernels only", on the bare loop's arrays), and
"all Python" is the tiny fit step minus them, as a share of the real step. `--baseline TREE` times another tree
(say a worktree of main, built in place) against this one, in processes that alternate round
by round: the before/after of a change to the Python side. Reported: overhead in
microseconds and as a share of the step. `--profile` prints cProfile's view of the tiny fit
(fastconv's functions by own time), to see where the overhead goes.
"""

import argparse
import cProfile
import importlib
import json
import os
import pstats
import statistics
import subprocess
import sys
import time

import numpy as np

import fastconv as keras
from fastconv import ops
from fastconv._ext import _conv, _pool

# the modules (the `fastconv.ops` names are their functions), for the kernels' geometry
conv2d_module = importlib.import_module("fastconv.ops.conv2d")
pool2d_module = importlib.import_module("fastconv.ops.pool2d")

TUTORIAL_PARAMS = 333_526


def tutorial_cnn(size):
    """The tutorial CNN's layer stack for `size` x `size` x 1 inputs, compiled."""
    layers = keras.layers
    model = keras.Sequential([
        keras.Input((size, size, 1)),
        layers.Conv2D(32, 3, activation="relu", padding="same"),
        layers.MaxPooling2D(2),
        layers.Conv2D(64, 3, activation="relu", padding="same"),
        layers.MaxPooling2D(2),
        layers.Flatten(),
        layers.Dense(100, activation="relu"),
        layers.Dropout(0.4),
        layers.Dense(10, activation="softmax"),
    ])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


class BareStep:
    """The tutorial CNN's training step without the framework (see the module docstring)."""

    def __init__(self, model, batch):
        conv1, _, conv2, _, _, dense1, dropout, dense2 = model.layers
        self.weights = [np.copy(w) for w in (conv1.kernel, conv1.bias, conv2.kernel, conv2.bias,
                                             dense1.kernel, dense1.bias, dense2.kernel,
                                             dense2.bias)]
        self.slots = [(np.zeros_like(w), np.zeros_like(w)) for w in self.weights]
        self.rate = dropout.rate
        self.step = 0
        size = model.input_shape[1]
        f32 = np.float32
        self.a1 = np.empty((batch, size, size, 32), f32)
        self.p1 = np.empty((batch, size // 2, size // 2, 32), f32)
        self.a2 = np.empty((batch, size // 2, size // 2, 64), f32)
        self.p2 = np.empty((batch, size // 4, size // 4, 64), f32)
        self.h = np.empty((batch, 100), f32)
        self.z = np.empty((batch, 10), f32)
        self.grads = [np.empty_like(w) for w in self.weights]
        self.dhd = np.empty((batch, 100), f32)
        self.dh = np.empty((batch, 100), f32)
        self.df = np.empty((batch, self.p2[0].size), f32)
        self.da2 = np.empty_like(self.a2)
        self.dp1 = np.empty_like(self.p1)
        self.da1 = np.empty_like(self.a1)
        self.rng = np.random.default_rng(0)

    def __call__(self, x, y, index, dropout=True):
        """One step on the samples `index` of (x, y); returns (loss, accuracy)."""
        k1, b1, k2, b2, k3, b3, k4, b4 = self.weights
        dk1, db1, dk2, db2, dk3, db3, dk4, db4 = self.grads
        xb, yb = x[index], y[index].astype(np.intp)
        n = len(xb)
        ops.conv2d(xb, k1, b1, activation="relu", padding="same", out=self.a1)
        ops.max_pool2d(self.a1, 2, out=self.p1)
        ops.conv2d(self.p1, k2, b2, activation="relu", padding="same", out=self.a2)
        ops.max_pool2d(self.a2, 2, out=self.p2)
        flat = self.p2.reshape(n, -1)
        ops.matmul(flat, k3, b3, activation="relu", out=self.h)
        if dropout:
            mask = (self.rng.random((n, 100), dtype=np.float32) >= self.rate) * \
                np.float32(1 / (1 - self.rate))
        else:
            mask = np.float32(1)
        hd = self.h * mask
        ops.matmul(hd, k4, b4, out=self.z)
        e = np.exp(self.z - self.z.max(axis=-1, keepdims=True))
        probs = e / e.sum(axis=-1, keepdims=True)
        picked = probs[np.arange(n), yb]
        loss = float(-np.mean(np.log(np.clip(picked, 1e-7, 1 - 1e-7)), dtype=np.float64))
        dz = probs.copy()
        dz[np.arange(n), yb] -= 1
        dz *= np.float32(1 / n)
        ops.matmul(hd.T, dz, out=dk4)
        np.sum(dz, axis=0, out=db4)
        ops.matmul(dz, k4.T, out=self.dhd)
        np.multiply(self.dhd, mask, out=self.dh)
        ops.relu_backward(self.dh, self.h, out=self.dh)
        ops.matmul(flat.T, self.dh, out=dk3)
        np.sum(self.dh, axis=0, out=db3)
        ops.matmul(self.dh, k3.T, out=self.df)
        ops.max_pool2d_backward(self.df.reshape(self.p2.shape), self.a2, 2, relu=True,
                                out=self.da2)
        ops.conv2d_backward(self.da2, self.p1, k2, padding="same", out=(self.dp1, dk2, db2))
        ops.max_pool2d_backward(self.dp1, self.a1, 2, relu=True, out=self.da1)
        ops.conv2d_backward(self.da1, xb, k1, padding="same", compute_dx=False,
                            out=(None, dk1, db1))
        self.step += 1
        alpha = 1e-3 * np.sqrt(1 - 0.999 ** self.step) / (1 - 0.9 ** self.step)
        for var, grad, (m, v) in zip(self.weights, self.grads, self.slots):
            ops.adam_update(var, m, v, grad, alpha=alpha, beta_1=0.9, beta_2=0.999, epsilon=1e-7)
        return loss, float(np.mean(probs.argmax(-1) == yb))


class KernelsOnly:
    """The compiled kernel calls of `BareStep`'s step alone, on its arrays: the step's arithmetic
    and the kernels' fixed cost per call (threads, packing), which no Python change removes.
    Subtracted from the tiny fit step it leaves the step's Python (see the module docstring)."""

    def __init__(self, bare, batch):
        self.bare = bare
        k1, _, k2, _, _, _, _, _ = bare.weights
        size = bare.a1.shape[1]
        self.g1 = conv2d_module._geometry((batch, size, size, 1), k1.shape, 1, "same", 1, 1)[0]
        self.g2 = conv2d_module._geometry(bare.p1.shape, k2.shape, 1, "same", 1, 1)[0]
        self.q1 = pool2d_module._geometry(bare.a1.shape, 2, None, "valid")[0]
        self.q2 = pool2d_module._geometry(bare.a2.shape, 2, None, "valid")[0]
        self.flat_slots = [(w.reshape(-1), m.reshape(-1), v.reshape(-1), g.reshape(-1))
                           for w, (m, v), g in zip(bare.weights, bare.slots, bare.grads)]

    def __call__(self, x, index):
        b, t = self.bare, keras.get_num_threads()
        k1, b1, k2, b2, k3, b3, k4, b4 = b.weights
        dk1, db1, dk2, db2, dk3, _, dk4, _ = b.grads
        xb = np.ascontiguousarray(x[index])
        flat, dz = b.p2.reshape(len(xb), -1), b.z  # dz: any (batch, 10) array will do
        _conv.forward(xb, k1, b1, b.a1, self.g1, t, relu=True)
        _pool.max_pool2d_forward(b.a1, self.q1, t, out=b.p1)
        _conv.forward(b.p1, k2, b2, b.a2, self.g2, t, relu=True)
        _pool.max_pool2d_forward(b.a2, self.q2, t, out=b.p2)
        _conv.matmul(flat, k3, b.h, False, t, b3, True)
        _conv.matmul(b.h, k4, b.z, False, t, b4, False)
        _conv.matmul(b.h.T, dz, dk4, False, t)
        _conv.matmul(dz, k4.T, b.dhd, False, t)
        _conv.relu_backward(b.dh.reshape(-1), b.dhd.reshape(-1), b.h.reshape(-1), t)
        _conv.matmul(flat.T, b.dh, dk3, False, t)
        _conv.matmul(b.dh, k3.T, b.df, False, t)
        _pool.max_pool2d_backward(b.df.reshape(b.p2.shape), b.a2, self.q2, t, out=b.da2, relu=True)
        _conv.backward_weight(b.da2, b.p1, dk2, db2, self.g2, t)
        _conv.backward_input(b.da2, k2, b.dp1, self.g2, t)
        _pool.max_pool2d_backward(b.dp1, b.a1, self.q1, t, out=b.da1, relu=True)
        _conv.backward_weight(b.da1, xb, dk1, db1, self.g1, t)
        for var, m, v, grad in self.flat_slots:
            _conv.adam_update(var, m, v, grad, 1e-4, 0.9, 0.999, 1e-7, t)


class Loops:
    """`fit` and the bare loop over the same data, for one input size and batch size."""

    def __init__(self, size, batch, steps, seed):
        keras.utils.set_random_seed(seed)
        self.model = tutorial_cnn(size)
        self.bare = BareStep(self.model, batch)
        self.kernels = KernelsOnly(self.bare, batch)
        self.batch, self.steps = batch, steps
        rng = np.random.default_rng(seed)
        self.x = rng.random((steps * batch, size, size, 1), dtype=np.float32)
        self.y = rng.integers(0, 10, steps * batch).astype(np.uint8)
        self.check()
        self.fit(), self.run_bare()  # warm-up: optimizer slots, plans, buffers

    def check(self):
        """Both loops compute the model's loss (same weights and batch, no dropout)."""
        x, y = self.x[:self.batch], self.y[:self.batch]
        expected = self.model.evaluate(x, y, batch_size=self.batch, verbose=0)[0]
        loss, _ = self.bare(x, y, slice(0, self.batch), dropout=False)
        self.bare.step = 0
        if not np.isclose(loss, expected, rtol=1e-4):
            raise RuntimeError(f"bare loss {loss} != model loss {expected}: not the same work")

    def fit(self):
        self.model.fit(self.x, self.y, batch_size=self.batch, epochs=1, verbose=0)

    def run_bare(self):
        order = self.bare.rng.permutation(len(self.x))
        for start in range(0, len(self.x), self.batch):
            self.bare(self.x, self.y, order[start:start + self.batch])

    def run_kernels(self):
        order = self.bare.rng.permutation(len(self.x))
        for start in range(0, len(self.x), self.batch):
            self.kernels(self.x, order[start:start + self.batch])

    def per_step(self, loop):
        start = time.perf_counter()
        loop()
        return (time.perf_counter() - start) / self.steps


def measure(args):
    """{loop name: [per-step seconds, one per round]}, rounds alternating the loops."""
    keras.set_num_threads(args.threads)
    tiny = Loops(4, 1, args.tiny_steps, seed=0)
    real = Loops(28, args.batch, args.steps, seed=1)
    if real.model.count_params() != TUTORIAL_PARAMS:
        raise RuntimeError(f"the tutorial CNN has {real.model.count_params():,} parameters, "
                           f"expected {TUTORIAL_PARAMS:,}")
    times = {"tiny fit": [], "tiny bare": [], "tiny kernels": [], "fit": [], "bare": []}
    for _ in range(args.rounds):
        times["tiny fit"].append(tiny.per_step(tiny.fit))
        times["tiny bare"].append(tiny.per_step(tiny.run_bare))
        times["tiny kernels"].append(tiny.per_step(tiny.run_kernels))
        times["fit"].append(real.per_step(real.fit))
        times["bare"].append(real.per_step(real.run_bare))
    return times


def against_baseline(args, argv):
    """Rounds alternating a process on the `--baseline` tree and one on this script's fastconv
    (both run this script, one round each), so load changes fall on both alike."""
    script = os.path.abspath(__file__)
    here = os.path.dirname(os.path.dirname(os.path.abspath(keras.__file__)))
    rest = [a for i, a in enumerate(argv) if not a.startswith("--baseline") and not (
        i and argv[i - 1] == "--baseline")]
    trees = {"baseline": os.path.abspath(args.baseline), "current": here}
    times = {tree: {} for tree in trees}
    for _ in range(args.rounds):
        for tree, path in trees.items():
            env = dict(os.environ, PYTHONPATH=path)
            done = subprocess.run([sys.executable, script, *rest, "--rounds", "1", "--json"],
                                  env=env, cwd=os.path.dirname(script), check=True,
                                  capture_output=True, text=True)
            for name, values in json.loads(done.stdout).items():
                times[tree].setdefault(name, []).extend(values)
    print(f"tutorial CNN, threads {args.threads}, {args.rounds} rounds alternating the trees "
          f"(medians); baseline {trees['baseline']}, current {trees['current']}")
    print("| loop | baseline us/step | current us/step |\n|---|---:|---:|")
    for name in times["current"]:
        print(f"| {name} | {statistics.median(times['baseline'][name]) * 1e6:.0f} | "
              f"{statistics.median(times['current'][name]) * 1e6:.0f} |")
    for tree, kept in times.items():
        fit, tiny = statistics.median(kept["fit"]), statistics.median(kept["tiny fit"])
        python = statistics.median(f - k for f, k in zip(kept["tiny fit"], kept["tiny kernels"]))
        print(f"{tree}: tiny fit step = {tiny / fit:.1%} of the batch-{args.batch} fit step; "
              f"without its kernels (all Python) {python * 1e6:.0f} us = {python / fit:.1%}")
    return 0


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=32, help="batch of the real step")
    parser.add_argument("--steps", type=int, default=20, help="real steps per round")
    parser.add_argument("--tiny-steps", type=int, default=200, help="tiny steps per round")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--baseline", metavar="TREE",
                        help="a source tree with a built fastconv (e.g. a worktree of main) to "
                             "time against, in alternating processes")
    parser.add_argument("--json", action="store_true", help=argparse.SUPPRESS)  # one process
    args = parser.parse_args(argv)
    if args.baseline:
        return against_baseline(args, argv)
    times = measure(args)
    if args.json:
        print(json.dumps(times))
        return 0
    median = {name: statistics.median(values) for name, values in times.items()}
    overhead = statistics.median(f - b for f, b in zip(times["tiny fit"], times["tiny bare"]))
    print(f"tutorial CNN, threads {keras.get_num_threads()}, {args.rounds} interleaved rounds "
          f"(medians); fastconv from {keras.__file__}")
    print("| loop | us/step |\n|---|---:|")
    print(f"| fit, 4x4x1 inputs, batch 1 ({args.tiny_steps} steps) | {median['tiny fit'] * 1e6:.0f} |")
    print(f"| bare, 4x4x1 inputs, batch 1 | {median['tiny bare'] * 1e6:.0f} |")
    print(f"| kernels only, 4x4x1 inputs, batch 1 | {median['tiny kernels'] * 1e6:.0f} |")
    print(f"| fit, 28x28x1, batch {args.batch} ({args.steps} steps) | {median['fit'] * 1e6:.0f} |")
    print(f"| bare, 28x28x1, batch {args.batch} | {median['bare'] * 1e6:.0f} |")
    print(f"overhead: {overhead * 1e6:.0f} us/step = {overhead / median['fit']:.1%} of the "
          f"batch-{args.batch} fit step")
    python = statistics.median(f - k for f, k in zip(times["tiny fit"], times["tiny kernels"]))
    print(f"tiny fit step: {median['tiny fit'] / median['fit']:.1%} of the batch-{args.batch} fit "
          f"step; without its kernels (all Python): {python * 1e6:.0f} us = "
          f"{python / median['fit']:.1%}")
    if args.profile:
        tiny = Loops(4, 1, args.tiny_steps, seed=0)
        profiler = cProfile.Profile()
        profiler.enable()
        tiny.fit()
        profiler.disable()
        pstats.Stats(profiler).sort_stats("tottime").print_stats(r"fastconv/(?!_)", 25)
    return 0


if __name__ == "__main__":
    sys.exit(main())
