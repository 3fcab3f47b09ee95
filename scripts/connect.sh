#!/usr/bin/env bash
# Runs an Apache Kafka Connect worker of the test stack's Kafka version, from the jars
# scripts/stack.sh fetched (connect-runtime, connect-file, connect-json,
# connect-transforms), in the foreground:
#   scripts/connect.sh distributed <worker.properties>
#   scripts/connect.sh standalone <worker.properties> [<connector.properties|json>...]
# Used by the conformance and migration tests and the Connect comparison benchmark.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
mode="${1:?usage: $0 distributed|standalone <worker.properties> [connector configs...]}"
shift
LIB="$("$HERE/stack.sh" kafka-lib)"
case "$mode" in
  distributed) main=org.apache.kafka.connect.cli.ConnectDistributed ;;
  standalone) main=org.apache.kafka.connect.cli.ConnectStandalone ;;
  *) echo "usage: $0 distributed|standalone <worker.properties> [connector configs...]" >&2; exit 2 ;;
esac
# The JVM settings of Kafka's own connect-*.sh launchers (KAFKA_HEAP_OPTS and
# KAFKA_JVM_PERFORMANCE_OPTS defaults), so figures are Connect's as shipped.
exec java ${KAFKA_HEAP_OPTS:--Xms256M -Xmx2G} -server -XX:+UseG1GC -XX:MaxGCPauseMillis=20 \
  -XX:InitiatingHeapOccupancyPercent=35 -XX:+ExplicitGCInvokesConcurrent -Djava.awt.headless=true \
  -Dlog4j2.configurationFile="$LIB/log4j2.yaml" -cp "$LIB/*" "$main" "$@"
