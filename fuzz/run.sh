#!/bin/sh
# Fuzzes fastconv's model loader for SECONDS seconds (default 60).
#   fuzz/run.sh 60
# Needs `pip install atheris`. Findings (crash-*, timeout-*, oom-*) land in fuzz/artifacts/.
set -eu
SECONDS_TO_RUN="${1:-60}"
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(dirname "$HERE")"
CORPUS="$HERE/corpus"
ARTIFACTS="$HERE/artifacts"
mkdir -p "$CORPUS" "$ARTIFACTS"
cd "$ROOT"
if ! python -c "import atheris" 2>/dev/null; then
    echo "fuzz/run.sh: atheris is not installed (pip install atheris); skipping fuzzing." >&2
    exit 0
fi
python "$HERE/fuzz_load_model.py" --make-seeds "$CORPUS"
exec python "$HERE/fuzz_load_model.py" \
    -max_total_time="$SECONDS_TO_RUN" -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
    -print_final_stats=1 -artifact_prefix="$ARTIFACTS/" "$CORPUS"
