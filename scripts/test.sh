#!/usr/bin/env bash
# The whole test suite on a fresh machine: installs and starts every server the tests
# need (scripts/stack.sh), then runs the unit and integration tests.
set -euo pipefail
cd "$(dirname "$0")/.."
# A one-off build gains nothing from incremental state (gigabytes on disk); set
# CARGO_INCREMENTAL=1 to keep it when running the suite repeatedly while developing.
export CARGO_INCREMENTAL="${CARGO_INCREMENTAL:-0}"
# The servers install (downloads, mostly waiting on the network) while the build uses
# the CPU; the stack's log is printed when it is done.
stack_log="$(mktemp)"
scripts/stack.sh up >"$stack_log" 2>&1 &
stack_pid=$!
# Benchmarks are built (so they keep compiling) but not run: `cargo test --all-targets`
# would run the harness-less ones as tests.
build_ok=0
cargo build --workspace --all-targets || build_ok=$?
stack_ok=0
wait "$stack_pid" || stack_ok=$?
cat "$stack_log" >&2
rm -f "$stack_log"
[ "$stack_ok" = 0 ] || { echo "scripts/stack.sh up failed (exit $stack_ok)" >&2; exit "$stack_ok"; }
[ "$build_ok" = 0 ] || exit "$build_ok"
# Two test binaries at a time, two tests each; see scripts/run-tests.sh.
scripts/run-tests.sh
