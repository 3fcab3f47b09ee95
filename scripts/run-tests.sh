#!/usr/bin/env bash
# Runs every unit and integration test binary of the workspace, two binaries at a time
# (each with two test threads): most integration tests wait on servers, not on the CPU.
# The binaries that stop or restart a server the others use (RabbitMQ, PostgreSQL),
# time a rebalance, or bound what a crash repeats run first, alone (tests that stop
# Kafka use the stack's spare broker and need not). Each binary's output is printed
# whole when it ends; the run goes on past a failure and ends listing every failed
# binary.
#
# Usage: scripts/run-tests.sh [extra args for every test binary]
set -euo pipefail
cd "$(dirname "$0")/.."

# Binaries that must have the servers to themselves (file_pipeline: its SIGKILL test
# bounds duplicates by what one flush interval writes, which a loaded machine skews).
ALONE="amqp_source amqp_sink jdbc_source distributed file_pipeline"
# The longest of the others start first, so the two lanes end close together.
SLOW_FIRST="mongodb_sink migration tls_servers conformance missing_topic exactly_once internal_topics"

out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT

# name <TAB> directory to run in <TAB> executable, for every test binary cargo builds
cargo test --workspace --lib --bins --tests --no-run --message-format=json 2>"$out/build.log" \
  | python3 -c '
import json, os, sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m.get("profile", {}).get("test") and m.get("executable"):
        t = m["target"]
        print("%s:%s\t%s\t%s" % (t["kind"][0], t["name"], os.path.dirname(m["manifest_path"]), m["executable"]))
' >"$out/binaries" || { cat "$out/build.log" >&2; exit 1; }

run_one() { # line of $out/binaries; prints the binary's output when it ends
  local name dir exe rc=0 started
  IFS=$'\t' read -r name dir exe <<<"$1"
  shift
  started=$(date +%s)
  (cd "$dir" && "$exe" --test-threads=2 "$@") >"$out/$name.log" 2>&1 || rc=$?
  {
    flock 9
    echo "=== $name ($(( $(date +%s) - started )) s, exit $rc)"
    cat "$out/$name.log"
  } 9>"$out/print.lock"
  [ "$rc" = 0 ] || echo "$name" >>"$out/failed"
}
export -f run_one
export out

alone=() first=() rest=()
while IFS= read -r line; do
  base="${line%%$'\t'*}"; base="${base#*:}"
  if [[ " $ALONE " == *" $base "* ]]; then alone+=("$line")
  elif [[ " $SLOW_FIRST " == *" $base "* ]]; then first+=("$line")
  else rest+=("$line"); fi
done <"$out/binaries"

started=$(date +%s)
for line in ${alone[@]+"${alone[@]}"}; do run_one "$line" "$@"; done
printf '%s\n' ${first[@]+"${first[@]}"} ${rest[@]+"${rest[@]}"} \
  | tr '\n' '\0' | xargs -0 -P2 -I{} bash -c 'run_one "$1" "${@:2}"' _ {} "$@"
echo "=== all test binaries ran in $(( $(date +%s) - started )) s"
if [ -s "$out/failed" ]; then
  echo "FAILED: $(tr '\n' ' ' <"$out/failed")" >&2
  exit 1
fi
