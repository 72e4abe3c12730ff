#!/usr/bin/env bash
# Emulated-ISA job: builds, in a scratch copy of the tree, the test-only kernel set "avx512emu"
# (the AVX-512 micro-kernel source through SIMDe on AVX2 + FMA) and runs the op-level tests on it,
# including the cross-ISA test that its results equal the AVX2 kernels' bit for bit. Every machine
# with AVX2 runs it, with or without AVX-512 hardware.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
python -m pip install -q "simde-py==0.8.2.post1"
git -C "$repo" ls-files -z --cached --others --exclude-standard \
    | (cd "$repo" && xargs -0 cp --parents -t "$work")
cd "$work"
FASTCONV_EMULATE=1 python setup.py -q build_ext --inplace --build-temp build/emu >/dev/null
level="$(FASTCONV_ISA=avx512emu python -c 'from fastconv._ext import _conv; print(_conv.simd_level())')"
if [ "$level" != "avx512emu" ]; then
    echo "the emulated build did not select avx512emu (got $level)" >&2
    exit 1
fi
FASTCONV_ISA=avx512emu python -m pytest -q -p no:cacheprovider "$@"
