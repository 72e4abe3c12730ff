#!/usr/bin/env bash
# Emulated-ISA job: builds, in a scratch copy of the tree, the test-only kernel sets "avx512emu"
# and "neonemu" (the AVX-512 and NEON micro-kernel sources through SIMDe on AVX2 + FMA) and runs
# the op-level tests on each, including the cross-ISA test that their results equal the AVX2
# kernels' bit for bit. Every machine with AVX2 runs it, with or without AVX-512 hardware.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
python -m pip install -q "simde-py==0.8.2.post1"
git -C "$repo" ls-files -z --cached --others --exclude-standard \
    | (cd "$repo" && xargs -0 cp --parents -t "$work")
cd "$work"
# Child processes the tests start import this build too, from whatever folder they run in.
export PYTHONPATH="$work${PYTHONPATH:+:$PYTHONPATH}"
FASTCONV_EMULATE=1 python setup.py -q build_ext --inplace --build-temp build/emu >/dev/null
for level in avx512emu neonemu; do
    echo "--- op-level tests at FASTCONV_ISA=$level"
    got="$(FASTCONV_ISA=$level python -c 'from fastconv._ext import _conv; print(_conv.simd_level())')"
    if [ "$got" != "$level" ]; then
        echo "the emulated build did not select $level (got $got)" >&2
        exit 1
    fi
    FASTCONV_ISA=$level python -m pytest -q -p no:cacheprovider "$@"
done
