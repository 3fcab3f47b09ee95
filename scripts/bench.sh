#!/usr/bin/env bash
# End-to-end benchmarks: Sluice against plain client loops with the same settings, in
# one run. Uses the memory-only broker on 127.0.0.1:9094 by default (started here);
# set SLUICE_BENCH_BOOTSTRAP=127.0.0.1:9092 to measure against the SQLite broker.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/stack.sh fast-broker
cargo bench --bench file_pipeline "$@"
