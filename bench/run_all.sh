#!/usr/bin/env bash
# Every benchmark, one after another; each prints its own figures and baseline.
set -euo pipefail
cd "$(dirname "$0")/.."
for script in bench/*/run.sh; do
  echo "== $script"
  bash "$script"
done
