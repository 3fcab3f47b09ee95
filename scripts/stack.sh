#!/usr/bin/env bash
# Installs what is missing and starts what is not running, all on 127.0.0.1, then
# waits until each server answers:
#   Apache Kafka 4.3.1 (KRaft, broker+controller)    127.0.0.1:9092 (controller :9093)
#   (and, for the tests that ask for it, a second one with topic auto-creation off:
#   `start-strict-broker`, 127.0.0.1:9095)
#   RabbitMQ                                         127.0.0.1:5672 (guest/guest)
#   Mosquitto                                        127.0.0.1:1883
#   PostgreSQL 15                                    127.0.0.1:5432 (trust auth)
#   MongoDB protocol (SecantusDB)                    127.0.0.1:27017
# plus a Python virtualenv with confluent-kafka and pymongo for independent checks.
#
# Kafka's jars (the broker, and Kafka Connect for side-by-side checks) come from Maven
# Central through scripts/kafka/pom.xml, once, into $SLUICE_STACK_DIR/kafka-<version>.
# `scripts/connect.sh` runs a Kafka Connect worker from the same jars.
#
# Idempotent: run it as often as you like. State lives in $SLUICE_STACK_DIR
# (default ~/.cache/sluice), outside the work tree.
#
# Usage: scripts/stack.sh [up|status|kafka-install|kafka-lib|start-broker|stop-broker|
#                          kill-broker|start-strict-broker|stop-strict-broker|
#                          start-mongo|stop-mongo]
set -euo pipefail

HERE="$(cd "$(dirname "$0")" && pwd)"
STACK="${SLUICE_STACK_DIR:-$HOME/.cache/sluice}"
KAFKA_VERSION="$(sed -n 's#.*<kafka.version>\(.*\)</kafka.version>.*#\1#p' "$HERE/kafka/pom.xml")"
KAFKA_LIB="$STACK/kafka-$KAFKA_VERSION/lib"
VENV="$STACK/venv"
DATA="$STACK/data"
KDATA="$DATA/kafka"
mkdir -p "$STACK" "$DATA"

log() { echo "[stack] $*" >&2; }
listening() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
wait_port() { # port name seconds
  for _ in $(seq 1 "$3"); do listening "$1" && return 0; sleep 1; done
  log "$2 did not start listening on 127.0.0.1:$1"; return 1
}
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
APT_UPDATED=""
apt_install() {
  log "installing $*"
  export DEBIAN_FRONTEND=noninteractive
  if [ -z "$APT_UPDATED" ]; then as_root apt-get update -qq >/dev/null || true; APT_UPDATED=1; fi
  as_root apt-get install -y -qq "$@" >/dev/null
}

python_env() {
  if [ ! -x "$VENV/bin/python" ]; then
    log "creating Python virtualenv $VENV"
    python3 -m venv "$VENV"
  fi
  if ! "$VENV/bin/python" -c 'import confluent_kafka, pymongo, secantus' 2>/dev/null; then
    log "installing confluent-kafka, pymongo, SecantusDB"
    "$VENV/bin/pip" install -q --disable-pip-version-check confluent-kafka pymongo 'SecantusDB==0.7.0b3'
  fi
}

# --- Apache Kafka ------------------------------------------------------------------

install_kafka() {
  if [ ! -f "$KAFKA_LIB/.complete" ]; then
    command -v java >/dev/null || apt_install openjdk-17-jre-headless
    command -v mvn >/dev/null || apt_install maven
    log "fetching Apache Kafka $KAFKA_VERSION from Maven Central into $KAFKA_LIB (once)"
    rm -rf "$KAFKA_LIB"
    mkdir -p "$KAFKA_LIB"
    mvn -q -B -f "$HERE/kafka/pom.xml" dependency:copy-dependencies \
      -DoutputDirectory="$KAFKA_LIB" >"$STACK/kafka-fetch.log" 2>&1 \
      || { tail -20 "$STACK/kafka-fetch.log" >&2; exit 1; }
    cp "$HERE/kafka/log4j2.yaml" "$KAFKA_LIB/log4j2.yaml"
    touch "$KAFKA_LIB/.complete"
  fi
}

kafka_java() { # main-class args...
  java -Xms256m -Xmx1g -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -Djava.awt.headless=true \
    -Dlog4j2.configurationFile="$KAFKA_LIB/log4j2.yaml" -cp "$KAFKA_LIB/*" "$@"
}

# Two single-node clusters: "main" (127.0.0.1:9092, Kafka's defaults, auto-creation of
# topics on) that every test uses, and "strict" (127.0.0.1:9095, started only by the
# tests that need it: `scripts/stack.sh start-strict-broker`) with automatic topic
# creation off, as many production clusters run. use_node selects which one the
# functions below work on.
use_node() {
  case "$1" in
    main) KDATA="$DATA/kafka"; KPORT=9092; KCTRL=9093; KEXTRA="" ;;
    strict) KDATA="$DATA/kafka-strict"; KPORT=9095; KCTRL=9096; KEXTRA="auto.create.topics.enable=false" ;;
  esac
}
use_node main

# Settings for a single-node test box: replication factor 1 everywhere, no initial
# rebalance delay, and retention/compaction checks every second so tests that shrink
# `segment.ms` / `retention.ms` see their effect in seconds, not minutes.
write_broker_config() {
  mkdir -p "$KDATA"
  cat >"$KDATA/server.properties" <<EOF
process.roles=broker,controller
node.id=1
controller.quorum.bootstrap.servers=127.0.0.1:$KCTRL
listeners=PLAINTEXT://127.0.0.1:$KPORT,CONTROLLER://127.0.0.1:$KCTRL
advertised.listeners=PLAINTEXT://127.0.0.1:$KPORT
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=$KDATA/logs
num.partitions=1
default.replication.factor=1
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
log.retention.check.interval.ms=1000
log.cleaner.backoff.ms=1000
log.segment.delete.delay.ms=1000
log.initial.task.delay.ms=1000
$KEXTRA
EOF
}

broker_running() { pgrep -f "kafka.Kafka $KDATA/server.properties" >/dev/null; }

# Test topics are never reused, so at the start of a run (`up`, never on the restarts
# tests do mid-run, which must find their topics again) a data directory grown beyond
# 4 GB is replaced by an empty one.
reset_large_kafka_data() {
  if [ -d "$KDATA/logs" ] && [ "$(du -sm "$KDATA/logs" | cut -f1)" -gt 4096 ]; then
    log "the broker's data is over 4 GB: starting the broker with an empty log directory"
    stop_broker
    rm -rf "$KDATA/logs"
  fi
}

start_broker() {
  install_kafka
  if ! broker_running; then
    write_broker_config
    if [ ! -f "$KDATA/logs/meta.properties" ]; then
      log "formatting the KRaft log directory $KDATA/logs"
      kafka_java kafka.tools.StorageTool format --standalone -c "$KDATA/server.properties" \
        -t "$(kafka_java kafka.tools.StorageTool random-uuid 2>/dev/null | tail -1)" >"$KDATA/format.log" 2>&1 \
        || { tail -20 "$KDATA/format.log" >&2; exit 1; }
    fi
    log "starting Apache Kafka $KAFKA_VERSION (KRaft) on 127.0.0.1:$KPORT"
    setsid nohup java -Xms256m -Xmx1g -XX:+UseG1GC -XX:MaxGCPauseMillis=20 \
      -Djava.awt.headless=true -Dlog4j2.configurationFile="$KAFKA_LIB/log4j2.yaml" \
      -cp "$KAFKA_LIB/*" kafka.Kafka "$KDATA/server.properties" \
      </dev/null >>"$KDATA/broker.log" 2>&1 &
    wait_port "$KPORT" Kafka 90
  fi
  python_env
  "$VENV/bin/python" - "$KPORT" <<'PY'
import sys, time
from confluent_kafka.admin import AdminClient
a = AdminClient({'bootstrap.servers': '127.0.0.1:' + sys.argv[1]})
for _ in range(90):
    try:
        md = a.list_topics(timeout=2)
        if md.brokers:
            sys.exit(0)
    except Exception:
        pass
    time.sleep(1)
sys.exit("Kafka does not answer metadata requests")
PY
}

stop_broker() { # [signal]
  pkill "-${1:-TERM}" -f "kafka.Kafka $KDATA/server.properties" 2>/dev/null || true
  for _ in $(seq 1 120); do broker_running || return 0; sleep 0.5; done
  log "the broker did not stop within 60 s: killing it"
  pkill -KILL -f "kafka.Kafka $KDATA/server.properties" 2>/dev/null || true
  sleep 1
}

# --- the other servers -------------------------------------------------------------

start_rabbitmq() {
  command -v rabbitmq-server >/dev/null || apt_install rabbitmq-server
  if ! listening 5672; then
    log "starting RabbitMQ"
    as_root rabbitmq-server -detached >/dev/null 2>&1 || true
    wait_port 5672 RabbitMQ 90
  fi
  as_root rabbitmqctl await_startup >/dev/null 2>&1 || true
}

# Mosquitto runs with the stack's own config (the Debian one needs systemd's /run dirs):
# anonymous access on 127.0.0.1:1883, persistence under the stack's data dir.
start_mosquitto() {
  command -v mosquitto >/dev/null || apt_install mosquitto mosquitto-clients
  if ! listening 1883; then
    log "starting Mosquitto"
    mkdir -p "$DATA/mosquitto"
    cat >"$DATA/mosquitto/mosquitto.conf" <<EOF
listener 1883 127.0.0.1
allow_anonymous true
persistence true
persistence_location $DATA/mosquitto/
log_dest file $DATA/mosquitto/mosquitto.log
EOF
    # run as root, Mosquitto switches to its own user, which must own the data dir
    if [ "$(id -u)" = 0 ] && id mosquitto >/dev/null 2>&1; then chown -R mosquitto "$DATA/mosquitto"; fi
    mosquitto -d -c "$DATA/mosquitto/mosquitto.conf"
    wait_port 1883 Mosquitto 30
  fi
}

start_postgres() {
  if ! command -v pg_ctlcluster >/dev/null || [ -z "$(ls /etc/postgresql 2>/dev/null)" ]; then
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
  # the database the tests and the example config use
  if [ -z "$(psql -h 127.0.0.1 -U postgres -d postgres -Atc "select 1 from pg_database where datname = 'test'")" ]; then
    log "creating the database 'test'"
    psql -h 127.0.0.1 -U postgres -d postgres -Atc 'create database test' >/dev/null
  fi
}

start_mongo() {
  if ! listening 27017; then
    log "starting SecantusDB (MongoDB protocol) on 127.0.0.1:27017"
    mkdir -p "$DATA/mongo"
    setsid nohup "$VENV/bin/secantusd-py" --host 127.0.0.1 --port 27017 --storage-path "$DATA/mongo" \
      </dev/null >>"$DATA/mongo.log" 2>&1 &
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
  for p in 9092:kafka 9095:kafka-strict 5672:rabbitmq 1883:mosquitto 5432:postgres 27017:mongodb; do
    if listening "${p%%:*}"; then echo "${p##*:} up"; else echo "${p##*:} down"; fi
  done
}

case "${1:-up}" in
  up)
    python_env
    reset_large_kafka_data
    start_broker
    start_rabbitmq
    start_mosquitto
    start_postgres
    start_mongo
    log "all servers are up"
    ;;
  status) status ;;
  kafka-install) install_kafka ;;
  kafka-lib) install_kafka; echo "$KAFKA_LIB" ;;
  kafka-version) echo "$KAFKA_VERSION" ;;
  start-broker) start_broker ;;
  start-strict-broker) use_node strict; start_broker ;;
  stop-strict-broker) use_node strict; stop_broker TERM ;;
  stop-broker) stop_broker TERM ;;
  kill-broker) stop_broker KILL ;;
  start-mongo) python_env; start_mongo ;;
  stop-mongo) stop_mongo ;;
  *) echo "usage: $0 [up|status|kafka-install|kafka-lib|kafka-version|start-broker|stop-broker|kill-broker|start-strict-broker|stop-strict-broker|start-mongo|stop-mongo]" >&2; exit 2 ;;
esac
