#!/usr/bin/env bash
# The whole test suite on a fresh machine: installs and starts every server the tests
# need (scripts/stack.sh), then runs the unit and integration tests.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/stack.sh up
# Benchmarks are built (so they keep compiling) but not run: `cargo test --all-targets`
# would run the harness-less ones as tests.
cargo build --workspace --all-targets
# Integration tests share one broker; two at a time keeps it responsive on 2 cores.
cargo test --workspace --lib --bins --tests -- --test-threads=2
