#!/usr/bin/env bash
# SSE fan-out: 1,000 / 3,000 / 10,000 clients on one API process vs. a plain sse-starlette loop.
set -euo pipefail
cd "$(dirname "$0")/../.."
.venv/bin/python -m bench.streaming.bench_streams "$@"
