"""Training and inference of the Fashion-MNIST tutorial CNN: fastconv against PyTorch, one run.

    python benchmarks/train_compare.py --threads 2 --steps 300 --rounds 3

Both frameworks train the same network (Conv32-Pool-Conv64-Pool-Dense100-Dropout-Dense10, 333,526
parameters) with Adam on the same random batches of 28x28x1 images, batch 32 by default. Rounds
alternate between the frameworks so machine noise falls on both; the median step time of each is
reported with the projected time of a 48,000-sample epoch (1,500 steps at batch 32), and the
inference time of `predict` at batch 256. fastconv's time is measured through `model.fit`, so it
includes the Keras-style loop (shuffling, metrics, callbacks); PyTorch's is a bare
forward/backward/step loop, which favours PyTorch.
"""

import argparse
import statistics
import sys
import time

import numpy as np

import fastconv as keras
from fastconv.cli import build_model


def fastconv_timings(x, y, steps, batch, rounds):
    model = build_model()
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics="accuracy")
    n = steps * batch
    model.fit(x[:batch * 10], y[:batch * 10], batch_size=batch, epochs=1, verbose=0)  # warm-up
    for _ in range(rounds):
        start = time.perf_counter()
        model.fit(x[:n], y[:n], batch_size=batch, epochs=1, verbose=0)
        yield "train", (time.perf_counter() - start) / steps
        start = time.perf_counter()
        model.predict(x[:2560], batch_size=256)
        yield "predict", (time.perf_counter() - start) / 10


def torch_timings(x, y, steps, batch, rounds, threads):
    import torch
    from torch import nn

    torch.set_num_threads(threads)
    model = nn.Sequential(
        nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
        nn.Linear(3136, 100), nn.ReLU(), nn.Dropout(0.4), nn.Linear(100, 10))
    optimizer = torch.optim.Adam(model.parameters(), 1e-3)
    loss_fn = nn.CrossEntropyLoss()
    xt = torch.from_numpy(np.ascontiguousarray(x.transpose(0, 3, 1, 2)))
    yt = torch.from_numpy(y.astype(np.int64))

    def train(count):
        model.train()
        for i in range(count):
            optimizer.zero_grad()
            loss = loss_fn(model(xt[i * batch:(i + 1) * batch]), yt[i * batch:(i + 1) * batch])
            loss.backward()
            optimizer.step()

    train(10)
    for _ in range(rounds):
        start = time.perf_counter()
        train(steps)
        yield "train", (time.perf_counter() - start) / steps
        model.eval()
        start = time.perf_counter()
        with torch.no_grad():
            for i in range(10):
                model(xt[i * 256:(i + 1) * 256])
        yield "predict", (time.perf_counter() - start) / 10


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)

    keras.set_num_threads(args.threads)
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    count = max(args.steps * args.batch, 2560)
    x = rng.random((count, 28, 28, 1), dtype=np.float32)
    y = rng.integers(0, 10, count).astype(np.uint8)

    runners = {"fastconv": fastconv_timings(x, y, args.steps, args.batch, args.rounds)}
    try:
        runners["pytorch"] = torch_timings(x, y, args.steps, args.batch, args.rounds,
                                           args.threads)
    except ImportError:
        print("PyTorch is not installed: fastconv only.")
    samples = {(name, kind): [] for name in runners for kind in ("train", "predict")}
    for _ in range(args.rounds):
        for name, runner in runners.items():  # alternate: one round of each in turn
            for _ in range(2):
                kind, seconds = next(runner)
                samples[name, kind].append(seconds)

    print(f"threads={args.threads} batch={args.batch} steps/round={args.steps} "
          f"rounds={args.rounds}")
    print("| framework | train ms/step | epoch (1,500 steps) s | predict ms/batch of 256 |")
    print("|---|---:|---:|---:|")
    medians = {}
    for name in runners:
        train = statistics.median(samples[name, "train"])
        predict = statistics.median(samples[name, "predict"])
        medians[name] = (train, predict)
        print(f"| {name} | {train * 1e3:.2f} | {train * 1500 * 32 / args.batch:.1f} | "
              f"{predict * 1e3:.2f} |")
    if "pytorch" in medians:
        (ft, fp), (tt, tp) = medians["fastconv"], medians["pytorch"]
        print(f"speed-up vs PyTorch: training {tt / ft:.2f}x, inference {tp / fp:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
