"""Awkward shapes through every kernel path, at every ISA level this CPU (and build) can run.

Each level runs in its own process (FASTCONV_ISA is read once per process). The worker compares
every op with tests/reference.py's float64 reference, then prints a digest of every result at 1
and at 2 threads and whether the caller's floating-point mode survived. The tests check:
  - accuracy against the reference on every level (shapes aimed at one path each: the first-layer
    direct forward and weight gradient, the rotated-kernel input gradient
    with explicit padding past the kernel extent (negative rotated padding), GEMM + col2im with
    strides larger than the kernel, channel counts that are not multiples of any vector width,
    reductions longer than one 256-deep panel, pixel counts crossing MC);
  - thread-count independence (1 vs 2 threads, bit for bit);
  - the bit-identity families of docs/threads-and-numerics.md (FMA levels agree, portable levels
    agree);
  - that edge tiles round like full tiles (a few columns or one row on their own equal the same
    part of the full result);
  - that no call leaves flush-to-zero / denormals-are-zero set in the calling thread or in the
    OpenMP worker threads.
"""
import json
import os
import subprocess
import sys

import numpy as np
import pytest

from fastconv._ext import _conv

LEVELS = [level for level in ("generic", "generic512", "avx2", "avx512", "avx512emu", "neonemu")
          if level in _conv.simd_available()]
FMA_LEVELS = [level for level in ("avx2", "avx512", "avx512emu", "neonemu") if level in LEVELS]
PORTABLE_LEVELS = [level for level in ("generic", "generic512") if level in LEVELS]

TESTS_DIR = os.path.dirname(os.path.abspath(__file__))

# (name, N, H, W, C, F, KH, KW, strides, padding, dilation, groups)
CONV_CASES = [
    # stride 1, Cg and Fg >= 8: the rotated-kernel input gradient; padding past the kernel
    # extent makes the rotated padding negative
    ("rot_pad_past_extent", 2, 6, 7, 8, 9, 3, 3, 1, ((5, 1), (0, 6)), 1, 1),
    ("rot_dilated_groups", 1, 9, 8, 16, 18, 3, 2, 1, ((4, 0), (3, 5)), (2, 3), 2),
    ("rot_long_k", 2, 15, 13, 40, 33, 3, 3, 1, "same", 1, 1),  # Kg 360 > 256, P 195 > 140
    # GEMM + col2im: strides larger than the kernel, dilation with stride, OC tails
    ("stride_gt_kernel", 2, 11, 12, 9, 33, 2, 2, 3, "valid", 1, 1),
    ("dilated_strided", 1, 13, 11, 10, 17, 3, 2, (2, 3), "same", 2, 1),
    ("oc_one", 3, 7, 6, 12, 1, 3, 3, 1, 1, 1, 1),
    ("fg_300_strided", 2, 7, 6, 9, 300, 3, 3, 2, "same", 1, 1),  # OC/G > 256: chunked dcol
    ("p_400", 1, 20, 20, 8, 8, 3, 3, 1, "same", 1, 1),  # P > 256: chunked weight gradient
    # packed panels filled to their last element (Kg = P = 256, a full MC block, Cg < 8,
    # stride 2): at 1 thread the workspace ends where the kernel's last write does
    ("full_panels", 1, 38, 38, 4, 7, 8, 8, 2, "valid", 1, 1),
    ("kernel_is_input", 2, 5, 4, 11, 19, 5, 4, 1, "valid", 1, 1),
    # first layers (G == 1, C <= 3): the direct forward kernel
    ("first_c3_oc37", 2, 17, 19, 3, 37, 5, 5, 2, "same", 2, 1),
    ("first_c2_narrow", 1, 6, 5, 2, 5, 3, 3, 1, ((4, 2), (3, 4)), 1, 1),  # OW < 8, pad > kernel
    ("first_c1_oc33", 1, 12, 11, 1, 33, 3, 3, 1, "same", 1, 1),
    # rows of 27, 15, 14 and 6 pixels: whole steps of 14 (AVX-512) or 6 (AVX2) pixels, and a
    # last step overlapping the one before
    ("first_c1_ow27", 2, 5, 27, 1, 40, 3, 3, 1, "same", 1, 1),
    ("first_c3_ow15", 1, 4, 15, 3, 33, 3, 3, 1, "same", 1, 1),
    ("first_c2_ow14", 1, 3, 14, 2, 20, 3, 3, 1, "same", 1, 1),
    ("first_c1_ow6", 2, 3, 6, 1, 17, 3, 3, 1, "same", 1, 1),
    ("first_c3_stride_gt_kernel", 2, 10, 10, 3, 16, 1, 2, (3, 4), "valid", 1, 1),
    # more than 256 taps: the forward back on the GEMM path (C = 3); many direct weight-gradient
    # taps (C = 3 and C = 1)
    ("taps_300_c3", 1, 12, 11, 3, 7, 10, 10, 1, ((2, 1), (0, 3)), 1, 1),
    ("taps_289_c1", 2, 19, 18, 1, 24, 17, 17, 1, ((1, 0), (0, 2)), 1, 1),
    # direct weight gradient: OC splits differently into 16- and 32-wide blocks
    ("c1_oc24", 3, 9, 10, 1, 24, 3, 3, 1, "same", 1, 1),
    ("c1_oc40_dilated", 2, 11, 9, 1, 40, 3, 3, 2, ((3, 3), (1, 1)), 2, 1),
    # few channels with groups (not first layers: G > 1)
    ("c3_g3", 2, 7, 8, 3, 6, 3, 3, 1, "same", 1, 3),
    ("c2_g2", 1, 6, 9, 2, 4, 2, 3, 2, ((1, 1), (2, 0)), 1, 2),
    ("depthwise8", 2, 9, 9, 8, 8, 3, 3, 1, "same", 1, 8),
    # a long bias gradient: 4096 pixels per channel
    ("long_bias", 64, 8, 8, 4, 3, 1, 1, 1, "valid", 1, 1),
]

# (name, m, k, n, transpose_a, reverse_rows_a, with_bias)
MATMUL_CASES = [
    ("tiny", 1, 1, 1, False, False, True),
    ("k_257_edges", 15, 257, 33, False, False, True),
    ("transposed_a", 29, 40, 17, True, False, True),
    ("reversed_rows", 141, 20, 65, False, True, False),
    ("empty_k", 3, 0, 5, False, False, True),
    ("n_600", 3, 70, 600, False, False, True),  # wider than one 512-column block
]

# (name, N, H, W, C, pool, strides, padding)
POOL_CASES = [
    ("same_stride_gt_pool", 2, 9, 7, 33, 2, 3, "same"),
    ("pool_is_input", 1, 5, 6, 1, (5, 6), None, "valid"),
    ("overlapping", 2, 8, 8, 17, 3, 1, "same"),
]

WORKER = r"""
import json, sys, zlib
import numpy as np
sys.path.insert(0, TESTS_DIR)
import reference as ref
import fastconv
from fastconv import ops
from fastconv._ext import _conv
from fastconv.ops.conv2d import _geometry

def fp_mode_is_ieee():
    tiny = np.array([np.finfo(np.float32).tiny / 4], np.float32)  # a subnormal
    return bool((tiny * np.float32(1.0))[0] != 0) and bool((tiny + tiny)[0] != 0)

def rel(got, want, scale=0.0):
    # max error over max|want|, or over `scale` when larger (an average of a few values of
    # either sign can be far smaller than the values whose rounding it carries)
    got, want = np.asarray(got, np.float64), np.asarray(want, np.float64)
    assert got.shape == want.shape, (got.shape, want.shape)
    if want.size == 0:
        return 0.0
    return float(np.max(np.abs(got - want)) / max(np.max(np.abs(want)), scale, 1e-30))

def workers_ieee():
    # relu_backward compares y > 0 on the OpenMP threads without touching their FP mode: a
    # worker left with denormals-are-zero by an earlier kernel would read these y as 0
    y = np.full(1 << 19, np.finfo(np.float32).tiny / 4, np.float32)
    return bool((ops.relu_backward(np.ones_like(y), y) == 1).all())

def fresh():
    # A workspace of exactly the requested size for the next call (the cached one only grows),
    # so that under the sanitizer build a kernel overrunning its workspace size is reported.
    _conv._scratch.buf = None

def digest(arrays):
    return [zlib.crc32(np.ascontiguousarray(a).tobytes()) for a in arrays]

errors, digests = {}, {}
ieee = workers = same_dx = True
for threads in (1, 2):
    fastconv.set_num_threads(threads)
    for dt in (np.float32, np.float64):
        rng = np.random.default_rng(7)
        for (name, N, H, W, C, F, KH, KW, s, pad, dil, g) in CONV_CASES:
            x = rng.standard_normal((N, H, W, C)).astype(dt)
            w = rng.standard_normal((KH, KW, C // g, F)).astype(dt)
            b = rng.standard_normal(F).astype(dt)
            kw = dict(strides=s, padding=pad, dilation_rate=dil, groups=g)
            geometry = _geometry(x.shape, w.shape, s, pad, dil, g)[0]
            dy = rng.standard_normal(ops.conv2d(x, w, b, **kw).shape).astype(dt)
            want_y = ref.conv2d_ref(x, w, b, strides=s, padding=pad, dilation=dil, groups=g)
            want = ref.conv2d_backward_ref(dy, x, w, strides=s, padding=pad, dilation=dil, groups=g)
            # shapes Winograd takes run again on the GEMM kernels, which they would take without it
            for winograd in (True, False) if "winograd" in str(_conv.kernels(geometry)) else (True,):
                _conv.set_winograd(winograd)
                fresh()
                y = ops.conv2d(x, w, b, **kw)
                fresh()
                yr = ops.conv2d(x, w, b, activation="relu", **kw)
                fresh()
                dx, dw, db = ops.conv2d_backward(dy, x, w, **kw)
                # the input gradient again on its own, in a workspace of its own size
                dx_alone = np.empty_like(x)
                fresh()
                _conv.backward_input(dy, w, dx_alone, geometry, fastconv.get_num_threads())
                _conv.set_winograd(True)
                ieee &= fp_mode_is_ieee()
                key = f"conv/{name}{'' if winograd else '-gemm'}/{dt.__name__}"
                errors[key] = max(rel(y, want_y), rel(yr, np.maximum(want_y, 0)),
                                  *(rel(got, exp) for got, exp in zip((dx, dw, db), want)))
                digests[f"{key}/{threads}"] = digest((y, yr, dx, dw, db))
                same_dx &= bool(np.array_equal(dx, dx_alone))
        for (name, m, k, n, trans, rev, with_bias) in MATMUL_CASES:
            a = rng.standard_normal((k, m) if trans else (m, k)).astype(dt)
            a = a.T if trans else a
            a = a[::-1] if rev else a
            bm = rng.standard_normal((k, n)).astype(dt)
            bias = rng.standard_normal(n).astype(dt) if with_bias else None
            fresh()
            got = ops.matmul(a, bm, bias)
            ieee &= fp_mode_is_ieee()
            want = np.asarray(a, np.float64) @ np.asarray(bm, np.float64)
            if with_bias:
                want = want + bias
            key = f"matmul/{name}/{dt.__name__}"
            errors[key] = rel(got, want)
            digests[f"{key}/{threads}"] = digest((got,))
        for (name, N, H, W, C, pool, s, pad) in POOL_CASES:
            x = rng.standard_normal((N, H, W, C)).astype(dt)
            mx = ops.max_pool2d(x, pool, s, pad)
            av = ops.avg_pool2d(x, pool, s, pad)
            dy = rng.standard_normal(mx.shape).astype(dt)
            dmx = ops.max_pool2d_backward(dy, x, pool, s, pad)
            dav = ops.avg_pool2d_backward(dy, x, pool, s, pad)
            ieee &= fp_mode_is_ieee()
            key = f"pool/{name}/{dt.__name__}"
            errors[key] = max(rel(mx, ref.max_pool2d_ref(x, pool, s, pad)),
                              rel(av, ref.avg_pool2d_ref(x, pool, s, pad), np.abs(x).max()),
                              rel(dmx, ref.max_pool2d_backward_ref(dy, x, pool, s, pad)),
                              rel(dav, ref.avg_pool2d_backward_ref(dy, x, pool, s, pad),
                                  np.abs(dy).max()))
            digests[f"{key}/{threads}"] = digest((mx, av, dmx, dav))
    workers &= workers_ieee()

# Edge tiles round like full tiles: a slice of the columns (or one row) computed on its own, in
# a partial tile, equals the same slice of the full result bit for bit.
edges = {}
for dt in (np.float32, np.float64):
    rng = np.random.default_rng(11)
    a = rng.standard_normal((37, 300)).astype(dt)
    bm = rng.standard_normal((300, 45)).astype(dt)
    bias = rng.standard_normal(45).astype(dt)
    full = ops.matmul(a, bm, bias, activation="relu")
    for j0, j1 in ((0, 3), (16, 33), (40, 45)):
        part = ops.matmul(a, bm[:, j0:j1], bias[j0:j1], activation="relu")
        edges[f"matmul/cols{j0}:{j1}/{dt.__name__}"] = bool(np.array_equal(part, full[:, j0:j1]))
    for i in (0, 13, 36):
        part = ops.matmul(a[i:i + 1], bm, bias, activation="relu")
        edges[f"matmul/row{i}/{dt.__name__}"] = bool(np.array_equal(part, full[i:i + 1]))
    for (name, N, H, W, C, F, KH, KW, s, pad, dil, g) in CONV_CASES:
        if g != 1 or F < 5:
            continue
        x = rng.standard_normal((N, H, W, C)).astype(dt)
        w = rng.standard_normal((KH, KW, C, F)).astype(dt)
        b = rng.standard_normal(F).astype(dt)
        kw = dict(strides=s, padding=pad, dilation_rate=dil, groups=g)
        f0, f1 = F // 2, F // 2 + 3
        for winograd in (True, False):
            _conv.set_winograd(winograd)
            full = ops.conv2d(x, w, b, **kw)
            part = ops.conv2d(x, w[..., f0:f1], b[f0:f1], **kw)
            tag = "" if winograd else "-gemm"
            edges[f"conv/{name}{tag}/{dt.__name__}"] = bool(np.array_equal(part, full[..., f0:f1]))
        _conv.set_winograd(True)
print(json.dumps({"isa": _conv.simd_level(), "errors": errors, "digests": digests,
                  "ieee": ieee, "workers_ieee": workers, "same_dx": same_dx, "edges": edges}))
"""


def _run(level):
    script = "\n".join([
        f"TESTS_DIR = {TESTS_DIR!r}",
        f"CONV_CASES = {CONV_CASES!r}",
        f"MATMUL_CASES = {MATMUL_CASES!r}",
        f"POOL_CASES = {POOL_CASES!r}",
        WORKER,
    ])
    env = dict(os.environ, FASTCONV_ISA=level)
    # From tests/: after a plain `pip install .` the root's fastconv/ would shadow the install.
    run = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True,
                         timeout=300, cwd=TESTS_DIR)
    assert run.returncode == 0, f"FASTCONV_ISA={level}: worker failed\n{run.stderr[-4000:]}"
    result = json.loads(run.stdout.strip().splitlines()[-1])
    assert result["isa"] == level, f"FASTCONV_ISA={level} selected {result['isa']}"
    return result


_results = {}


def results(level):
    if level not in _results:
        _results[level] = _run(level)
    return _results[level]


TOL = {"float32": 2e-5, "float64": 1e-11}


@pytest.mark.parametrize("level", LEVELS)
def test_awkward_shapes_match_the_float64_reference(level):
    errors = results(level)["errors"]
    bad = {key: err for key, err in errors.items() if err > TOL[key.rsplit("/", 1)[1]]}
    assert not bad, f"FASTCONV_ISA={level}: relative errors above tolerance: {bad}"


@pytest.mark.parametrize("level", LEVELS)
def test_results_do_not_depend_on_the_thread_count(level):
    digests = results(level)["digests"]
    differ = sorted({key.rsplit("/", 1)[0] for key in digests
                     if key.endswith("/1") and digests[key] != digests[key[:-1] + "2"]})
    assert not differ, f"FASTCONV_ISA={level}: 1 and 2 threads differ on {differ}"


@pytest.mark.parametrize("level", LEVELS)
def test_calls_leave_the_callers_fp_mode_alone(level):
    result = results(level)
    assert result["ieee"], f"FASTCONV_ISA={level}: FTZ/DAZ leaked to the calling thread"
    assert result["workers_ieee"], f"FASTCONV_ISA={level}: FTZ/DAZ leaked to OpenMP threads"


@pytest.mark.parametrize("family", [FMA_LEVELS, PORTABLE_LEVELS], ids=["fma", "portable"])
def test_levels_of_one_family_agree_bit_for_bit(family):
    if len(family) < 2:
        pytest.skip(f"fewer than two levels of this family on this CPU: {family}")
    first = results(family[0])["digests"]
    for level in family[1:]:
        other = results(level)["digests"]
        differ = sorted(key for key in first if first[key] != other[key])
        assert not differ, f"{family[0]} and {level} differ on {differ}"


@pytest.mark.parametrize("level", LEVELS)
def test_input_gradient_alone_matches_the_one_from_conv2d_backward(level):
    # run in a workspace sized for the input gradient alone (not one left by the weight gradient)
    assert results(level)["same_dx"], f"FASTCONV_ISA={level}: the input gradients differ"


@pytest.mark.parametrize("level", LEVELS)
def test_edge_tiles_round_like_full_tiles(level):
    edges = results(level)["edges"]
    differ = sorted(key for key, same in edges.items() if not same)
    assert not differ, f"FASTCONV_ISA={level}: partial tiles differ from full ones on {differ}"
