#!/usr/bin/env bash
# A real single-node Apache Kafka broker (KRaft) on loopback, from Maven
# Central jars: no tarball, no Docker. Used by `make demo`, the Go tests
# (download/internal/kafkatest) and by hand:
#
#   broker.sh lib            fill .kafka/lib with the broker's jars (idempotent)
#   broker.sh start DIR      format DIR if new, start the broker, wait until it
#                            serves; prints the address, also in DIR/bootstrap.
#                            Starting an existing DIR again keeps its data and
#                            ports (a broker restart).
#   broker.sh stop DIR       SIGTERM, then SIGKILL after 30 s; idempotent
#   broker.sh kill DIR       SIGKILL at once (crash tests)
#
# With KAFKA_WATCH_PID set, start also kills the broker once that process
# is gone.
#
# DIR/bootstrap_sasl holds a SASL_PLAINTEXT (PLAIN) listener's address;
# users: admin/admin-secret, alice/alice-secret.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
lib="$repo/.kafka/lib"

die() { echo "broker.sh: $*" >&2; exit 1; }

cmd_lib() {
	local stamp="$lib/.pom.sha256" sum
	sum="$(sha256sum "$repo/.kafka/pom.xml" | cut -d' ' -f1)"
	if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$sum" ]; then
		return 0
	fi
	rm -rf "$lib"
	(cd "$repo/.kafka" && {
		# Offline first: quick and quiet when the local repository has it all.
		mvn -B -q -o dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory=lib >/dev/null 2>&1 ||
			mvn -B -q dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory=lib
	}) || die "could not fetch the Kafka jars with Maven"
	echo "$sum" >"$stamp"
}

free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

write_config() {
	local run="$1" port cport sport
	port="$(free_port)"
	cport="$(free_port)"
	sport="$(free_port)"
	mkdir -p "$run/data" "$run/logs" "$run/tmp"
	cat >"$run/server.properties" <<CONF
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:${cport}
listeners=PLAINTEXT://127.0.0.1:${port},CONTROLLER://127.0.0.1:${cport},SASL_PLAINTEXT://127.0.0.1:${sport}
advertised.listeners=PLAINTEXT://127.0.0.1:${port},SASL_PLAINTEXT://127.0.0.1:${sport}
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT,SASL_PLAINTEXT:SASL_PLAINTEXT
sasl.enabled.mechanisms=PLAIN
listener.name.sasl_plaintext.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required username="admin" password="admin-secret" user_admin="admin-secret" user_alice="alice-secret";
log.dirs=${run}/data

offsets.topic.replication.factor=1
offsets.topic.num.partitions=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1

num.partitions=4
auto.create.topics.enable=true
group.initial.rebalance.delay.ms=0
group.min.session.timeout.ms=1000
# chunks of up to 8 MiB plus their batch overhead
message.max.bytes=16777216
replica.fetch.max.bytes=16777216
log.cleaner.dedupe.buffer.size=16777216
num.network.threads=2
num.io.threads=4
num.recovery.threads.per.data.dir=1
CONF
	cat >"$run/log4j2.xml" <<'XML'
<?xml version="1.0" encoding="UTF-8"?>
<Configuration status="WARN">
  <Appenders>
    <File name="Server" fileName="${sys:kafka.logs.dir}/server.log" append="true">
      <PatternLayout pattern="[%d] %p %m (%c)%n"/>
    </File>
    <Console name="Stderr" target="SYSTEM_ERR">
      <PatternLayout pattern="[%d] %p %m (%c)%n"/>
    </Console>
  </Appenders>
  <Loggers>
    <Root level="INFO">
      <AppenderRef ref="Server"/>
      <AppenderRef ref="Stderr" level="ERROR"/>
    </Root>
    <Logger name="kafka.request.logger" level="WARN"/>
    <Logger name="state.change.logger" level="WARN"/>
  </Loggers>
</Configuration>
XML
	echo "127.0.0.1:${port}" >"$run/bootstrap"
	echo "127.0.0.1:${sport}" >"$run/bootstrap_sasl"
	local cluster
	cluster="$(head -c16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=')"
	java -Xmx256m -Dlog4j2.configurationFile="$run/log4j2.xml" -Dkafka.logs.dir="$run/logs" \
		-Djava.io.tmpdir="$run/tmp" -cp "$lib/*" kafka.tools.StorageTool format \
		-t "$cluster" -c "$run/server.properties" >"$run/logs/format.log" 2>&1 ||
		{ cat "$run/logs/format.log" >&2; die "formatting the broker's storage failed"; }
}

running() { [ -f "$1/kafka.pid" ] && kill -0 "$(cat "$1/kafka.pid")" 2>/dev/null; }

cmd_start() {
	local run="${1:?usage: broker.sh start DIR}"
	mkdir -p "$run"
	run="$(cd "$run" && pwd)"
	running "$run" && { cat "$run/bootstrap"; return 0; }
	[ -d "$lib" ] || cmd_lib
	[ -f "$run/server.properties" ] || write_config "$run"
	local port
	port="$(cut -d: -f2 "$run/bootstrap")"
	: >"$run/logs/server.log"
	# exec so that the PID is the JVM's; setsid so that Ctrl+C in a terminal
	# running `make demo` does not skip the stop step.
	setsid java -Xms256m -Xmx768m -server -XX:+UseG1GC -XX:MaxGCPauseMillis=20 \
		-XX:InitiatingHeapOccupancyPercent=35 -XX:+ExplicitGCInvokesConcurrent -XX:+ExitOnOutOfMemoryError \
		-Djava.awt.headless=true -Djava.io.tmpdir="$run/tmp" \
		-Dlog4j2.configurationFile="$run/log4j2.xml" -Dkafka.logs.dir="$run/logs" \
		-cp "$lib/*" kafka.Kafka "$run/server.properties" >"$run/logs/stdout.log" 2>&1 </dev/null &
	echo $! >"$run/kafka.pid"
	if [ -n "${KAFKA_WATCH_PID:-}" ]; then
		# Tests that die (a go test timeout, a panic) cannot stop the JVM:
		# this watchdog does, when the process that asked for it is gone.
		local jvm=$! watched="$KAFKA_WATCH_PID"
		setsid bash -c "while kill -0 $watched 2>/dev/null && kill -0 $jvm 2>/dev/null; do sleep 1; done; kill -KILL $jvm 2>/dev/null" \
			</dev/null >/dev/null 2>&1 &
	fi
	local i
	for i in $(seq 1 360); do
		if grep -q 'Kafka Server started' "$run/logs/server.log" 2>/dev/null &&
			(exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
			cat "$run/bootstrap"
			return 0
		fi
		running "$run" || { tail -30 "$run/logs/server.log" "$run/logs/stdout.log" >&2; die "the broker exited during startup"; }
		sleep 0.25
	done
	tail -30 "$run/logs/server.log" >&2
	die "the broker did not become ready within 90 s"
}

cmd_stop() {
	local run="${1:?usage: broker.sh stop DIR}" sig="${2:-TERM}" pid i
	[ -f "$run/kafka.pid" ] || return 0
	pid="$(cat "$run/kafka.pid")"
	kill -"$sig" "$pid" 2>/dev/null || true
	for i in $(seq 1 120); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.25
	done
	kill -KILL "$pid" 2>/dev/null || true
	rm -f "$run/kafka.pid"
}

case "${1:-}" in
lib) cmd_lib ;;
start) cmd_start "${2:-}" ;;
stop) cmd_stop "${2:-}" ;;
kill) cmd_stop "${2:-}" KILL ;;
*) die "usage: broker.sh lib | start DIR | stop DIR | kill DIR" ;;
esac
