#!/usr/bin/env bash
# Installs what is missing and starts what is not running, all on 127.0.0.1, then
# waits until each server answers:
#   Apache Kafka 4.3.1 (KRaft, broker+controller)    127.0.0.1:9092 (controller :9093)
#   (and, for the tests that ask for it, a second one with topic auto-creation off:
#   `start-strict-broker`, 127.0.0.1:9095, and a third, secured one:
#   `start-secure-broker`, PLAINTEXT 9097 for checks, SASL_SSL with SCRAM users 9099,
#   SSL with client certificates required (mTLS) 9100)
#   RabbitMQ                                         127.0.0.1:5672 (guest/guest; AMQP 0-9-1
#                                                    and, with rabbitmq_amqp1_0, AMQP 1.0),
#                                                    TLS 127.0.0.1:5671
#   Mosquitto                                        127.0.0.1:1883
#   (and a second one with TLS: 127.0.0.1:8883 requires a client certificate,
#   127.0.0.1:8884 does not)
#   PostgreSQL 15                                    127.0.0.1:5432 (trust auth; TLS with
#                                                    the stack's certificate, and the
#                                                    role sluice_client only by certificate)
#   MongoDB protocol (SecantusDB)                    127.0.0.1:27017 (and TLS on 27018)
#   ActiveMQ Artemis 2.40.0 (AMQP 1.0 only)           127.0.0.1:5673 (user sluice /
#                                                    sluice-secret, login required),
#                                                    TLS 127.0.0.1:5674, and TLS
#                                                    with client certificates and
#                                                    SASL EXTERNAL on 127.0.0.1:5675
#   Apicurio Registry 3.0.9 (Confluent API under       127.0.0.1:8081 (schemas in Kafka)
#   /apis/ccompat/v7)                                (and `start-secure-registry`:
#                                                    https://127.0.0.1:8082, basic auth)
# plus Debian's chromium with playwright-core from npm (the web console's browser test), and
# a Python virtualenv with confluent-kafka, pymongo, paho-mqtt and python-qpid-proton
# (independent MQTT 5 and AMQP 1.0 clients) for independent checks.
#
# TLS: a test CA, a server certificate for 127.0.0.1/localhost and a client certificate
# (CN=sluice_client), in PEM and PKCS12 (password sluice-test-pass), plus a JKS
# truststore and a second CA for negative tests, are made once with openssl and
# keytool in $SLUICE_STACK_DIR/data/tls (`scripts/stack.sh tls-dir` prints it).
#
# Kafka's jars (the broker, and Kafka Connect for side-by-side checks) come from Maven
# Central through scripts/kafka/pom.xml, once, into $SLUICE_STACK_DIR/kafka-<version>.
# `scripts/connect.sh` runs a Kafka Connect worker from the same jars.
#
# Idempotent: run it as often as you like. State lives in $SLUICE_STACK_DIR
# (default ~/.cache/sluice), outside the work tree.
#
# Usage: scripts/stack.sh [up|status|kafka-install|kafka-lib|connect-client-lib|connect-plugins|start-broker|stop-broker|
#                          kill-broker|start-strict-broker|stop-strict-broker|
#                          start-spare-broker|stop-spare-broker|kill-spare-broker|
#                          start-secure-broker|stop-secure-broker|start-tls-servers|
#                          tls-dir|start-mongo|stop-mongo|fresh-mongo-restart|start-mongo-restart|stop-mongo-restart|
#                          artemis-install|start-artemis|stop-artemis|kill-artemis|
#                          registry-install|start-registry|stop-registry|
#                          start-secure-registry|stop-secure-registry|browser-dir]
set -euo pipefail

HERE="$(cd "$(dirname "$0")" && pwd)"
STACK="${SLUICE_STACK_DIR:-$HOME/.cache/sluice}"
KAFKA_VERSION="$(sed -n 's#.*<kafka.version>\(.*\)</kafka.version>.*#\1#p' "$HERE/kafka/pom.xml")"
KAFKA_LIB="$STACK/kafka-$KAFKA_VERSION/lib"
VENV="$STACK/venv"
DATA="$STACK/data"
KDATA="$DATA/kafka"
TLS="$DATA/tls"
TLS_PASS=sluice-test-pass
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
  if ! "$VENV/bin/python" -c 'import confluent_kafka, pymongo, secantus, proton' 2>/dev/null; then
    log "installing confluent-kafka, pymongo, SecantusDB, python-qpid-proton"
    "$VENV/bin/pip" install -q --disable-pip-version-check confluent-kafka pymongo 'SecantusDB==0.7.0b3' \
      'python-qpid-proton==0.40.0'
  fi
  # an independent MQTT 5 client for the tests (tests/python/mqtt5.py)
  if ! "$VENV/bin/python" -c 'import paho.mqtt' 2>/dev/null; then
    log "installing paho-mqtt"
    "$VENV/bin/pip" install -q --disable-pip-version-check 'paho-mqtt>=2,<3'
  fi
}

# --- Browser (web console tests) ----------------------------------------------------

# Debian's chromium, driven by playwright-core from npm (tests/console.rs).
BROWSER_DIR="$STACK/browser"
PLAYWRIGHT_VERSION=1.65.2
browser_env() {
  [ -x /usr/bin/chromium ] || apt_install chromium
  if [ ! -f "$BROWSER_DIR/node_modules/playwright-core/package.json" ]; then
    command -v npm >/dev/null || apt_install npm
    log "installing playwright-core $PLAYWRIGHT_VERSION into $BROWSER_DIR (drives Debian's chromium)"
    mkdir -p "$BROWSER_DIR"
    npm install --silent --no-audit --no-fund --prefix "$BROWSER_DIR" \
      "playwright-core@$PLAYWRIGHT_VERSION" >"$STACK/browser-install.log" 2>&1 \
      || { tail -20 "$STACK/browser-install.log" >&2; exit 1; }
  fi
}

# --- Apache Kafka ------------------------------------------------------------------

# Fetches the dependencies of a pom under scripts/ into a directory, once.
maven_fetch() { # pom dir what log-name
  local pom="$1" dir="$2" what="$3" logf="$STACK/$4-fetch.log"
  [ -f "$dir/.complete" ] && return 0
  command -v java >/dev/null || apt_install openjdk-17-jre-headless
  command -v mvn >/dev/null || apt_install maven
  log "fetching $what from Maven Central into $dir (once)"
  rm -rf "$dir"
  mkdir -p "$dir"
  mvn -q -B -f "$pom" dependency:copy-dependencies -DoutputDirectory="$dir" >"$logf" 2>&1 \
    || { tail -20 "$logf" >&2; exit 1; }
}

install_kafka() {
  if [ ! -f "$KAFKA_LIB/.complete" ]; then
    maven_fetch "$HERE/kafka/pom.xml" "$KAFKA_LIB" "Apache Kafka $KAFKA_VERSION" kafka
    cp "$HERE/kafka/log4j2.yaml" "$KAFKA_LIB/log4j2.yaml"
    touch "$KAFKA_LIB/.complete"
  fi
}

# MongoDB's own Kafka Connect sink (the "-all" jar, its driver inside), as a Connect
# plugin for benches/connect_compare.rs: fetched only when that benchmark asks for it.
MONGO_CONNECTOR_VERSION=2.0.1
CONNECT_PLUGINS="$STACK/connect-plugins"
install_mongo_connector() {
  local dir="$CONNECT_PLUGINS/mongo-kafka-connect-$MONGO_CONNECTOR_VERSION"
  [ -f "$dir/.complete" ] && return 0
  local jar="mongo-kafka-connect-$MONGO_CONNECTOR_VERSION-all.jar"
  local url="https://repo1.maven.org/maven2/org/mongodb/kafka/mongo-kafka-connect/$MONGO_CONNECTOR_VERSION/$jar"
  log "fetching the MongoDB Kafka connector $MONGO_CONNECTOR_VERSION from Maven Central into $dir (once)"
  rm -rf "$dir" && mkdir -p "$dir"
  curl -sSfL -o "$dir/$jar" "$url"
  local want got
  want="$(curl -sSfL "$url.sha1")"
  got="$(sha1sum "$dir/$jar" | cut -d' ' -f1)"
  [ "$want" = "$got" ] || { echo "checksum mismatch for $jar: $got, Maven Central says $want" >&2; exit 1; }
  touch "$dir/.complete"
}

# The Kafka Connect REST client AKHQ uses (scripts/clients/pom.xml), for tests/connect_clients.rs.
CLIENT_LIB="$STACK/connect-clients/lib"
install_connect_clients() {
  maven_fetch "$HERE/clients/pom.xml" "$CLIENT_LIB" "Kafka Connect REST clients" clients
  touch "$CLIENT_LIB/.complete"
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
#
# "spare" (127.0.0.1:9101, `start-spare-broker`) is the main one's twin for the tests
# that stop, kill and restart Kafka (`stop-spare-broker`, `kill-spare-broker`), so
# the broker every other test uses never goes away mid-run.
#
# A third, "secure" (started by `start-secure-broker`), serves the tests of secured
# clusters: SASL_SSL with SCRAM-SHA-512/256 users (created at format time) on 9099,
# SSL requiring a client certificate on 9100, plaintext on 9097 for the tests' own
# checks and between the broker and itself; the controller stays plaintext.
use_node() {
  KLISTENERS=""; KADVERTISED=""; KPROTOMAP=""; KFORMAT_EXTRA=()
  case "$1" in
    main) KDATA="$DATA/kafka"; KPORT=9092; KCTRL=9093; KEXTRA="" ;;
    strict) KDATA="$DATA/kafka-strict"; KPORT=9095; KCTRL=9096; KEXTRA="auto.create.topics.enable=false" ;;
    spare) KDATA="$DATA/kafka-spare"; KPORT=9101; KCTRL=9102; KEXTRA="" ;;
    secure)
      KDATA="$DATA/kafka-secure"; KPORT=9097; KCTRL=9098
      KLISTENERS=",SASL_SSL://127.0.0.1:9099,SSL://127.0.0.1:9100"
      KADVERTISED=",SASL_SSL://127.0.0.1:9099,SSL://127.0.0.1:9100"
      KPROTOMAP=",SASL_SSL:SASL_SSL,SSL:SSL"
      KFORMAT_EXTRA=(--add-scram "SCRAM-SHA-512=[name=sluice,password=sluice-secret]"
                     --add-scram "SCRAM-SHA-256=[name=sluice,password=sluice-secret]")
      KEXTRA="sasl.enabled.mechanisms=SCRAM-SHA-512,SCRAM-SHA-256
listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
listener.name.sasl_ssl.scram-sha-256.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
ssl.keystore.type=PKCS12
ssl.keystore.location=$TLS/server.p12
ssl.keystore.password=$TLS_PASS
ssl.key.password=$TLS_PASS
ssl.truststore.type=PEM
ssl.truststore.location=$TLS/ca.pem
listener.name.ssl.ssl.client.auth=required"
      ;;
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
listeners=PLAINTEXT://127.0.0.1:$KPORT,CONTROLLER://127.0.0.1:$KCTRL$KLISTENERS
advertised.listeners=PLAINTEXT://127.0.0.1:$KPORT$KADVERTISED
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT$KPROTOMAP
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
# One node, one replica: after a restart the node's own log is the only copy, so
# electing it loses nothing. Without this, a partition whose ISR emptied at the
# shutdown (KIP-966's eligible leader replicas) was seen staying leaderless for minutes.
unclean.leader.election.enable=true
$KEXTRA
EOF
}

broker_running() { pgrep -f "kafka.Kafka $KDATA/server.properties" >/dev/null; }

# Test topics are never reused, so at the start of a run (`up`, never on the restarts
# tests do mid-run, which must find their topics again) a data directory grown beyond
# 4 GB or 1,500 partitions is replaced by an empty one: a broker restarted mid-run
# (after a SIGKILL) takes longer to load with every partition it holds.
reset_large_kafka_data() {
  [ -d "$KDATA/logs" ] || return 0
  local mb parts
  mb="$(du -sm "$KDATA/logs" | cut -f1)"
  parts="$(find "$KDATA/logs" -mindepth 1 -maxdepth 1 -type d | wc -l)"
  if [ "$mb" -gt 4096 ] || [ "$parts" -gt 1500 ]; then
    log "the broker's data holds $parts partitions ($mb MB): starting the broker with an empty log directory"
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
        -t "$(kafka_java kafka.tools.StorageTool random-uuid 2>/dev/null | tail -1)" \
        ${KFORMAT_EXTRA[@]+"${KFORMAT_EXTRA[@]}"} >"$KDATA/format.log" 2>&1 \
        || { tail -20 "$KDATA/format.log" >&2; exit 1; }
    fi
    log "starting Apache Kafka $KAFKA_VERSION (KRaft) on 127.0.0.1:$KPORT"
    setsid nohup java -Xms256m -Xmx1g -XX:+UseG1GC -XX:MaxGCPauseMillis=20 \
      -Djava.awt.headless=true -Dlog4j2.configurationFile="$KAFKA_LIB/log4j2.yaml" \
      -cp "$KAFKA_LIB/*" kafka.Kafka "$KDATA/server.properties" \
      </dev/null >>"$KDATA/broker.log" 2>&1 &
    wait_port "$KPORT" Kafka 180
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

# --- TLS material ------------------------------------------------------------------

# Made once: a CA, a server certificate for 127.0.0.1/localhost (every TLS listener of
# the stack uses it), a client certificate (CN=sluice_client), a second CA with its
# own client certificate (for tests that must be refused), PKCS12 forms (password
# $TLS_PASS) and a PKCS12 and a JKS truststore made by keytool as Java users have them.
make_certs() {
  [ -f "$TLS/.complete" ] && return 0
  command -v openssl >/dev/null || apt_install openssl
  log "making the test CA and certificates in $TLS (once)"
  rm -rf "$TLS"; mkdir -p "$TLS"
  (
    cd "$TLS"
    ca() { # name subject
      openssl req -x509 -newkey rsa:2048 -nodes -keyout "$1.key" -out "$1.pem" -days 3650 \
        -subj "/CN=$2" -addext "basicConstraints=critical,CA:TRUE" \
        -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
    }
    leaf() { # name subject ca extensions
      openssl req -newkey rsa:2048 -nodes -keyout "$1.key" -out "$1.csr" -subj "/CN=$2" 2>/dev/null
      printf '%s\n' "$4" >"$1.ext"
      openssl x509 -req -in "$1.csr" -CA "$3.pem" -CAkey "$3.key" -CAcreateserial \
        -out "$1.pem" -days 3650 -extfile "$1.ext" 2>/dev/null
      rm -f "$1.csr" "$1.ext"
    }
    ca ca "Sluice test CA"
    ca other-ca "Sluice other test CA"
    leaf server localhost ca "subjectAltName=DNS:localhost,IP:127.0.0.1
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth,clientAuth"
    leaf client sluice_client ca "keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=clientAuth"
    leaf other-client sluice_client other-ca "keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=clientAuth"
    cat client.pem client.key >client-bundle.pem
    openssl pkcs12 -export -in server.pem -inkey server.key -certfile ca.pem -name server \
      -out server.p12 -passout "pass:$TLS_PASS"
    openssl pkcs12 -export -in client.pem -inkey client.key -certfile ca.pem -name client \
      -out client.p12 -passout "pass:$TLS_PASS"
    command -v keytool >/dev/null || apt_install openjdk-17-jre-headless
    keytool -importcert -noprompt -alias ca -file ca.pem -keystore truststore.p12 \
      -storetype PKCS12 -storepass "$TLS_PASS" >/dev/null 2>&1
    keytool -importcert -noprompt -alias ca -file ca.pem -keystore truststore.jks \
      -storetype JKS -storepass "$TLS_PASS" >/dev/null 2>&1
    chmod 600 ./*.key
  )
  touch "$TLS/.complete"
}

# Copies the server's certificate, key and the CA into `dir`, owned by `user`, for a
# server that runs as that user (the stack dir may be private to root).
server_tls_copy() { # dir user
  as_root mkdir -p "$1"
  as_root cp "$TLS/ca.pem" "$TLS/server.pem" "$TLS/server.key" "$1/"
  if id "$2" >/dev/null 2>&1; then as_root chown -R "$2" "$1"; fi
  as_root chmod 700 "$1"; as_root chmod 600 "$1/server.key"
}

# --- the other servers -------------------------------------------------------------

# RabbitMQ reads /etc/rabbitmq/rabbitmq.conf at start only: the stack writes it before
# the first start (a running RabbitMQ without the TLS listener is restarted once). A
# config the stack did not write is left alone (RabbitMQ then has no TLS listener).
RABBIT_CONF=/etc/rabbitmq/rabbitmq.conf
RABBIT_TLS=/etc/rabbitmq/sluice-tls
write_rabbitmq_config() {
  if [ -f "$RABBIT_CONF" ] && ! grep -q "written by sluice scripts/stack.sh" "$RABBIT_CONF"; then
    log "$RABBIT_CONF was not written by the stack: leaving it (no TLS listener on 5671)"
    return 0
  fi
  make_certs
  server_tls_copy "$RABBIT_TLS" rabbitmq
  local conf="# written by sluice scripts/stack.sh: plain AMQP on 5672 (the default), AMQP over
# TLS on 127.0.0.1:5671 with the stack's certificate; a client certificate, when one
# is presented, must be signed by the stack's CA.
listeners.ssl.1 = 127.0.0.1:5671
ssl_options.cacertfile = $RABBIT_TLS/ca.pem
ssl_options.certfile = $RABBIT_TLS/server.pem
ssl_options.keyfile = $RABBIT_TLS/server.key
ssl_options.verify = verify_peer
ssl_options.fail_if_no_peer_cert = false"
  if [ "$(cat "$RABBIT_CONF" 2>/dev/null)" != "$conf" ]; then
    as_root mkdir -p /etc/rabbitmq
    printf '%s\n' "$conf" | as_root tee "$RABBIT_CONF" >/dev/null
  fi
}

start_rabbitmq() {
  command -v rabbitmq-server >/dev/null || apt_install rabbitmq-server
  write_rabbitmq_config
  local tls=""
  grep -q "^listeners.ssl" "$RABBIT_CONF" 2>/dev/null && tls=1
  if [ -n "$tls" ] && listening 5672 && ! listening 5671; then
    log "restarting RabbitMQ once to open its TLS listener (5671)"
    as_root rabbitmqctl stop >/dev/null 2>&1 || true
    for _ in $(seq 1 120); do listening 5672 || break; sleep 0.5; done
  fi
  if ! listening 5672; then
    log "starting RabbitMQ"
    as_root rabbitmq-server -detached >/dev/null 2>&1 || true
    wait_port 5672 RabbitMQ 90
  fi
  as_root rabbitmqctl await_startup >/dev/null 2>&1 || true
  if [ -n "$tls" ]; then wait_port 5671 "RabbitMQ (TLS)" 30; fi
  # AMQP 1.0 on the same port, for the amqp1 connectors' RabbitMQ subset (tests/amqp1_rabbitmq.rs)
  if ! as_root rabbitmq-plugins is_enabled rabbitmq_amqp1_0 >/dev/null 2>&1; then
    log "enabling RabbitMQ's AMQP 1.0 plugin (rabbitmq_amqp1_0)"
    as_root rabbitmq-plugins enable rabbitmq_amqp1_0 >/dev/null
  fi
}

# Mosquitto runs with the stack's own config (the Debian one needs systemd's /run dirs):
# anonymous access on 127.0.0.1:1883, persistence under the stack's data dir.
start_mosquitto() {
  command -v mosquitto >/dev/null || apt_install mosquitto mosquitto-clients
  # No cap on the messages queued per client: with its default (1000) Mosquitto 2.0.11
  # dropped QoS 1 messages for Sluice's session during `cargo bench --bench queues`
  # (its $SYS/broker/load/publish/dropped counter rose; Sluice's poll counter showed
  # they never arrived), and the benchmark measures Sluice, not that policy. The tests
  # stay below the default either way (docs/mqtt-source.md tells users to raise it).
  if ! listening 1883; then
    log "starting Mosquitto"
    mkdir -p "$DATA/mosquitto"
    cat >"$DATA/mosquitto/mosquitto.conf" <<EOF
listener 1883 127.0.0.1
allow_anonymous true
persistence true
persistence_location $DATA/mosquitto/
log_dest file $DATA/mosquitto/mosquitto.log
max_queued_messages 0
EOF
    # run as root, Mosquitto switches to its own user, which must own the data dir
    if [ "$(id -u)" = 0 ] && id mosquitto >/dev/null 2>&1; then chown -R mosquitto "$DATA/mosquitto"; fi
    mosquitto -d -c "$DATA/mosquitto/mosquitto.conf"
    wait_port 1883 Mosquitto 30
  fi
}

# A second Mosquitto, TLS only, with the stack's certificate: 8883 requires a client
# certificate signed by the stack's CA, 8884 does not ask for one. It keeps the user
# that starts it (`user`): Mosquitto loads certificates after dropping privileges, and
# the stack dir may be private.
start_mosquitto_tls() {
  command -v mosquitto >/dev/null || apt_install mosquitto mosquitto-clients
  make_certs
  if ! listening 8883; then
    log "starting Mosquitto with TLS (8883 with client certificates, 8884 without)"
    local dir="$DATA/mosquitto-tls"
    mkdir -p "$dir"
    cat >"$dir/mosquitto.conf" <<CONF
user $(id -un)
per_listener_settings true
listener 8883 127.0.0.1
allow_anonymous true
cafile $TLS/ca.pem
certfile $TLS/server.pem
keyfile $TLS/server.key
require_certificate true
listener 8884 127.0.0.1
allow_anonymous true
cafile $TLS/ca.pem
certfile $TLS/server.pem
keyfile $TLS/server.key
persistence false
log_dest file $dir/mosquitto.log
CONF
    mosquitto -d -c "$dir/mosquitto.conf" 2>>"$dir/mosquitto.log"
    wait_port 8883 "Mosquitto (TLS)" 30
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

# PostgreSQL serves TLS with the stack's certificate (switched with a reload, no
# restart) and checks client certificates against the stack's CA; the role
# sluice_client (with pg_read_all_stats) logs in over TLS with its certificate only
# (hba method `cert`).
postgres_tls() {
  make_certs
  local dir=/var/lib/postgresql/sluice-tls hba
  q() { psql -h 127.0.0.1 -U postgres -d postgres -Atc "$1"; }
  if [ "$(q 'show ssl_ca_file')" != "$dir/ca.pem" ] || [ "$(q 'show ssl')" != on ]; then
    log "turning on TLS in PostgreSQL with the stack's certificate"
    server_tls_copy "$dir" postgres
    q "alter system set ssl = on" >/dev/null
    q "alter system set ssl_cert_file = '$dir/server.pem'" >/dev/null
    q "alter system set ssl_key_file = '$dir/server.key'" >/dev/null
    q "alter system set ssl_ca_file = '$dir/ca.pem'" >/dev/null
    q "select pg_reload_conf()" >/dev/null
    sleep 1
  fi
  if [ -z "$(q "select 1 from pg_roles where rolname = 'sluice_client'")" ]; then
    q "create role sluice_client login" >/dev/null
  fi
  # the JDBC source's safe mode reads other sessions' transactions
  q "grant pg_read_all_stats to sluice_client" >/dev/null 2>&1
  hba=$(q 'show hba_file')
  if ! as_root grep -q "sluice_client" "$hba"; then
    log "letting the role sluice_client in by client certificate only ($hba)"
    as_root sed -i '1i host all sluice_client 127.0.0.1/32 reject' "$hba"
    as_root sed -i '1i hostssl all sluice_client 127.0.0.1/32 cert' "$hba"
    q "select pg_reload_conf()" >/dev/null
    sleep 1
  fi
}

# A SecantusDB instance: port, data dir name, label. Waits until it answers ping (a
# large data dir takes a while to recover, so allow two minutes).
start_mongo_on() {
  local port="$1" dir="$DATA/$2" label="$3"
  if ! listening "$port"; then
    log "starting $label on 127.0.0.1:$port"
    mkdir -p "$dir"
    setsid nohup "$VENV/bin/secantusd-py" --host 127.0.0.1 --port "$port" --storage-path "$dir" \
      </dev/null >>"$dir.log" 2>&1 &
    wait_port "$port" "$label" 120 || { tail -20 "$dir.log" >&2; return 1; }
  fi
  "$VENV/bin/python" - "$port" "$label" <<'PY'
import sys, time, pymongo
for _ in range(60):
    try:
        pymongo.MongoClient('mongodb://127.0.0.1:' + sys.argv[1], serverSelectionTimeoutMS=2000).admin.command('ping'); sys.exit(0)
    except Exception:
        time.sleep(1)
sys.exit(sys.argv[2] + " does not answer ping")
PY
}

# Stops the instance on a port and waits until its process is gone (a new one started
# while the old one still holds the storage lock would fail).
stop_mongo_on() {
  local pat="secantusd-py --host 127.0.0.1 --port $1 "
  pkill -f "$pat" 2>/dev/null || true
  for _ in $(seq 1 60); do pgrep -f "$pat" >/dev/null || return 0; sleep 0.5; done
  pkill -9 -f "$pat" 2>/dev/null || true
  for _ in $(seq 1 20); do pgrep -f "$pat" >/dev/null || return 0; sleep 0.5; done
  log "SecantusDB on port $1 does not stop"; return 1
}

start_mongo() {
  # Its data is the tests' and nothing outlives a test run, but recovering a data dir of
  # earlier runs takes minutes (1 GB: over 3 minutes on a 2-core box), so a server that
  # is not running starts empty.
  if ! listening 27017; then rm -rf "$DATA/mongo"; fi
  start_mongo_on 27017 mongo "SecantusDB (MongoDB protocol)"
}

# The instance that tests stop and start (port 27019): its own data, so a restart
# recovers only what that test wrote and the other tests' server stays up.
# `fresh-mongo-restart` starts it empty.
MONGO_RESTART_PORT=27019

# A second SecantusDB, TLS only, with the stack's certificate (a client certificate,
# when presented, must be signed by the stack's CA).
start_mongo_tls() {
  make_certs
  if ! listening 27018; then
    log "starting SecantusDB with TLS on 127.0.0.1:27018"
    rm -rf "$DATA/mongo-tls"; mkdir -p "$DATA/mongo-tls"
    setsid nohup "$VENV/bin/secantusd-py" --host 127.0.0.1 --port 27018 --storage-path "$DATA/mongo-tls" \
      --tls-cert-file "$TLS/server.pem" --tls-key-file "$TLS/server.key" --tls-ca-file "$TLS/ca.pem" \
      </dev/null >>"$DATA/mongo-tls.log" 2>&1 &
    wait_port 27018 "SecantusDB (TLS)" 60 || { tail -20 "$DATA/mongo-tls.log" >&2; return 1; }
  fi
  "$VENV/bin/python" - "$TLS/ca.pem" <<'PY'
import sys, time, pymongo
for _ in range(60):
    try:
        pymongo.MongoClient('mongodb://127.0.0.1:27018', tls=True, tlsCAFile=sys.argv[1],
                            serverSelectionTimeoutMS=2000).admin.command('ping'); sys.exit(0)
    except Exception:
        time.sleep(1)
sys.exit("SecantusDB (TLS) does not answer ping")
PY
}

# The TLS listeners of the servers other than Kafka (tests call this; `up` does too).
start_tls_servers() {
  make_certs
  start_rabbitmq
  start_mosquitto_tls
  start_postgres
  postgres_tls
  start_mongo_tls
}

# --- ActiveMQ Artemis (AMQP 1.0) ----------------------------------------------------

# The `bin` distribution from Maven Central, once, into $STACK/apache-artemis-<version>;
# one broker instance made once under $DATA/artemis (`artemis create`): login required
# (user sluice / sluice-secret, role amq), no web console, NIO journal, a small heap.
# Its acceptors are replaced by two AMQP-only ones: plain on 127.0.0.1:5673 (5672 is
# RabbitMQ's) and TLS with the stack's certificate on 127.0.0.1:5674; nothing listens
# on 61616. Addresses whose name starts with `poison.` get 3 delivery attempts before
# the broker moves a message to its DLQ address (the other addresses keep 10); those
# named `full.*` refuse messages once they hold 10 KB.
ARTEMIS_VERSION=2.40.0
ARTEMIS_HOME="$STACK/apache-artemis-$ARTEMIS_VERSION"
ARTEMIS_INST="$DATA/artemis"
ARTEMIS_PORT=5673
ARTEMIS_TLS_PORT=5674
ARTEMIS_CERT_PORT=5675

install_artemis() {
  [ -f "$ARTEMIS_HOME/.complete" ] && return 0
  command -v java >/dev/null || apt_install openjdk-17-jre-headless
  local url="https://repo1.maven.org/maven2/org/apache/activemq/apache-artemis/$ARTEMIS_VERSION/apache-artemis-$ARTEMIS_VERSION-bin.tar.gz"
  log "fetching ActiveMQ Artemis $ARTEMIS_VERSION from Maven Central into $ARTEMIS_HOME (once)"
  rm -rf "$ARTEMIS_HOME" "$STACK/artemis.tar.gz"
  curl -sSfL -o "$STACK/artemis.tar.gz" "$url"
  tar xzf "$STACK/artemis.tar.gz" -C "$STACK"
  rm -f "$STACK/artemis.tar.gz"
  touch "$ARTEMIS_HOME/.complete"
}

create_artemis_instance() {
  [ -f "$ARTEMIS_INST/.complete" ] && return 0
  install_artemis
  make_certs
  log "creating the Artemis broker instance $ARTEMIS_INST (once)"
  rm -rf "$ARTEMIS_INST"
  "$ARTEMIS_HOME/bin/artemis" create "$ARTEMIS_INST" --user sluice --password sluice-secret \
    --require-login --no-web --host 127.0.0.1 --nio --no-autotune --java-memory 512M \
    --no-hornetq-acceptor --no-mqtt-acceptor --no-stomp-acceptor --silent \
    >"$STACK/artemis-create.log" 2>&1 || { tail -20 "$STACK/artemis-create.log" >&2; exit 1; }
  sed -i 's/-Xms512M/-Xms64M/' "$ARTEMIS_INST/etc/artemis.profile"
  python3 - "$ARTEMIS_INST/etc/broker.xml" "$TLS" "$TLS_PASS" "$ARTEMIS_PORT" "$ARTEMIS_TLS_PORT" <<'PY'
import re, sys
path, tls, password, port, tls_port = sys.argv[1:]
xml = open(path).read()
opts = "protocols=AMQP;useEpoll=true;amqpCredits=1000;amqpLowCredits=300;amqpMinLargeMessageSize=102400;amqpDuplicateDetection=true"
acceptors = f"""<acceptors>
         <!-- written by sluice scripts/stack.sh: AMQP 1.0 only, plain and TLS -->
         <acceptor name="amqp">tcp://127.0.0.1:{port}?{opts}</acceptor>
         <acceptor name="amqps">tcp://127.0.0.1:{tls_port}?{opts};sslEnabled=true;keyStoreType=PKCS12;keyStorePath={tls}/server.p12;keyStorePassword={password}</acceptor>
      </acceptors>"""
xml = re.sub(r"<acceptors>.*?</acceptors>", acceptors, xml, count=1, flags=re.S)
poison = """<address-settings>
         <!-- sluice tests: poison messages reach the DLQ address after 3 attempts -->
         <address-setting match="poison.#">
            <dead-letter-address>DLQ</dead-letter-address>
            <max-delivery-attempts>3</max-delivery-attempts>
            <redelivery-delay>0</redelivery-delay>
            <auto-create-queues>true</auto-create-queues>
            <auto-create-addresses>true</auto-create-addresses>
         </address-setting>"""
xml = xml.replace("<address-settings>", poison, 1)
open(path, "w").write(xml)
PY
  touch "$ARTEMIS_INST/.complete"
}

artemis_running() { pgrep -f "artemis.instance=$ARTEMIS_INST " >/dev/null; }

# SASL EXTERNAL: an acceptor on $ARTEMIS_CERT_PORT that requires a client certificate
# signed by the stack's CA and offers only EXTERNAL. The certificate login module maps
# the subject CN=sluice_client to the user `sluice-cert` (role amq, as the user
# sluice); it is `sufficient` before the password module, so password logins on the
# other acceptors (which ask for no certificate) are unchanged. Added to an instance
# made before it existed too; Artemis reads both files at start (returns 0 when it
# changed something).
artemis_cert_login() {
  local etc="$ARTEMIS_INST/etc" changed=1
  if ! grep -q 'name="amqps-cert"' "$etc/broker.xml"; then
    python3 - "$etc/broker.xml" "$TLS" "$TLS_PASS" "$ARTEMIS_CERT_PORT" <<'PY'
import sys
path, tls, password, port = sys.argv[1:]
xml = open(path).read()
opts = "protocols=AMQP;useEpoll=true;amqpCredits=1000;amqpLowCredits=300;saslMechanisms=EXTERNAL"
acceptor = (f'<acceptor name="amqps-cert">tcp://127.0.0.1:{port}?{opts};sslEnabled=true;'
            f'keyStoreType=PKCS12;keyStorePath={tls}/server.p12;keyStorePassword={password};'
            f'needClientAuth=true;trustStoreType=PKCS12;trustStorePath={tls}/truststore.p12;'
            f'trustStorePassword={password}</acceptor>\n      </acceptors>')
xml = xml.replace("</acceptors>", acceptor, 1)
open(path, "w").write(xml)
PY
    changed=0
  fi
  if ! grep -q TextFileCertificateLoginModule "$etc/login.config"; then
    python3 - "$etc/login.config" <<'PY'
import sys
path = sys.argv[1]
text = open(path).read()
cert = """activemq {
   org.apache.activemq.artemis.spi.core.security.jaas.TextFileCertificateLoginModule sufficient
       debug=false
       reload=true
       org.apache.activemq.jaas.textfiledn.user="cert-users.properties"
       org.apache.activemq.jaas.textfiledn.role="cert-roles.properties";
"""
text = text.replace("activemq {\n", cert, 1)
open(path, "w").write(text)
PY
    changed=0
  fi
  printf 'sluice-cert=CN=sluice_client\n' >"$etc/cert-users.properties"
  printf 'amq=sluice-cert\n' >"$etc/cert-roles.properties"
  return $changed
}

start_artemis() {
  create_artemis_instance
  # A test broker must not block producers when the disk passes 90 % (Artemis's
  # max-disk-usage default): a build tree can fill a CI disk that far.
  sed -i 's#<max-disk-usage>[0-9]*</max-disk-usage>#<max-disk-usage>-1</max-disk-usage>#' \
    "$ARTEMIS_INST/etc/broker.xml"
  # A 1 GB heap: the AMQP 1.0 benchmark queues 100,000s of messages (512 MB ran out of
  # memory, and then again on every start while loading that journal).
  sed -i 's/-Xmx512M/-Xmx1G/' "$ARTEMIS_INST/etc/artemis.profile"
  # Addresses named `full.*` hold at most 10 KB and then refuse messages (settled
  # `rejected`), for the sink's rejected-outcome test. Artemis reloads address settings
  # from broker.xml while it runs.
  if ! grep -q 'match="full.#"' "$ARTEMIS_INST/etc/broker.xml"; then
    sed -i 's#<address-settings>#<address-settings>\n         <!-- sluice tests: full.* addresses refuse messages past 10 KB -->\n         <address-setting match="full.\#"><max-size-bytes>10240</max-size-bytes><address-full-policy>FAIL</address-full-policy><auto-create-queues>true</auto-create-queues><auto-create-addresses>true</auto-create-addresses></address-setting>#' \
      "$ARTEMIS_INST/etc/broker.xml"
  fi
  if artemis_cert_login && artemis_running; then
    log "restarting ActiveMQ Artemis to add the SASL EXTERNAL acceptor"
    stop_artemis TERM
  fi
  if ! artemis_running; then
    log "starting ActiveMQ Artemis $ARTEMIS_VERSION (AMQP 127.0.0.1:$ARTEMIS_PORT, TLS :$ARTEMIS_TLS_PORT, EXTERNAL :$ARTEMIS_CERT_PORT)"
    mkdir -p "$ARTEMIS_INST/log"
    setsid nohup "$ARTEMIS_INST/bin/artemis" run </dev/null >>"$ARTEMIS_INST/log/console.log" 2>&1 &
  fi
  wait_port "$ARTEMIS_PORT" "ActiveMQ Artemis" 120
  wait_port "$ARTEMIS_TLS_PORT" "ActiveMQ Artemis (TLS)" 30
  wait_port "$ARTEMIS_CERT_PORT" "ActiveMQ Artemis (TLS, SASL EXTERNAL)" 30
  python_env
  # listening is not enough: wait until a SASL PLAIN login and a link attach succeed
  "$VENV/bin/python" - "$ARTEMIS_PORT" <<'PY'
import sys, time
from proton.utils import BlockingConnection
for _ in range(60):
    try:
        c = BlockingConnection("amqp://127.0.0.1:" + sys.argv[1], user="sluice", password="sluice-secret",
                               allowed_mechs="PLAIN", timeout=5)
        c.create_sender("sluice.stack.ping").close()
        c.close(); sys.exit(0)
    except Exception:
        time.sleep(1)
sys.exit("ActiveMQ Artemis does not accept AMQP connections")
PY
}

stop_artemis() { # [signal]
  pkill "-${1:-TERM}" -f "artemis.instance=$ARTEMIS_INST " 2>/dev/null || true
  for _ in $(seq 1 120); do artemis_running || return 0; sleep 0.5; done
  log "Artemis did not stop within 60 s: killing it"
  pkill -KILL -f "artemis.instance=$ARTEMIS_INST " 2>/dev/null || true
  sleep 1
}

# --- Schema Registry (Apicurio Registry, Confluent-compatible API) -------------------
#
# Karapace is not published on PyPI, so the Schema Registry the converter tests use is
# Apicurio Registry 3.0.9 (the `-all.tar.gz` distribution of `apicurio-registry-app`
# from Maven Central; 3.0.x is the newest line that runs on Java 17), serving
# Confluent's REST API under /apis/ccompat/v7:
#   "main"   127.0.0.1:8081, schemas kept in Kafka (kafkasql storage, topic
#            sluice-registry-journal on 127.0.0.1:9092), no auth; `up` starts it.
#   "secure" https://127.0.0.1:8082 only (TLS with the stack's server certificate),
#            HTTP basic auth required for every path (user sluice / registry-secret),
#            schemas in memory; started by the tests that need it
#            (`start-secure-registry`).
APICURIO_VERSION=3.0.9
APICURIO_HOME="$STACK/apicurio-registry-$APICURIO_VERSION"
APICURIO_JAR="$APICURIO_HOME/apicurio-registry-app-$APICURIO_VERSION-runner.jar"
REGISTRY_PORT=8081
REGISTRY_TLS_PORT=8082
REGISTRY_USER=sluice
REGISTRY_PASS=registry-secret

install_apicurio() {
  [ -f "$APICURIO_HOME/.complete" ] && return 0
  command -v java >/dev/null || apt_install openjdk-17-jre-headless
  local url="https://repo1.maven.org/maven2/io/apicurio/apicurio-registry-app/$APICURIO_VERSION/apicurio-registry-app-$APICURIO_VERSION-all.tar.gz"
  log "fetching Apicurio Registry $APICURIO_VERSION from Maven Central into $APICURIO_HOME (once)"
  rm -rf "$APICURIO_HOME" "$STACK/apicurio.tar.gz"
  mkdir -p "$APICURIO_HOME"
  curl -sSfL -o "$STACK/apicurio.tar.gz" "$url"
  tar xzf "$STACK/apicurio.tar.gz" -C "$APICURIO_HOME"
  rm -f "$STACK/apicurio.tar.gz"
  touch "$APICURIO_HOME/.complete"
}

# Independent Schema Registry clients for the checks: confluent-kafka's serializers
# (fastavro, jsonschema, protobuf, requests, ...).
registry_python() {
  python_env
  if ! "$VENV/bin/python" -c 'import fastavro, jsonschema, google.protobuf, confluent_kafka.schema_registry.avro' 2>/dev/null; then
    local v
    v="$("$VENV/bin/python" -c 'import confluent_kafka; print(confluent_kafka.__version__)')"
    log "installing confluent-kafka[avro,schemaregistry,json,protobuf]==$v"
    "$VENV/bin/pip" install -q --disable-pip-version-check "confluent-kafka[avro,schemaregistry,json,protobuf]==$v"
  fi
}

registry_running() { pgrep -f "sluice.registry=$1 " >/dev/null; }

wait_registry() { # url name [curl args...]
  local url="$1" name="$2"; shift 2
  for _ in $(seq 1 120); do
    [ "$(curl -s -o /dev/null -w '%{http_code}' "$@" "$url/subjects" 2>/dev/null)" = 200 ] && return 0
    sleep 1
  done
  log "$name does not answer at $url"; return 1
}

start_registry() {
  install_apicurio
  registry_python
  mkdir -p "$DATA/registry"
  if ! registry_running main; then
    log "starting Apicurio Registry $APICURIO_VERSION (127.0.0.1:$REGISTRY_PORT, schemas in Kafka topic sluice-registry-journal)"
    (cd "$DATA/registry" && setsid nohup java -Xms64m -Xmx512m -Dsluice.registry=main \
      -Dquarkus.http.host=127.0.0.1 -Dquarkus.http.port=$REGISTRY_PORT \
      -Dapicurio.storage.kind=kafkasql -Dapicurio.kafkasql.bootstrap.servers=127.0.0.1:9092 \
      -Dapicurio.kafkasql.topic=sluice-registry-journal \
      -Dapicurio.storage.snapshot.location="$DATA/registry" -Dapicurio.import.work-dir="$DATA/registry" \
      -jar "$APICURIO_JAR" </dev/null >>"$DATA/registry/main.log" 2>&1 &)
  fi
  wait_registry "http://127.0.0.1:$REGISTRY_PORT/apis/ccompat/v7" "Apicurio Registry"
}

start_secure_registry() {
  install_apicurio
  make_certs
  mkdir -p "$DATA/registry"
  if ! registry_running secure; then
    log "starting Apicurio Registry $APICURIO_VERSION (https://127.0.0.1:$REGISTRY_TLS_PORT, basic auth)"
    (cd "$DATA/registry" && setsid nohup java -Xms64m -Xmx384m -Dsluice.registry=secure \
      -Dquarkus.http.host=127.0.0.1 -Dquarkus.http.port=0 -Dquarkus.http.ssl-port=$REGISTRY_TLS_PORT \
      -Dquarkus.http.insecure-requests=disabled \
      -Dquarkus.http.ssl.certificate.files="$TLS/server.pem" \
      -Dquarkus.http.ssl.certificate.key-files="$TLS/server.key" \
      -Dquarkus.http.auth.basic=true -Dquarkus.security.users.embedded.enabled=true \
      -Dquarkus.security.users.embedded.plain-text=true \
      -Dquarkus.security.users.embedded.users.$REGISTRY_USER=$REGISTRY_PASS \
      -Dquarkus.http.auth.permission.all.paths='/*' \
      -Dquarkus.http.auth.permission.all.policy=authenticated \
      -Dapicurio.storage.kind=sql -Dapicurio.storage.sql.kind=h2 \
      -Dapicurio.storage.snapshot.location="$DATA/registry" -Dapicurio.import.work-dir="$DATA/registry" \
      -jar "$APICURIO_JAR" </dev/null >>"$DATA/registry/secure.log" 2>&1 &)
  fi
  wait_registry "https://127.0.0.1:$REGISTRY_TLS_PORT/apis/ccompat/v7" "Apicurio Registry (TLS)" \
    --cacert "$TLS/ca.pem" -u "$REGISTRY_USER:$REGISTRY_PASS"
}

stop_registry() { # main|secure
  pkill -TERM -f "sluice.registry=$1 " 2>/dev/null || true
  for _ in $(seq 1 60); do registry_running "$1" || return 0; sleep 0.5; done
  pkill -KILL -f "sluice.registry=$1 " 2>/dev/null || true
}

status() {
  for p in 9092:kafka 9095:kafka-strict 9101:kafka-spare 9097:kafka-secure 5672:rabbitmq 5671:rabbitmq-tls \
           1883:mosquitto 8883:mosquitto-tls 5432:postgres 27017:mongodb 27018:mongodb-tls 5673:artemis 5674:artemis-tls 5675:artemis-external \
           8081:registry 8082:registry-tls; do
    if listening "${p%%:*}"; then echo "${p##*:} up"; else echo "${p##*:} down"; fi
  done
}

case "${1:-up}" in
  up)
    # strace injects I/O errors for the file sink's fault tests
    command -v strace >/dev/null || apt_install strace
    # a terminal for `sluice top`'s keyboard test
    command -v tmux >/dev/null || apt_install tmux
    python_env
    make_certs
    reset_large_kafka_data
    start_broker
    install_connect_clients
    start_rabbitmq
    start_mosquitto
    start_mosquitto_tls
    start_postgres
    postgres_tls
    start_mongo
    start_mongo_tls
    start_artemis
    start_registry
    browser_env
    log "all servers are up"
    ;;
  status) status ;;
  kafka-install) install_kafka ;;
  kafka-lib) install_kafka; echo "$KAFKA_LIB" ;;
  kafka-version) echo "$KAFKA_VERSION" ;;
  connect-client-lib) install_connect_clients; echo "$CLIENT_LIB" ;;
  connect-plugins) install_mongo_connector; echo "$CONNECT_PLUGINS" ;;
  start-broker) start_broker ;;
  start-strict-broker) use_node strict; start_broker ;;
  stop-strict-broker) use_node strict; stop_broker TERM ;;
  start-spare-broker) use_node spare; start_broker ;;
  stop-spare-broker) use_node spare; stop_broker TERM ;;
  kill-spare-broker) use_node spare; stop_broker KILL ;;
  start-secure-broker) make_certs; use_node secure; start_broker ;;
  stop-secure-broker) use_node secure; stop_broker TERM ;;
  start-tls-servers) python_env; start_tls_servers ;;
  tls-dir) make_certs; echo "$TLS" ;;
  browser-dir) browser_env; echo "$BROWSER_DIR" ;;
  stop-broker) stop_broker TERM ;;
  kill-broker) stop_broker KILL ;;
  start-mongo) python_env; start_mongo ;;
  stop-mongo) stop_mongo_on 27017 ;;
  fresh-mongo-restart) python_env; stop_mongo_on "$MONGO_RESTART_PORT"; rm -rf "$DATA/mongo-restart"
                       start_mongo_on "$MONGO_RESTART_PORT" mongo-restart "SecantusDB (restart tests)" ;;
  start-mongo-restart) python_env; start_mongo_on "$MONGO_RESTART_PORT" mongo-restart "SecantusDB (restart tests)" ;;
  stop-mongo-restart) stop_mongo_on "$MONGO_RESTART_PORT" ;;
  artemis-install) install_artemis ;;
  start-artemis) start_artemis ;;
  stop-artemis) stop_artemis TERM ;;
  kill-artemis) stop_artemis KILL ;;
  registry-install) install_apicurio ;;
  start-registry) start_registry ;;
  stop-registry) stop_registry main ;;
  start-secure-registry) start_secure_registry ;;
  stop-secure-registry) stop_registry secure ;;
  *) echo "usage: $0 [up|status|kafka-install|kafka-lib|kafka-version|connect-client-lib|connect-plugins|start-broker|stop-broker|kill-broker|start-strict-broker|stop-strict-broker|start-spare-broker|stop-spare-broker|kill-spare-broker|start-secure-broker|stop-secure-broker|start-tls-servers|tls-dir|start-mongo|stop-mongo|fresh-mongo-restart|start-mongo-restart|stop-mongo-restart|artemis-install|start-artemis|stop-artemis|kill-artemis|registry-install|start-registry|stop-registry|start-secure-registry|stop-secure-registry|browser-dir]" >&2; exit 2 ;;
esac
