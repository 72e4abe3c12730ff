#!/usr/bin/env bash
# Build without OpenMP (as with Apple clang) in a scratch copy of the tree and run the given
# tests against it: the kernels must work single-threaded and show_config must say so.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
git -C "$repo" ls-files -z | (cd "$repo" && xargs -0 cp --parents -t "$work")
cd "$work"
# Child processes the tests start import this build too, from whatever folder they run in.
export PYTHONPATH="$work${PYTHONPATH:+:$PYTHONPATH}"
FASTCONV_OPENMP=0 python setup.py -q build_ext --inplace --build-temp build/no-openmp >/dev/null
python -c "import fastconv, sys; sys.exit(fastconv.show_config()['openmp'] is not False)"
python -m pytest -q -p no:cacheprovider -x "$@"
