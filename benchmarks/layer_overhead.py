"""fastconv's Python overhead per layer call, on inputs too small for the arithmetic to count.

    python benchmarks/layer_overhead.py
    python benchmarks/layer_overhead.py --calls 2000 --samples 7 --steps 200

A tiny model, Input 4x4x1 -> Conv2D(2, 3, "same", relu) -> MaxPooling2D(2) -> Flatten ->
Dense(4, relu) -> Dropout(0.5) -> ReLU -> Activation("relu") -> Dense(2, softmax), is built and
run once at batch 1; then each layer's forward `layer.forward(state, x, True)` and backward
`layer.grad(state, dy)` are timed directly on that layer's own input, as the model's executor
runs them (a `CallState` with reused output arrays, input gradient computed; the softmax output
layer through `grad_logits`, the gradient the fused crossentropy hands it). Each time is the median of
`--samples` samples of `--calls` calls (`time.perf_counter_ns`), in microseconds per call, against
the performance issue's target of < 20 us per layer call. Then the whole step:
`model.train_on_batch` at batch 1 (Adam, sparse categorical crossentropy, accuracy) and
`model.fit` over `--steps` batches of 1, divided by the steps (fit's per-call setup spread over
them); their budget is 20 us per layer call, forward and backward of every layer, which also has
to cover the loss, the optimizer and the metrics. The first row is the timing loop's own cost
per call (an empty lambda), included in every other row. Last, the ops under the layers three
ways, interleaved: the op checking every argument (`fastconv.ops`), the call the layer prepared
once per input signature, and the compiled wrapper alone.
"""

import argparse
import os
import platform
import statistics
import sys
import time

import numpy as np

import fastconv as keras
from fastconv import ops
from fastconv._ext import _conv, _pool
from fastconv.bench.runner import machine_info
from fastconv.layers.call_state import CallState
from fastconv.ops.matmul import prepare_matmul
from fastconv.ops.pool2d import prepare_pool2d

TARGET_US = 20.0


def per_call_us(fn, calls, samples):
    """Median over `samples` of the mean time of `calls` calls of `fn`, in microseconds."""
    for _ in range(max(1, calls // 10)):  # warm-up
        fn()
    times = []
    for _ in range(samples):
        start = time.perf_counter_ns()
        for _ in range(calls):
            fn()
        times.append((time.perf_counter_ns() - start) / calls)
    return statistics.median(times) / 1e3


def tiny_model():
    layers = keras.layers
    model = keras.Sequential([
        keras.Input((4, 4, 1)),
        layers.Conv2D(2, 3, padding="same", activation="relu"),
        layers.MaxPooling2D(2),
        layers.Flatten(),
        layers.Dense(4, activation="relu"),
        layers.Dropout(0.5),
        layers.ReLU(),
        layers.Activation("relu"),
        layers.Dense(2, activation="softmax"),
    ])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics="accuracy")
    return model


def layer_rows(model, x, calls, samples):
    """(call, input shape, us/call, budget us) per layer pass, in model order."""
    rows = []
    states = [CallState(reuse_buffers=True) for _ in model.layers]
    inputs = []
    for layer, state in zip(model.layers, states):  # one forward pass: every layer's own input
        inputs.append(x)
        x = layer.forward(state, x, True)
    last = model.layers[-1]
    for layer, state, x_in in zip(model.layers, states, inputs):
        name = describe(layer)
        rows.append((f"{name}.forward", x_in.shape,
                     per_call_us(lambda: layer.forward(state, x_in, True), calls, samples),
                     TARGET_US))
        dy = np.ones_like(layer.forward(state, x_in, True))
        backward = layer.grad_logits if layer is last else layer.grad
        rows.append((f"{name}.{backward.__name__}", dy.shape,
                     per_call_us(lambda: backward(state, dy), calls, samples), TARGET_US))
    return rows


def describe(layer):
    """A short label: the class and what sets its work apart."""
    kind = type(layer).__name__
    activation = getattr(layer, "activation", None)
    act = getattr(activation, "__name__", "")
    if kind == "Conv2D":
        return f"Conv2D({layer.filters}, {layer.kernel_size[0]}, {act})"
    if kind == "Dense":
        return f"Dense({layer.units}, {act})"
    if kind == "Activation":
        return f"Activation({act})"
    if kind == "Dropout":
        return f"Dropout({layer.rate})"
    return kind


def interleaved_us(fns, calls, samples):
    """`per_call_us` of each of `fns`, their samples taken in turn so load falls on all alike."""
    for fn in fns:
        for _ in range(max(1, calls // 10)):  # warm-up
            fn()
    times = [[] for _ in fns]
    for _ in range(samples):
        for fn, kept in zip(fns, times):
            start = time.perf_counter_ns()
            for _ in range(calls):
                fn()
            kept.append((time.perf_counter_ns() - start) / calls)
    return [statistics.median(kept) / 1e3 for kept in times]


def op_rows(model, x, calls, samples):
    """(op, input shape, [eager us, prepared us, compiled us]) for the first Conv2D, MaxPooling2D
    and Dense layers' ops: the op checking every argument (the calls before prepared calls), the
    prepared call the layer runs, and the compiled wrapper alone (what neither can avoid)."""
    conv, pool, dense = (next(layer for layer in model.layers if type(layer).__name__ == kind)
                         for kind in ("Conv2D", "MaxPooling2D", "Dense"))
    threads = keras.get_num_threads()
    k, b = conv.kernel, conv.bias
    cc = conv._call_for(x)
    y = cc.forward(x, k, b)
    dy, dx, dk, db = np.ones_like(y), np.empty_like(x), np.empty_like(k), np.empty_like(b)
    pc = prepare_pool2d("max", y, pool.pool_size)
    p = pc.forward(y)
    dp, dyp = np.ones_like(p), np.empty_like(y)
    flat = p.reshape(len(p), -1)
    mc = prepare_matmul(flat, dense.kernel, dense.bias, activation="relu")
    h = mc(flat, dense.kernel, dense.bias)
    conv_args = dict(padding="same", activation="relu")
    cases = [
        ("conv2d", x.shape, (
            lambda: ops.conv2d(x, k, b, out=y, **conv_args),
            lambda: cc.forward(x, k, b, out=y),
            lambda: _conv.forward(x, k, b, y, cc.geometry, threads, relu=True))),
        ("conv2d_backward", dy.shape, (
            lambda: ops.conv2d_backward(dy, x, k, padding="same", out=(dx, dk, db)),
            lambda: cc.backward(dy, x, k, out=(dx, dk, db)),
            lambda: (_conv.backward_weight(dy, x, dk, db, cc.geometry, threads),
                     _conv.backward_input(dy, k, dx, cc.geometry, threads)))),
        ("max_pool2d", y.shape, (
            lambda: ops.max_pool2d(y, pool.pool_size, out=p),
            lambda: pc.forward(y, out=p),
            lambda: _pool.max_pool2d_forward(y, pc.geometry, threads, out=p))),
        ("max_pool2d_backward", p.shape, (
            lambda: ops.max_pool2d_backward(dp, y, pool.pool_size, out=dyp),
            lambda: pc.backward(dp, y, out=dyp),
            lambda: _pool.max_pool2d_backward(dp, y, pc.geometry, threads, out=dyp))),
        ("matmul", flat.shape, (
            lambda: ops.matmul(flat, dense.kernel, dense.bias, activation="relu", out=h),
            lambda: mc(flat, dense.kernel, dense.bias, out=h),
            lambda: _conv.matmul(flat, dense.kernel, h, False, threads, dense.bias, True))),
    ]
    return [(name, shape, interleaved_us(fns, calls, samples)) for name, shape, fns in cases]


def step_rows(model, x, y, steps, samples):
    """(call, input shape, us/step, budget us) for train_on_batch and for fit per step."""
    budget = TARGET_US * 2 * len(model.layers)
    xb, yb = x[:1], y[:1]
    rows = [(f"train_on_batch ({len(model.layers)} layers)", xb.shape,
             per_call_us(lambda: model.train_on_batch(xb, yb), steps, samples), budget)]

    def fit():
        model.fit(x[:steps], y[:steps], batch_size=1, epochs=1, verbose=0)

    rows.append((f"fit, per step ({steps} steps of batch 1)", xb.shape,
                 per_call_us(fit, 1, samples) / steps, budget))
    return rows


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=2000, help="calls per sample, per layer")
    parser.add_argument("--samples", type=int, default=7, help="samples; the median is shown")
    parser.add_argument("--steps", type=int, default=200,
                        help="train_on_batch calls per sample, and fit steps")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args(argv)
    for name in ("calls", "samples", "steps", "threads"):
        if getattr(args, name) < 1:
            parser.error(f"--{name} must be at least 1")
    return args


def main(argv=None):
    args = parse_args(argv)
    keras.set_num_threads(args.threads)
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    x = rng.random((args.steps, 4, 4, 1), dtype=np.float32)
    y = rng.integers(0, 2, args.steps).astype(np.uint8)
    model = tiny_model()
    model.train_on_batch(x[:1], y[:1])  # optimizer state exists from here on

    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"cpu: {machine_info()['cpu']} | python {platform.python_version()} | numpy {np.__version__} | "
          f"fastconv {keras.__version__} | threads={keras.get_num_threads()} | "
          f"load {load:.2f}")
    print(f"median of {args.samples} samples of {args.calls} calls per layer pass, "
          f"{args.steps} per whole step")
    rows = [("(empty lambda: the timing loop)", (),
             per_call_us(lambda: None, args.calls, args.samples), None)]
    rows += layer_rows(model, x[:1], args.calls, args.samples)
    rows += step_rows(model, x, y, args.steps, args.samples)

    print("| call | input | us/call | target us | meets |")
    print("|---|---|---:|---:|---|")
    for name, shape, us, budget in rows:
        target = "" if budget is None else f"< {budget:g}"
        meets = "" if budget is None else ("yes" if us < budget else "NO")
        print(f"| {name} | {shape} | {us:.2f} | {target} | {meets} |")
    print("\nThe ops under the layers, samples interleaved: checked at every call (the eager op), "
          "prepared once (what the layers run), and the compiled wrapper alone.")
    print("| op | input | eager us | prepared us | compiled us |")
    print("|---|---|---:|---:|---:|")
    for name, shape, (eager, prepared, compiled) in op_rows(model, x[:1], args.calls,
                                                            args.samples):
        print(f"| {name} | {shape} | {eager:.2f} | {prepared:.2f} | {compiled:.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
