"""Floating-point contract of the kernels: subnormals are flushed inside every kernel call and
the caller's own arithmetic is left alone; long sums are chunked, so their error does not grow
with the batch; a process made by os.fork() can call the ops."""
import multiprocessing
import os

import numpy as np
import pytest

import fastconv
from fastconv import ops
import reference as ref



@pytest.fixture
def restore_threads():
    yield
    fastconv.set_num_threads(0)


TINY = {np.float32: np.float32(1e-40), np.float64: np.float64(1e-310)}


def _with_subnormals(shape, dtype, rng):
    x = rng.standard_normal(shape).astype(dtype)
    mask = rng.random(shape) < 0.3
    x[mask] = TINY[dtype] * np.sign(x[mask])
    assert np.any((x != 0) & (np.abs(x) < np.finfo(dtype).tiny)), "no subnormal in the input"
    return x, np.where(mask, dtype(0), x)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("threads", [1, 2])
def test_subnormal_inputs_read_as_zero(dtype, threads, restore_threads):
    fastconv.set_num_threads(threads)
    rng = np.random.default_rng(0)
    x, x_flushed = _with_subnormals((2, 9, 9, 12), dtype, rng)
    w, w_flushed = _with_subnormals((3, 3, 12, 20), dtype, rng)
    y = ops.conv2d(x, w, padding="same")
    np.testing.assert_array_equal(y, ops.conv2d(x_flushed, w_flushed, padding="same"))
    dy, dy_flushed = _with_subnormals(y.shape, dtype, rng)
    for got, want in zip(ops.conv2d_backward(dy, x, w, padding="same"),
                         ops.conv2d_backward(dy_flushed, x_flushed, w_flushed, padding="same")):
        np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(ops.avg_pool2d(x, 2), ops.avg_pool2d(x_flushed, 2))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_subnormal_results_are_flushed(dtype):
    # Each product is tiny * 0.5: subnormal under IEEE rules, zero inside the kernels.
    x = np.full((1, 1, 1, 4), np.finfo(dtype).tiny, dtype)
    w = np.full((1, 1, 4, 1), 0.125, dtype)
    assert ops.conv2d(x, w)[0, 0, 0, 0] == 0


@pytest.mark.parametrize("threads", [1, 2])
def test_callers_floating_point_state_is_restored(threads, restore_threads):
    fastconv.set_num_threads(threads)
    x = np.random.default_rng(1).standard_normal((4, 16, 16, 8)).astype(np.float32)
    ops.conv2d_backward(np.ones((4, 14, 14, 16), np.float32), x,
                        np.ones((3, 3, 8, 16), np.float32))
    tiny = np.array([1e-40], np.float32)
    assert tiny[0] != 0
    # A subnormal survives this thread's arithmetic (no DAZ) and is produced by it (no FTZ).
    assert (tiny * np.float32(1.0))[0] == tiny[0]
    assert (np.array([np.finfo(np.float32).tiny], np.float32) / np.float32(4))[0] != 0


def test_bias_and_single_channel_weight_gradients_are_summed_in_chunks():
    # A long float32 sum over N*H*W = 200,704 terms: one serial chain lost 2e-5 (bias) and
    # 1.7e-5 (weights) relative; the row blocks added per run, then the runs, measure 1.3e-7
    # and 2.1e-7 (every kernel set).
    rng = np.random.default_rng(5)
    x = rng.random((256, 28, 28, 1)).astype(np.float32)
    w = rng.standard_normal((3, 3, 1, 32)).astype(np.float32)
    dy = (rng.random((256, 28, 28, 32)) + 0.5).astype(np.float32)  # same sign: no cancellation
    dx, dw, db = ops.conv2d_backward(dy, x, w, padding="same")
    _, dw64, db64 = ref.conv2d_backward_ref(dy.astype(np.float64), x.astype(np.float64),
                                              w.astype(np.float64), padding="same")
    assert np.abs(db - db64).max() / np.abs(db64).max() < 5e-7
    assert np.abs(dw - dw64).max() / np.abs(dw64).max() < 1e-6


def _conv_in_child(queue):
    x = np.ones((8, 12, 12, 8), np.float32)
    queue.put(float(ops.conv2d(x, np.ones((3, 3, 8, 16), np.float32)).sum()))


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_ops_work_in_a_forked_child(restore_threads):
    fastconv.set_num_threads(2)
    x = np.ones((8, 12, 12, 8), np.float32)
    want = float(ops.conv2d(x, np.ones((3, 3, 8, 16), np.float32)).sum())  # pool now running
    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue()
    child = ctx.Process(target=_conv_in_child, args=(queue,))
    child.start()
    child.join(60)
    if child.is_alive():
        child.kill()
        pytest.fail("the forked child hung in its first op")
    assert child.exitcode == 0
    assert queue.get(timeout=5) == want
