"""Training and inference of a CNN: fastconv against PyTorch, in one run.

    python benchmarks/train_compare.py --threads 2 --steps 300 --rounds 3
    python benchmarks/train_compare.py --model large --steps 60 --rounds 3
    python benchmarks/train_compare.py --model large --steps 60 --rounds 3 --only fastconv
    python benchmarks/train_compare.py --model large --steps 60 --rounds 3 --only pytorch
    python benchmarks/train_compare.py --threads 2 --contend 1   # another busy process running

Both frameworks train the same network with Adam on the same random batches of 28x28x1 images
(`--model`):

- `tutorial` (default): the Fashion-MNIST tutorial CNN, Conv32-Pool-Conv64-Pool-Dense100-Dropout-
  Dense10, 333,526 parameters; batch 32 by default; an epoch is 48,000 samples (1,500 steps at
  batch 32).
- `large`: the large MNIST CNN of the performance issue, Conv64-Conv64-Pool-Conv128-
  Conv256(valid)-Pool-Dense512-Dropout-Dense256-Dropout-Dense10, 5,259,594 parameters; batch 100
  by default; an epoch is 60,000 samples (600 steps at batch 100).

The script checks each framework's parameter count against these and stops if it differs. Rounds
alternate between the frameworks so machine noise falls on both; the median step time of each is
reported with the projected time of an epoch at `--batch`, and the inference time of `predict` at
batch 256 (10 batches per round; fewer when `--steps` is below 10, as is the untimed warm-up of
10 training steps). fastconv's time is measured through `model.fit`, so it includes the
Keras-style loop (shuffling, metrics, callbacks); PyTorch's is a bare forward/backward/step loop,
which favours PyTorch. PyTorch runs twice, as separate runners: its network and inputs in NCHW
and in channels_last (`model.to(memory_format=torch.channels_last)`); the speed-up is against the
faster of the two, and each is printed as well (its Flatten takes C, H, W order in both; the same
arithmetic). Without PyTorch installed, fastconv runs alone.

Contention (`--contend N`): N other processes spin on the CPU for the whole timed run, as another
tenant of a shared machine would; compare each framework's step time with and without it to see
how much each slows down (both share the same contention, interleaved).

Peak memory: at the end the script prints the process's peak resident set size (`getrusage`
`ru_maxrss`), and the peak before any model was built (interpreter, imports, the random data).
When both frameworks run they share the process, so that peak mixes them up (it is at least the
larger of the two, plus PyTorch's import). For an honest figure of each, run each alone in its
own process with `--only fastconv` and `--only pytorch` (`--only fastconv` does not import
PyTorch; `--only pytorch` still imports fastconv, a few MB).
"""

import argparse
import contextlib
import math
import resource
import statistics
import subprocess
import sys
import time

import numpy as np

import fastconv as keras
from fastconv.cli import build_model as build_tutorial

# name -> (parameter count, samples per epoch, default batch size)
MODELS = {
    "tutorial": (333_526, 48_000, 32),
    "large": (5_259_594, 60_000, 100),
}
PREDICT_BATCH = 256
TORCH_LAYOUTS = ("nchw", "channels_last")  # PyTorch runs in both; the better one is compared


def check_params(framework, model_name, count):
    """Stops the run unless `count` is the parameter count `model_name` must have."""
    expected = MODELS[model_name][0]
    if count != expected:
        raise RuntimeError(f"{framework} '{model_name}' model has {count:,} parameters, "
                           f"expected {expected:,}: the networks are not the ones compared.")


# ----------------------------------------------------------------------------- fastconv
def build_fastconv_large():
    """The large MNIST CNN of the performance issue, in fastconv."""
    layers = keras.layers
    return keras.Sequential([
        keras.Input((28, 28, 1)),
        layers.Conv2D(64, 3, padding="same", activation="relu"),
        layers.Conv2D(64, 3, padding="same", activation="relu"),
        layers.MaxPooling2D(2),
        layers.Conv2D(128, 3, padding="same", activation="relu"),
        layers.Conv2D(256, 3, padding="valid", activation="relu"),
        layers.MaxPooling2D(2),
        layers.Flatten(),
        layers.Dense(512, activation="relu"),
        layers.Dropout(0.5),
        layers.Dense(256, activation="relu"),
        layers.Dropout(0.5),
        layers.Dense(10, activation="softmax"),
    ])


def build_fastconv(model_name):
    model = build_tutorial() if model_name == "tutorial" else build_fastconv_large()
    check_params("fastconv", model_name, model.count_params())
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics="accuracy")
    return model


def fastconv_timings(model, x, y, steps, batch, rounds):
    """Yields ("train", s/step) and ("predict", s/batch of 256) once per round."""
    n = steps * batch
    warmup, predict_batches = min(10, steps), min(10, steps)
    model.fit(x[:batch * warmup], y[:batch * warmup], batch_size=batch, epochs=1, verbose=0)
    for _ in range(rounds):
        start = time.perf_counter()
        model.fit(x[:n], y[:n], batch_size=batch, epochs=1, verbose=0)
        yield "train", (time.perf_counter() - start) / steps
        start = time.perf_counter()
        model.predict(x[:PREDICT_BATCH * predict_batches], batch_size=PREDICT_BATCH)
        yield "predict", (time.perf_counter() - start) / predict_batches


# ------------------------------------------------------------------------------ PyTorch
def build_torch(model_name, torch):
    nn = torch.nn
    if model_name == "tutorial":
        model = nn.Sequential(
            nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
            nn.Linear(3136, 100), nn.ReLU(), nn.Dropout(0.4), nn.Linear(100, 10))
    else:
        model = nn.Sequential(
            nn.Conv2d(1, 64, 3, padding=1), nn.ReLU(),
            nn.Conv2d(64, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(64, 128, 3, padding=1), nn.ReLU(),
            nn.Conv2d(128, 256, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
            nn.Linear(6 * 6 * 256, 512), nn.ReLU(), nn.Dropout(0.5),
            nn.Linear(512, 256), nn.ReLU(), nn.Dropout(0.5),
            nn.Linear(256, 10))  # softmax fused into CrossEntropyLoss
    check_params("PyTorch", model_name, sum(p.numel() for p in model.parameters()))
    return model


def torch_timings(model, torch, x, y, steps, batch, rounds, layout):
    """Yields ("train", s/step) and ("predict", s/batch of 256) once per round, with the model
    and its inputs in `layout` ("nchw" or "channels_last")."""
    xt = torch.from_numpy(np.ascontiguousarray(x.transpose(0, 3, 1, 2)))  # a view: C == 1
    if layout == "channels_last":
        model = model.to(memory_format=torch.channels_last)
        xt = xt.contiguous(memory_format=torch.channels_last)
    optimizer = torch.optim.Adam(model.parameters(), 1e-3)
    loss_fn = torch.nn.CrossEntropyLoss()
    yt = torch.from_numpy(y.astype(np.int64))
    warmup, predict_batches = min(10, steps), min(10, steps)

    def train(count):
        model.train()
        for i in range(count):
            optimizer.zero_grad()
            loss = loss_fn(model(xt[i * batch:(i + 1) * batch]), yt[i * batch:(i + 1) * batch])
            loss.backward()
            optimizer.step()

    train(warmup)
    for _ in range(rounds):
        start = time.perf_counter()
        train(steps)
        yield "train", (time.perf_counter() - start) / steps
        model.eval()
        start = time.perf_counter()
        with torch.no_grad():
            for i in range(predict_batches):
                model(xt[i * PREDICT_BATCH:(i + 1) * PREDICT_BATCH])
        yield "predict", (time.perf_counter() - start) / predict_batches


def import_torch(only, threads):
    """PyTorch with `threads` threads, or None when it is not wanted or not installed."""
    if only == "fastconv":
        return None
    try:
        import torch
    except ImportError:
        if only == "pytorch":
            raise SystemExit("--only pytorch: PyTorch is not installed.") from None
        print("PyTorch is not installed: fastconv only.")
        return None
    torch.set_num_threads(threads)
    return torch


# ------------------------------------------------------------------------------ driver
def peak_rss_mib():
    """The process's peak resident set size so far, in MiB (ru_maxrss: KiB on Linux)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024 if sys.platform == "darwin" else 1024)


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", choices=sorted(MODELS), default="tutorial")
    parser.add_argument("--only", choices=("fastconv", "pytorch"), default=None,
                        help="run one framework alone (for its own peak RSS)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--batch", type=int, default=None,
                        help="default: 32 for tutorial, 100 for large")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--contend", type=int, default=0,
                        help="busy processes spinning during the timings (default 0)")
    args = parser.parse_args(argv)
    if args.batch is None:
        args.batch = MODELS[args.model][2]
    for name in ("threads", "steps", "batch", "rounds"):
        if getattr(args, name) < 1:
            parser.error(f"--{name} must be at least 1")
    if args.contend < 0:
        parser.error("--contend must be at least 0")
    return args


@contextlib.contextmanager
def busy_processes(count, max_seconds=3600):
    """`count` processes that spin (bounded in time) until the block ends."""
    spin = f"import time\nend = time.time() + {max_seconds}\nwhile time.time() < end: pass"
    procs = [subprocess.Popen([sys.executable, "-c", spin]) for _ in range(count)]
    try:
        yield
    finally:
        for proc in procs:
            proc.kill()
            proc.wait()


def make_runners(args, x, y, torch):
    """The timing generators of the frameworks to run, models built (and checked) first."""
    runners = {}
    if args.only != "pytorch":
        model = build_fastconv(args.model)
        runners["fastconv"] = fastconv_timings(model, x, y, args.steps, args.batch, args.rounds)
    if torch is not None:
        for layout in TORCH_LAYOUTS:
            torch.manual_seed(0)
            model = build_torch(args.model, torch)
            runners[f"pytorch {layout}"] = torch_timings(model, torch, x, y, args.steps,
                                                         args.batch, args.rounds, layout)
    return runners


def run_interleaved(runners, rounds):
    """Per (framework, kind) the list of per-round times; one round of each in turn."""
    samples = {(name, kind): [] for name in runners for kind in ("train", "predict")}
    for _ in range(rounds):
        for name, runner in runners.items():
            for _ in range(2):
                kind, seconds = next(runner)
                samples[name, kind].append(seconds)
    return samples


def report(args, samples, frameworks, data_mib, rss_before):
    params, epoch_samples, _ = MODELS[args.model]
    epoch_steps = math.ceil(epoch_samples / args.batch)
    print(f"model={args.model} ({params:,} parameters) threads={args.threads} "
          f"batch={args.batch} steps/round={args.steps} rounds={args.rounds} "
          f"busy processes={args.contend}")
    # A stale installed copy shadows the source tree unless PYTHONPATH points at it: say which ran.
    print(f"fastconv {keras.__version__} from {keras.__file__}")
    print(f"| framework | train ms/step | epoch ({epoch_steps:,} steps) s | "
          f"predict ms/batch of {PREDICT_BATCH} |")
    print("|---|---:|---:|---:|")
    medians = {}
    for name in frameworks:
        train = statistics.median(samples[name, "train"])
        predict = statistics.median(samples[name, "predict"])
        medians[name] = (train, predict)
        print(f"| {name} | {train * 1e3:.2f} | {train * epoch_steps:.1f} | "
              f"{predict * 1e3:.2f} |")
    torch_names = [name for name in medians if name.startswith("pytorch")]
    if "fastconv" in medians and torch_names:
        ft, fp = medians["fastconv"]
        best_train = min(torch_names, key=lambda name: medians[name][0])
        best_predict = min(torch_names, key=lambda name: medians[name][1])
        print(f"speed-up vs PyTorch (its better layout): training "
              f"{medians[best_train][0] / ft:.2f}x ({best_train}), inference "
              f"{medians[best_predict][1] / fp:.2f}x ({best_predict})")
        for name in torch_names:
            tt, tp = medians[name]
            print(f"speed-up vs {name}: training {tt / ft:.2f}x, inference {tp / fp:.2f}x")
    both = "fastconv" in medians and torch_names
    note = (" (both frameworks in one process: run with --only fastconv / --only pytorch "
            "for each alone)" if both else f" ({' and '.join(frameworks)} alone)")
    print(f"peak RSS: {peak_rss_mib():.1f} MiB{note}; before the models: {rss_before:.1f} MiB "
          f"(imports + {data_mib:.1f} MiB of data)")


def main(argv=None):
    args = parse_args(argv)
    keras.set_num_threads(args.threads)
    keras.utils.set_random_seed(0)
    torch = import_torch(args.only, args.threads)
    if torch is not None:
        torch.manual_seed(0)
    rng = np.random.default_rng(0)
    count = max(args.steps * args.batch, PREDICT_BATCH * min(10, args.steps))
    x = rng.random((count, 28, 28, 1), dtype=np.float32)
    y = rng.integers(0, 10, count).astype(np.uint8)
    rss_before = peak_rss_mib()

    runners = make_runners(args, x, y, torch)
    with busy_processes(args.contend):
        samples = run_interleaved(runners, args.rounds)
    report(args, samples, list(runners), (x.nbytes + y.nbytes) / 2**20, rss_before)
    return 0


if __name__ == "__main__":
    sys.exit(main())
