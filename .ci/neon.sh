#!/usr/bin/env bash
# The NEON kernels on an x86 machine:
#   1. the whole C library cross-compiles for aarch64 without a warning and links;
#   2. the micro-kernels' source, compiled through SIMDe, equals the AVX2 kernels bit for bit,
#      edge tiles included (plain, then under AddressSanitizer + UBSan);
#   3. the real NEON micro-kernels run under qemu-user (plain, then under the sanitizers);
#   4. the library's conv2d and gemm entry points (drivers calling the NEON kernels) run for
#      aarch64 under qemu-user (plain, then under the sanitizers) and natively on AVX2, each
#      against its float64 twins and with subnormals flushed inside the kernels, and with
#      bit-identical results on both.
# Installs what it lacks: Debian packages (as root), the SIMDe headers (simde-py) in a scratch
# folder.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

if ! command -v aarch64-linux-gnu-gcc >/dev/null || ! command -v qemu-aarch64 >/dev/null; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq gcc-aarch64-linux-gnu qemu-user \
        >/dev/null
fi
include='import simde_py; print(simde_py.get_include())'
if ! simde="$(python -c "$include" 2>/dev/null)"; then
    python -m pip install -q --target "$work/simde-py" simde-py
    simde="$(PYTHONPATH="$work/simde-py" python -c "$include")"
fi

echo "--- the C library cross-compiled and linked for aarch64, warnings as errors"
cd "$repo/csrc"
for src in *.c; do
    aarch64-linux-gnu-gcc -O3 -std=c11 -fno-math-errno -fno-trapping-math -ffp-contract=fast -fopenmp -fPIC -Wall \
        -Wextra -Werror -c "$src" -o "$work/${src%.c}.o"
done
# One shared library of every file, refusing undefined symbols: an ISA table entry without its
# kernel would show here.
aarch64-linux-gnu-gcc -shared -fopenmp -Wl,--no-undefined "$work"/*.o -lm -o "$work/libfastconv.so"
echo "aarch64 build of csrc: $(ls "$work"/*.o | wc -l) files, no warnings, linked"

cd "$repo/tests/c"
echo "--- NEON kernels through SIMDe vs the AVX2 kernels (built with the library's flags)"
make --no-print-directory check-neonemu O="$work/emu" SIMDE="$simde" EMUFLAGS=
echo "--- the same built with -mavx2 -mfma, under AddressSanitizer + UBSan"
make --no-print-directory check-neonemu O="$work/emu-asan" SIMDE="$simde" SANITIZE=1
echo "--- real NEON kernels under qemu-aarch64"
make --no-print-directory check-neon O="$work/neon"
# LeakSanitizer cannot run under qemu-user; every other check can.
echo "--- the same under AddressSanitizer + UBSan"
ASAN_OPTIONS=detect_leaks=0 make --no-print-directory check-neon O="$work/neon-asan" SANITIZE=1
echo "--- the library's conv2d and gemm on aarch64 under qemu-aarch64 (1 and 2 threads)"
make --no-print-directory check-ops O="$work/neon" | tee "$work/ops-neon.log"
echo "--- the same under AddressSanitizer + UBSan"
ASAN_OPTIONS=detect_leaks=0 make --no-print-directory check-ops O="$work/neon-asan" SANITIZE=1
echo "--- the same natively with the AVX2 kernels"
FASTCONV_ISA=avx2 make --no-print-directory check-ops O="$work/x86" TARGET_CC=cc RUN= \
    | tee "$work/ops-avx2.log"
# Same tiles, k order, fused multiply-adds and loops: the aarch64 results equal the AVX2 ones.
neon_digest="$(grep '^results digest' "$work/ops-neon.log")"
avx2_digest="$(grep '^results digest' "$work/ops-avx2.log")"
if [ -z "$neon_digest" ] || [ "$neon_digest" != "$avx2_digest" ]; then
    echo "conv2d/gemm results on aarch64 (NEON) differ from x86 (AVX2)" >&2
    exit 1
fi
echo "conv2d/gemm results on aarch64 (NEON) and x86 (AVX2): bit-identical"
