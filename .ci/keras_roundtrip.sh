#!/usr/bin/env bash
# Live round trip with real Keras 3: a fresh virtual environment with keras, jax, jaxlib and h5py
# from the package index and fastconv built from this working tree; .ci/keras_roundtrip.py saves
# a CNN and a functional model in each library (.keras, .weights.h5, .h5) and loads them in the
# other, which must predict the same (rtol 1e-5) and continue training from the same optimizer state.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
venv="$(mktemp -d)/keras-roundtrip"
python -m venv "$venv"
"$venv/bin/python" -m pip install --quiet --upgrade pip
"$venv/bin/python" -m pip install --quiet keras jax jaxlib h5py "$repo[h5]"
# From outside the source tree, so Python imports the installed fastconv, not the unbuilt sources.
cd "$(dirname "$venv")"
KERAS_BACKEND=jax JAX_PLATFORMS=cpu "$venv/bin/python" "$repo/.ci/keras_roundtrip.py"
