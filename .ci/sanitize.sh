#!/usr/bin/env bash
# Sanitizer job: builds the extensions with AddressSanitizer + UBSan in a scratch copy of the
# tree and runs the op-level tests against that build. Any sanitizer report fails the job.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
# Tracked files plus new, not-ignored ones: a working tree with uncommitted modules runs too.
git -C "$repo" ls-files -z --cached --others --exclude-standard \
    | (cd "$repo" && xargs -0 cp --parents -t "$work")
cd "$work"
# Child processes the tests start import this build too, from whatever folder they run in.
export PYTHONPATH="$work${PYTHONPATH:+:$PYTHONPATH}"
FASTCONV_SANITIZE=1 python setup.py -q build_ext --inplace --build-temp build/asan >/dev/null
asan="$(gcc -print-file-name=libasan.so)"
# CPython itself is not instrumented: its allocations are not leaks we own (see the leak test).
# allocator_may_return_null: a huge request returns NULL (NumPy raises MemoryError, as with
# glibc) instead of aborting; the size tests in test_op_errors.py ask for terabytes on purpose.
export ASAN_OPTIONS="detect_leaks=0:abort_on_error=1:halt_on_error=1:allocator_may_return_null=1"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1"
# --capture=sys: sanitizer reports go to the real stderr, so an abort does not swallow them.
LD_PRELOAD="$asan" python -m pytest -q -p no:cacheprovider --capture=sys -x "$@"
