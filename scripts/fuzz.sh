#!/usr/bin/env bash
# Fuzzes the parsers that take outside bytes (fuzz/fuzz_targets/*.rs), one target at a
# time, each for the given number of seconds (default 60), and prints the executions
# run per target. Not part of scripts/test.sh (CI time).
#
#   scripts/fuzz.sh [seconds-per-target] [target...]
#
# Needs nightly Rust and cargo-fuzz (installed here if missing). Each target starts
# from fuzz/seeds/<target> plus what earlier runs kept in fuzz/corpus/<target>. A crash
# leaves its input in fuzz/artifacts/<target>/ and makes the script exit 1: fix it and
# keep the input as a regression test (see docs/testing.md).
set -euo pipefail

secs="${1:-60}"
shift || true
cd "$(dirname "$0")/../fuzz"

if ! rustup toolchain list | grep -q '^nightly'; then
    echo "fuzz.sh: needs the nightly toolchain (rustup toolchain install nightly)" >&2
    exit 2
fi
if ! command -v cargo-fuzz >/dev/null 2>&1; then
    cargo install cargo-fuzz
fi

all=$(cargo +nightly fuzz list)
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
    # shellcheck disable=SC2206
    targets=($all)
fi

cargo +nightly fuzz build -O -a

mkdir -p logs
declare -A execs status
failed=0
for t in "${targets[@]}"; do
    mkdir -p "corpus/$t"
    if [ -d "seeds/$t" ]; then
        cp -n "seeds/$t"/* "corpus/$t/" 2>/dev/null || true
    fi
    log="logs/$t.log"
    echo "== $t: ${secs}s" >&2
    # -timeout: an input taking 10 s is a finding too; -rss_limit_mb: so is one using
    # 2 GB. -max_len lets nesting and long lines reach the limits under test.
    if cargo +nightly fuzz run -O -a "$t" "corpus/$t" -- \
        -max_total_time="$secs" -print_final_stats=1 -timeout=10 \
        -rss_limit_mb=2048 -max_len=65536 >"$log" 2>&1; then
        status[$t]=ok
    else
        status[$t]="FAILED (see fuzz/$log, fuzz/artifacts/$t/)"
        failed=1
    fi
    execs[$t]=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -1)
done

printf '\n%-28s %14s %8s  %s\n' target executions exec/s result
for t in "${targets[@]}"; do
    n="${execs[$t]:-0}"
    printf '%-28s %14s %8s  %s\n' "$t" "$n" "$(( ${n:-0} / secs ))" "${status[$t]}"
done
exit "$failed"
