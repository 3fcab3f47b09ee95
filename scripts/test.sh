#!/usr/bin/env bash
# The whole test suite on a fresh machine: installs and starts every server the tests
# need (scripts/stack.sh), then runs the unit and integration tests.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/stack.sh up
# A one-off build gains nothing from incremental state (gigabytes on disk); set
# CARGO_INCREMENTAL=1 to keep it when running the suite repeatedly while developing.
export CARGO_INCREMENTAL="${CARGO_INCREMENTAL:-0}"
# Benchmarks are built (so they keep compiling) but not run: `cargo test --all-targets`
# would run the harness-less ones as tests.
cargo build --workspace --all-targets
# Integration tests share one broker; two at a time keeps it responsive on 2 cores.
cargo test --workspace --lib --bins --tests -- --test-threads=2
