#!/usr/bin/env bash
# Benchmark the engine against lightmatchingengine and pyclob in a private venv.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
if [ ! -x "$here/.venv/bin/python" ]; then
  python3 -m venv "$here/.venv"
fi
"$here/.venv/bin/pip" install -q lightmatchingengine pyclob
exec "$here/.venv/bin/python" "$here/bench_engine.py" "$@"
