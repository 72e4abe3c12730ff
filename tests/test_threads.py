"""fastconv.ops called from many Python threads at once.

* 8 Python threads x 40 iterations each run every op in `_workload` (conv2d forward and
  backward in four geometries and both dtypes, max/avg pooling forward and backward, matmul,
  and 3 adam_update steps on arrays private to the thread); each result must be bitwise
  equal to the one computed serially beforehand.
* The same 8 x 40 runs again while a ninth thread keeps calling `set_num_threads` with
  1, 2, 3, 5, 8 (and 0 = default).
* Results do not depend on the thread count: every op at 1, 2, 3, 5 and 8 threads is
  bitwise equal to the one-thread result (conv2d and pooling are designed so; matmul and
  adam_update turn out to be as well, and are checked too).
* The GIL is released inside the kernels: while the main thread runs a long conv2d
  (a few tenths of a second on one thread), a pure-Python thread keeps incrementing a
  counter. With the interpreter's switch interval raised to 0.5 s, a kernel that held the
  GIL would let the counter advance by 0 during the call (checked by hand with a pure-Python
  busy loop in its place: 0; the conv gives millions); we require > 10,000 increments.

Shapes are small so the file runs in a few seconds on two cores; nothing asserts on speed.
"""

import sys
import threading

import numpy as np
import pytest

import fastconv
from fastconv import ops

THREADS = 8
ITERATIONS = 40
THREAD_COUNTS = (1, 2, 3, 5, 8)
DTYPES = (np.float32, np.float64)

# (conv2d keyword arguments, x shape (NHWC), kernel shape) — odd sizes, strides, dilation,
# groups, explicit padding, a 1x1 kernel, and N=1 with more pixels than channels.
_CONVS = (
    (dict(strides=1, padding="same"), (3, 11, 9, 6), (3, 3, 6, 8)),
    (dict(strides=(2, 1), padding=((1, 2), (0, 1)), dilation_rate=(1, 2)), (2, 13, 10, 4),
     (3, 2, 4, 5)),
    (dict(groups=2, padding="valid"), (2, 8, 8, 6), (1, 1, 3, 4)),
    (dict(strides=2, padding="same", dilation_rate=1), (1, 17, 15, 3), (4, 4, 3, 7)),
)
_POOLS = (
    dict(pool_size=3, strides=2, padding="same"),
    dict(pool_size=(2, 3), strides=(1, 2), padding="valid"),
)


def _inputs(seed=0):
    """Every array the workload needs, per dtype."""
    rng = np.random.default_rng(seed)
    data = {}
    for dtype in DTYPES:
        convs = []
        for kwargs, x_shape, k_shape in _CONVS:
            x = rng.standard_normal(x_shape).astype(dtype)
            kernel = rng.standard_normal(k_shape).astype(dtype)
            bias = rng.standard_normal(k_shape[3]).astype(dtype)
            dy = rng.standard_normal(ops.conv2d(x, kernel, **kwargs).shape).astype(dtype)
            convs.append((kwargs, x, kernel, bias, dy))
        # Ties in max pooling exercise the "first maximal element" rule.
        pool_x = np.round(rng.standard_normal((2, 9, 11, 5)), 1).astype(dtype)
        data[dtype] = dict(
            convs=convs,
            pool_x=pool_x,
            a=rng.standard_normal((37, 53)).astype(dtype),
            b=rng.standard_normal((53, 29)).astype(dtype),
            big_a=rng.standard_normal((130, 200)).astype(dtype),
            big_b=rng.standard_normal((200, 70)).astype(dtype),
            var=rng.standard_normal(1000).astype(dtype),
            grad=rng.standard_normal(1000).astype(dtype),
        )
    return data


def _workload(data):
    """Runs every op once; returns {name: result array}."""
    results = {}
    for dtype, d in data.items():
        tag = np.dtype(dtype).name
        for i, (kwargs, x, kernel, bias, dy) in enumerate(d["convs"]):
            results[f"conv{i}/{tag}"] = ops.conv2d(x, kernel, bias, **kwargs)
            dx, dk, db = ops.conv2d_backward(dy, x, kernel, **kwargs)
            results[f"conv{i}_dx/{tag}"] = dx
            results[f"conv{i}_dk/{tag}"] = dk
            results[f"conv{i}_db/{tag}"] = db
        x = d["pool_x"]
        for i, kwargs in enumerate(_POOLS):
            y = ops.max_pool2d(x, **kwargs)
            results[f"max{i}/{tag}"] = y
            results[f"max{i}_dx/{tag}"] = ops.max_pool2d_backward(y + 1, x, **kwargs)
            y = ops.avg_pool2d(x, **kwargs)
            results[f"avg{i}/{tag}"] = y
            results[f"avg{i}_dx/{tag}"] = ops.avg_pool2d_backward(y - 1, x, **kwargs)
        results[f"matmul/{tag}"] = ops.matmul(d["a"], d["b"])
        results[f"matmul_t/{tag}"] = ops.matmul(d["a"].T, d["a"], activation="relu")
        results[f"matmul_big/{tag}"] = ops.matmul(d["big_a"], d["big_b"], d["big_b"][0])
        var = d["var"].copy()  # private to this call: adam_update works in place
        m, v = np.zeros_like(var), np.zeros_like(var)
        for _ in range(3):
            ops.adam_update(var, m, v, d["grad"], alpha=1e-3, beta_1=0.9, beta_2=0.999,
                            epsilon=1e-7)
        results[f"adam_var/{tag}"] = var
        results[f"adam_m/{tag}"] = m
        results[f"adam_v/{tag}"] = v
    return results


def _differences(expected, got):
    """Names of the results that are not bitwise identical."""
    bad = []
    for name, want in expected.items():
        have = got[name]
        if (have.dtype != want.dtype or have.shape != want.shape
                or have.tobytes() != want.tobytes()):
            bad.append(name)
    return bad


@pytest.fixture(scope="module")
def data():
    return _inputs()


@pytest.fixture(autouse=True)
def _restore_threads():
    before = fastconv.get_num_threads()
    yield
    fastconv.set_num_threads(before)


def _run_workers(data, expected, body=None):
    """THREADS workers x ITERATIONS; returns the list of failures (empty when all agree)."""
    failures = []
    lock = threading.Lock()
    barrier = threading.Barrier(THREADS)

    def worker(index):
        try:
            barrier.wait(timeout=60)
            for iteration in range(ITERATIONS):
                bad = _differences(expected, _workload(data))
                if bad:
                    with lock:
                        failures.append((index, iteration, bad))
        except Exception as exc:  # reported, not swallowed: the test fails on it
            with lock:
                failures.append((index, "exception", repr(exc)))

    workers = [threading.Thread(target=worker, args=(i,)) for i in range(THREADS)]
    for t in workers:
        t.start()
    if body is not None:
        body(workers)
    for t in workers:
        t.join(timeout=300)
        assert not t.is_alive(), "a worker thread hung"
    return failures


def test_results_do_not_depend_on_the_thread_count(data):
    fastconv.set_num_threads(1)
    expected = _workload(data)
    for n in THREAD_COUNTS[1:]:
        fastconv.set_num_threads(n)
        bad = _differences(expected, _workload(data))
        assert not bad, f"results at {n} threads differ from 1 thread: {bad}"


def test_concurrent_calls_match_serial_results(data):
    fastconv.set_num_threads(2)
    expected = _workload(data)
    failures = _run_workers(data, expected)
    assert not failures, failures[:5]


def test_changing_the_thread_count_while_others_compute(data):
    fastconv.set_num_threads(None)
    expected = _workload(data)
    changes = [0]

    def churn(workers):
        counts = THREAD_COUNTS + (0,)
        while any(t.is_alive() for t in workers):
            fastconv.set_num_threads(counts[changes[0] % len(counts)])
            changes[0] += 1
            for t in workers:
                t.join(timeout=0.001)

    failures = _run_workers(data, expected, body=churn)
    assert not failures, failures[:5]
    assert changes[0] > len(THREAD_COUNTS)


def test_gil_is_released_during_a_long_conv():
    rng = np.random.default_rng(3)
    # About 2.4 GFLOP: a few tenths of a second on one core.
    x = rng.standard_normal((8, 64, 64, 64)).astype(np.float32)
    kernel = rng.standard_normal((3, 3, 64, 64)).astype(np.float32)
    out = np.empty((8, 64, 64, 64), np.float32)  # no allocation or copy around the kernel
    ops.conv2d(x[:1], kernel, padding="same")  # warm up the thread's workspace
    fastconv.set_num_threads(1)  # leave a core for the counting thread

    counter = [0]
    stop = threading.Event()
    started = threading.Event()

    def count():
        started.set()
        while not stop.is_set():
            counter[0] += 1

    interval = sys.getswitchinterval()
    # A long switch interval: a thread that holds the GIL keeps it for 0.5 s at a stretch,
    # so the counter could only move during the conv if the kernel let go of the GIL.
    sys.setswitchinterval(0.5)
    thread = threading.Thread(target=count, daemon=True)
    try:
        thread.start()
        assert started.wait(timeout=60)
        before = counter[0]
        ops.conv2d(x, kernel, padding="same", out=out)
        during = counter[0] - before
    finally:
        stop.set()
        sys.setswitchinterval(interval)
        thread.join(timeout=60)
    assert during > 10_000, f"the counting thread advanced only {during} times during conv2d"
    np.testing.assert_allclose(out[:1], ops.conv2d(x[:1], kernel, padding="same"),
                               rtol=1e-5, atol=1e-4)
