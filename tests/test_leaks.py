"""Resident memory stays flat over many op calls (Linux only: reads /proc/self/statm).

Each round calls conv2d (forward, fused ReLU, `out=`, channels_first), conv2d_backward,
max/avg pooling forward and backward, matmul, adam_update and relu_backward, plus a few
calls that fail argument checks (error paths must free what they took). After a warm-up
(which fills the per-thread workspace cache and NumPy's allocator caches), ROUNDS rounds
(16 op calls each, 24,000 calls per dtype) must not grow the resident set by more than
SLACK_MB. Every round allocates ~0.4 MB; leaking any result or converted copy of 16 KB or
more per call (conv2d outputs and input gradients, pooling input gradients, matmul and
relu_backward results, the channels_first copies) would exceed the slack. The kernels run on
one thread: the C code allocates nothing, and one thread keeps the file fast on a busy machine.
"""

import gc
import os
import sys

import numpy as np
import pytest

import fastconv
from fastconv import ops

ROUNDS = 1500
WARMUP = 150
SLACK_MB = 20

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux") or not os.path.exists("/proc/self/statm"),
    reason="reads the resident set size from /proc/self/statm (Linux)",
)


@pytest.fixture(autouse=True)
def _one_thread():
    before = fastconv.get_num_threads()
    fastconv.set_num_threads(1)
    yield
    fastconv.set_num_threads(before)


def _rss_mb():
    with open("/proc/self/statm") as statm:
        resident_pages = int(statm.read().split()[1])
    return resident_pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def _arrays(dtype):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((4, 16, 16, 8)).astype(dtype)       # 32 KB in float32
    kernel = rng.standard_normal((3, 3, 8, 16)).astype(dtype)
    bias = rng.standard_normal(16).astype(dtype)
    dy = rng.standard_normal((4, 16, 16, 16)).astype(dtype)     # 64 KB in float32
    return dict(
        x=x, kernel=kernel, bias=bias, dy=dy,
        x_cf=np.ascontiguousarray(x.transpose(0, 3, 1, 2)),
        out=np.empty((4, 16, 16, 16), dtype),
        a=rng.standard_normal((64, 96)).astype(dtype),
        b=rng.standard_normal((96, 128)).astype(dtype),
        var=rng.standard_normal(4096).astype(dtype),
        m=np.zeros(4096, dtype), v=np.zeros(4096, dtype),
        grad=rng.standard_normal(4096).astype(dtype) * 1e-3,
    )


def _round(d):
    ops.conv2d(d["x"], d["kernel"], d["bias"], padding="same")
    ops.conv2d(d["x"], d["kernel"], d["bias"], padding="same", activation="relu", out=d["out"])
    ops.conv2d(d["x_cf"], d["kernel"], strides=2, padding="same", data_format="channels_first")
    ops.conv2d_backward(d["dy"], d["x"], d["kernel"], padding="same")
    ops.conv2d_backward(d["dy"], d["x"], d["kernel"], padding="same", compute_dx=False)
    y = ops.max_pool2d(d["x"], 2)
    ops.max_pool2d_backward(y, d["x"], 2)
    y = ops.avg_pool2d(d["x"], 3, 1, "same")
    ops.avg_pool2d_backward(y, d["x"], 3, 1, "same")
    ops.matmul(d["a"], d["b"])
    ops.matmul(d["a"], d["b"], d["b"][0], activation="relu")
    ops.adam_update(d["var"], d["m"], d["v"], d["grad"], alpha=1e-4, beta_1=0.9,
                    beta_2=0.999, epsilon=1e-7)
    ops.relu_backward(d["dy"], d["dy"])
    # Error paths: refused after the inputs were converted.
    for call in (
        lambda: ops.conv2d(d["x"], d["kernel"][:, :, :4]),
        lambda: ops.conv2d_backward(d["dy"][:, :8], d["x"], d["kernel"], padding="same"),
        lambda: ops.max_pool2d_backward(d["dy"], d["x"], 2),
    ):
        try:
            call()
        except ValueError:
            pass
        else:
            raise AssertionError("expected a ValueError")


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_rss_is_flat_over_many_op_calls(dtype):
    d = _arrays(dtype)
    for _ in range(WARMUP):
        _round(d)
    gc.collect()
    start = _rss_mb()
    peak = start
    for i in range(ROUNDS):
        _round(d)
        if i % 100 == 0:
            peak = max(peak, _rss_mb())
    gc.collect()
    end = _rss_mb()
    growth = max(end, peak) - start
    assert growth < SLACK_MB, (
        f"resident memory grew by {growth:.1f} MB over {ROUNDS} rounds "
        f"({start:.1f} MB -> {end:.1f} MB, peak {peak:.1f} MB)"
    )
