#!/usr/bin/env bash
# Instructions per row of the JDBC source, counted with callgrind: a figure that does
# not move with the machine's load (CPU time per row swings by +-15 % between runs on
# the project's 2-core VM), for comparing two builds of one change.
#
#   scripts/stack.sh up                  # PostgreSQL 15 and Apache Kafka
#   scripts/jdbc-instructions.sh [BIN] [ROWS]
#
# BIN is a sluice binary (default: target/release/sluice, built if missing), ROWS the
# table's size (default 200000). The worker runs one jdbc-source (incrementing mode,
# JsonConverter without schemas, defaults otherwise, as `cargo bench --bench jdbc`)
# under valgrind until its stored offset reaches the last row. Prints the worker's
# instructions per row (all threads, start-up included: about 3 % at 200,000 rows) and
# the functions that executed the most. With CALLGRIND_OUT=FILE the raw profile is kept
# there (for `callgrind_annotate --tree=caller FILE`).
set -euo pipefail
cd "$(dirname "$0")/.."

BIN=${1:-target/release/sluice}
ROWS=${2:-200000}
TABLE=sluice_instr_${ROWS}
PSQL=(psql -h 127.0.0.1 -U postgres -d test -qAt)

if ! command -v valgrind >/dev/null; then
  echo "installing valgrind" >&2
  apt-get install -y -qq valgrind >/dev/null
fi
if [ ! -x "$BIN" ]; then
  cargo build --release --bin sluice
fi
if [ "$("${PSQL[@]}" -c "SELECT to_regclass('$TABLE') IS NOT NULL")" != t ]; then
  "${PSQL[@]}" -c "CREATE TABLE $TABLE (id int8 PRIMARY KEY, name text NOT NULL, qty int4 NOT NULL, price numeric(12,2) NOT NULL, created_at timestamptz NOT NULL);
    INSERT INTO $TABLE SELECT g, 'item ' || g, g % 100, (g % 10000) / 100.0, TIMESTAMPTZ '2024-01-01' + g * INTERVAL '1 second' FROM generate_series(1, $ROWS) g;"
  "${PSQL[@]}" -c "VACUUM ANALYZE $TABLE"
fi

dir=$(mktemp -d)
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
trap 'kill "${pid:-0}" 2>/dev/null || true; rm -rf "$dir"' EXIT
cat > "$dir/worker.yaml" <<EOF
bootstrap.servers: 127.0.0.1:9092
offset.storage.file.filename: $dir/offsets.json
offset.flush.interval.ms: 50
listeners: http://127.0.0.1:$port
EOF
cat > "$dir/source.yaml" <<EOF
name: instructions
config:
  connector.class: jdbc-source
  connection.url: jdbc:postgresql://127.0.0.1:5432/test?user=postgres
  mode: incrementing
  incrementing.column.name: id
  table.whitelist: $TABLE
  topic.prefix: instr-$(date +%s%N)-
  key.converter: org.apache.kafka.connect.json.JsonConverter
  key.converter.schemas.enable: false
  value.converter: org.apache.kafka.connect.json.JsonConverter
  value.converter.schemas.enable: false
EOF
SLUICE_LOG=warn valgrind --tool=callgrind --callgrind-out-file="$dir/callgrind.out" \
  "$BIN" standalone "$dir/worker.yaml" "$dir/source.yaml" 2>"$dir/log" &
pid=$!
deadline=$((SECONDS + 600))
until grep -q "\"incrementing\": $ROWS" "$dir/offsets.json" 2>/dev/null; do
  if ! kill -0 "$pid" 2>/dev/null || [ $SECONDS -gt $deadline ]; then
    echo "the worker did not finish; its log:" >&2
    cat "$dir/log" >&2
    exit 1
  fi
  sleep 0.2
done
kill -INT "$pid"
wait "$pid" || true
pid=
if [ -n "${CALLGRIND_OUT:-}" ]; then cp "$dir/callgrind.out" "$CALLGRIND_OUT"; fi
callgrind_annotate "$dir/callgrind.out" 2>/dev/null | awk -v n="$ROWS" '
  /PROGRAM TOTALS/ { gsub(",", "", $1); printf "%.0f instructions per row (%s rows)\n\ntop functions, instructions per row:\n", $1 / n, n; next }
  /^ *[0-9,]+ +\( *[0-9.]+%\) +[^ ]/ && shown < 25 {
    gsub(",", "", $1); name = $0; sub(/^ *[0-9,]+ +\( *[0-9.]+%\) +/, "", name)
    sub(/ \[.*$/, "", name); sub(/^.*\.(rs|c|h|S):/, "", name)
    printf "%8.0f  %s\n", $1 / n, substr(name, 1, 110); shown++ }'
