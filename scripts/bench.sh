#!/usr/bin/env bash
# End-to-end benchmarks: Sluice against plain client loops with the same settings, in
# one run, against the Apache Kafka broker of scripts/stack.sh (127.0.0.1:9092; set
# SLUICE_BENCH_BOOTSTRAP to use another).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/stack.sh up
cargo bench --bench file_pipeline "$@"
