"""The ISA table: every level this CPU can run gives the results the contract states.

Stated contract (docs/threads-and-numerics.md): for a given shape, results are bit-identical
across thread counts on every level; float32 and float64 results are bit-identical between the
FMA kernel sets (avx2, avx512 and, on aarch64, neon; and the test-only avx512emu and neonemu
of a FASTCONV_EMULATE=1 build), whose tiles all sum in the same k order from the bias; and bit-identical between the portable kernels in both tile geometries
(generic, generic512). The two families differ in rounding (fused vs separate multiply-add).
"""
import json
import os
import subprocess
import sys

import numpy as np
import pytest

import fastconv
from fastconv import ops
from fastconv._ext import _conv
from fastconv.ops.conv2d import _geometry

LEVELS = _conv.simd_available()
# Child processes run from tests/, not the repository root, whose fastconv/ (no compiled core
# after a plain `pip install .`) would shadow the installed package.
TESTS_DIR = os.path.dirname(os.path.abspath(__file__))
FMA_LEVELS = [level for level in ("avx2", "avx512", "neon", "avx512emu", "neonemu")
              if level in LEVELS]
PORTABLE_LEVELS = ["generic", "generic512"]

# Computes every kernel family on fixed data and prints one digest per result.
DIGEST_SCRIPT = r"""
import json, zlib, numpy as np
from fastconv import ops
from fastconv._ext import _conv
rng = np.random.default_rng(3)
digests = {"isa": _conv.simd_level()}
def put(name, arr):
    digests[name] = zlib.crc32(np.ascontiguousarray(arr).tobytes())
for dt in (np.float32, np.float64):
    for i, (N, H, W, C, F, k, s, g, pad) in enumerate([
            (2, 15, 13, 40, 70, 3, 1, 1, "same"), (3, 9, 9, 64, 34, 3, 2, 2, "valid"),
            (1, 30, 30, 3, 33, 5, 1, 1, "same"), (2, 7, 7, 300, 20, 1, 1, 1, "valid"),
            (2, 12, 11, 1, 37, 3, 1, 1, "same"), (2, 16, 16, 8, 8, 3, 1, 8, "same"),
            (2, 10, 12, 16, 23, 3, 1, 1, "same"), (2, 8, 7, 96, 51, 3, 1, 3, "valid"),
            # Winograd's weight gradient, whose blocks of tiles the tile geometry must not cut
            (1, 16, 16, 192, 192, 3, 1, 1, "same"), (4, 12, 12, 64, 80, 3, 1, 1, "same")]):
        x = rng.standard_normal((N, H, W, C)).astype(dt)
        w = rng.standard_normal((k, k, C // g, F)).astype(dt)
        b = rng.standard_normal(F).astype(dt)
        dy = rng.standard_normal(ops.conv2d(x, w, b, strides=s, padding=pad, groups=g).shape)
        dy = dy.astype(dt)
        for winograd in (True, False):  # 3x3 stride-1 layers on both kernel families
            _conv.set_winograd(winograd)
            y = ops.conv2d(x, w, b, strides=s, padding=pad, groups=g)
            for name, r in zip(("y", "dx", "dw", "db"), (y,) + tuple(
                    ops.conv2d_backward(dy, x, w, strides=s, padding=pad, groups=g))):
                put(f"conv{i}_{name}_{dt.__name__}_{'winograd' if winograd else 'gemm'}", r)
        _conv.set_winograd(True)
    a = rng.standard_normal((37, 300)).astype(dt)
    m = rng.standard_normal((300, 45)).astype(dt)
    put(f"matmul_{dt.__name__}", ops.matmul(a, m))
    x = rng.standard_normal((2, 9, 9, 20)).astype(dt)
    put(f"avgpool_{dt.__name__}", ops.avg_pool2d(x, 3, strides=2, padding="same"))
    put(f"maxpool_{dt.__name__}", ops.max_pool2d(x, 2))
print(json.dumps(digests))
"""


def digests(level):
    env = dict(os.environ, FASTCONV_ISA=level)
    run = subprocess.run([sys.executable, "-c", DIGEST_SCRIPT], env=env, capture_output=True,
                         text=True, timeout=300, check=True, cwd=TESTS_DIR)
    result = json.loads(run.stdout.strip().splitlines()[-1])
    assert result.pop("isa") == level, f"FASTCONV_ISA={level} did not select {level}"
    return result


def test_config_reports_the_level_in_use():
    config = fastconv.show_config()
    assert config["simd"] == _conv.simd_level() == _conv.blocking()["isa"]
    assert config["simd"] in LEVELS
    assert "generic" in LEVELS and "generic512" in LEVELS


def test_blocking_matches_the_level():
    blocking = _conv.blocking()
    wide = blocking["isa"] in ("avx512", "generic512", "avx512emu")
    assert blocking["mr"] == (14 if wide else 6)
    assert blocking["nr"] == ({"float32": 32, "float64": 16} if wide else {"float32": 16, "float64": 8})
    assert blocking["mc"] % blocking["mr"] == 0 and blocking["kc"] == 256


@pytest.mark.skipif(len(FMA_LEVELS) < 2, reason="needs two FMA kernel sets on this CPU")
def test_fma_kernel_sets_are_bit_identical():
    reference = digests(FMA_LEVELS[0])
    for level in FMA_LEVELS[1:]:
        got = digests(level)
        differ = sorted(name for name in reference if got[name] != reference[name])
        assert not differ, f"{level} differs from {FMA_LEVELS[0]} in {differ}"


def test_portable_geometries_are_bit_identical():
    reference, wide = digests("generic"), digests("generic512")
    differ = sorted(name for name in reference if wide[name] != reference[name])
    assert not differ, f"generic512 differs from generic in {differ}"


def _float64_twin(x, k, b, dy, geometry):
    up = [a.astype(np.float64) for a in (x, k, b, dy)]
    out = np.empty(up[3].shape)
    dx, dk, db = np.empty_like(up[0]), np.empty_like(up[1]), np.empty_like(up[2])
    _conv.forward(up[0], up[1], up[2], out, geometry, 1, True)
    _conv.backward_input(up[3], up[1], dx, geometry, 1, True)
    _conv.backward_weight(up[3], up[0], dk, db, geometry, 1, True)
    return out, dx, dk, db


def _boundary_cases(dtype):
    """Shapes one past and one short of each blocking boundary of the level in use."""
    b = _conv.blocking()
    mr, nr, mc, kc = b["mr"], b["nr"][np.dtype(dtype).name], b["mc"], b["kc"]
    return [
        # (N, H, W, C, F, KH, KW): pixels P = H*W around the MC block and MR tile
        (1, 1, mc + 1, 8, nr + 1, 1, 3),
        (1, 1, mc - 1, 8, nr - 1, 1, 3),
        (2, 1, mr + 1, 16, 2 * nr + 3, 1, 3),
        # reduction depth K = KH*KW*C around KC
        (1, 3, 5, kc + 1, nr, 1, 1),
        (1, 3, 5, (kc + 1) // 9 + 1, 3, 3, 3),
        # input-gradient columns K around NR, weight-gradient rows F around MR
        (2, 4, 4, nr + 1, mr + 1, 1, 1),
        (1, 6, 6, 1, mr - 1, 3, 3),
        # weight gradient in place: NR channels, F past a tile, pixel chunks around KC in a row
        (2, 5, 6, nr, mr + 1, 3, 3),
        (1, 1, 2 * kc + 5, nr, mr - 1, 1, 3),
    ]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_blocking_boundaries_against_float64_twin(dtype):
    rng = np.random.default_rng(11)
    tolerance = {np.float32: 3e-6, np.float64: 1e-13}[dtype]
    for case in _boundary_cases(dtype):
        N, H, W, C, F, KH, KW = case
        x = rng.standard_normal((N, H, W, C)).astype(dtype)
        k = rng.standard_normal((KH, KW, C, F)).astype(dtype)
        b = rng.standard_normal(F).astype(dtype)
        geometry, out_shape = _geometry(x.shape, k.shape, 1, "same", 1, 1)
        dy = rng.standard_normal(out_shape).astype(dtype)
        want = _float64_twin(x, k, b, dy, geometry)
        for threads in (1, 2):
            out = np.empty(out_shape, dtype)
            dx, dk, db = np.empty_like(x), np.empty_like(k), np.empty_like(b)
            _conv.forward(x, k, b, out, geometry, threads, False)
            _conv.backward_input(dy, k, dx, geometry, threads, False)
            _conv.backward_weight(dy, x, dk, db, geometry, threads, False)
            for name, got, ref in zip(("y", "dx", "dk", "db"), (out, dx, dk, db), want):
                err = np.abs(got - ref).max() / np.abs(ref).max()
                assert err <= tolerance, f"{case} {name} threads={threads}: {err:.2e}"


def test_unavailable_level_warns_and_falls_back():
    env = dict(os.environ, FASTCONV_ISA="no-such-isa")
    script = "from fastconv._ext import _conv; print(_conv.simd_level())"
    run = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True,
                         timeout=120, check=True, cwd=TESTS_DIR)
    assert "FASTCONV_ISA='no-such-isa' is not available" in run.stderr
    best = [level for level in ("avx512", "avx2", "neon", "generic") if level in LEVELS][0]
    assert run.stdout.strip() == best
