#!/usr/bin/env bash
# Orders through the API vs. a no-op Temporal update on the same server.
set -euo pipefail
cd "$(dirname "$0")/../.."
.venv/bin/python -m bench.trading.bench_orders "$@"
