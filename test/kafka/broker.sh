#!/usr/bin/env bash
# A real single-node Apache Kafka broker (KRaft, combined broker+controller)
# on loopback, run from Maven Central jars: no tarball, no Docker. It is the
# one place that knows the broker's configuration; `make demo`, the Go
# tests (test/kafkatest) and people at a
# terminal all go through it.
#
#   broker.sh lib                  fill .kafka/lib with the broker's jars;
#                                  a no-op when they match .kafka/pom.xml
#   broker.sh start DIR            a new DIR (or one without server.properties)
#                                  is formatted as a fresh node on free
#                                  loopback ports; an existing one is started
#                                  again with its data and ports (a restart,
#                                  so clients reconnect). Waits until the
#                                  broker serves, then prints its address,
#                                  which is also in DIR/bootstrap.
#   broker.sh stop DIR             SIGTERM, SIGKILL after 30 s; idempotent
#   broker.sh kill DIR             SIGKILL at once (crash tests); idempotent
#   broker.sh create-topic DIR NAME PARTITIONS
#
# DIR/bootstrap_sasl is a SASL_PLAINTEXT listener (mechanism PLAIN) with the
# users admin/admin-secret and alice/alice-secret; DIR/bootstrap_ssl is a
# SASL_SSL listener with the same users, whose certificate (for 127.0.0.1
# and localhost) is signed by a throwaway CA made for this DIR, DIR/ca.pem.
# DIR/logs/server.log is the broker's log, DIR/kafka.pid its PID.
#
# With KAFKA_WATCH_PID set, start also leaves a watchdog that SIGKILLs the
# broker once that process is gone: a test binary killed by a timeout or a
# signal never gets to run its cleanup, and the broker runs in its own
# session, so nothing else would stop it.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
kdir="$repo/.kafka"
lib="$kdir/lib"
stamp="$lib/.complete"

die() {
	echo "broker.sh: $*" >&2
	exit 1
}

# ---------------------------------------------------------------- lib

# The stamp holds the pom's hash and the jar list, written only after Maven
# succeeded, so an interrupted download, an edited pom or a deleted jar all
# count as stale.
lib_ok() {
	[ -f "$stamp" ] || return 1
	local want jar
	want="$(sha256sum "$kdir/pom.xml" | cut -d' ' -f1)"
	[ "$(head -1 "$stamp")" = "$want" ] || return 1
	while read -r jar; do
		[ -f "$lib/$jar" ] || return 1
	done < <(tail -n +2 "$stamp")
}

cmd_lib() {
	lib_ok && return 0
	command -v mvn >/dev/null || die "mvn not found (apt-get install -y maven openjdk-17-jre-headless)"
	# `go test ./...` starts one broker per test package at the same time;
	# only one of them may rebuild lib/ (the pom itself is the lock file, so
	# nothing extra needs ignoring).
	exec 9<"$kdir/pom.xml"
	flock 9
	lib_ok && { exec 9<&-; return 0; }
	rm -rf "$lib"
	local args=(-B -q -f "$kdir/pom.xml" dependency:copy-dependencies -DincludeScope=runtime "-DoutputDirectory=$lib")
	# Offline first: with a filled local repository this takes seconds and
	# needs no network; Maven says nothing useful when it fails, so its
	# output is dropped and the online run speaks instead.
	if ! mvn -o "${args[@]}" >/dev/null 2>&1; then
		rm -rf "$lib"
		echo "broker.sh: fetching the Kafka jars with Maven into $lib" >&2
		local out
		# Even with -B -q, Maven 3.8 prints bare ANSI resets.
		if ! out="$(mvn "${args[@]}" 2>&1)"; then
			printf '%s\n' "${out//$'\e'\[0m/}" >&2
			die "Maven could not fetch the Kafka jars"
		fi
	fi
	{
		sha256sum "$kdir/pom.xml" | cut -d' ' -f1
		(cd "$lib" && ls -1 -- *.jar)
	} >"$stamp.new"
	mv "$stamp.new" "$stamp"
	exec 9<&-
}

# ---------------------------------------------------------------- ports

# Ports below the kernel's ephemeral range (32768+ by default): a client's
# outgoing connection can never be holding one, so a restart finds the
# broker's ports still free. Two brokers picking the same port at the same
# moment is handled by start retrying on a bind failure.
listening_ports() {
	local f local_addr st
	for f in /proc/net/tcp /proc/net/tcp6; do
		[ -r "$f" ] || continue
		while read -r _ local_addr _ st _; do
			[ "$st" = 0A ] && echo $((16#${local_addr##*:}))
		done < <(tail -n +2 "$f")
	done
}

pick_ports() {
	local n="$1" busy picked=" " p
	busy=" $(listening_ports | tr '\n' ' ') "
	while [ "$(wc -w <<<"$picked")" -lt "$n" ]; do
		p=$((20000 + RANDOM % 12000))
		case "$busy$picked" in *" $p "*) continue ;; esac
		picked="$picked$p "
	done
	echo "${picked# }"
}

# ---------------------------------------------------------------- format

write_config() {
	local run="$1" port cport sport tport
	read -r port cport sport tport <<<"$(pick_ports 4)"
	rm -rf "$run/data" "$run/logs" "$run/tmp"
	mkdir -p "$run/data" "$run/logs" "$run/tmp"
	make_certs "$run"
	cat >"$run/server.properties" <<CONF
process.roles=broker,controller
node.id=1
# Static quorum, so the format step runs without --standalone.
controller.quorum.voters=1@127.0.0.1:${cport}
listeners=PLAINTEXT://127.0.0.1:${port},CONTROLLER://127.0.0.1:${cport},SASL_PLAINTEXT://127.0.0.1:${sport},SASL_SSL://127.0.0.1:${tport}
# 127.0.0.1 rather than localhost: librdkafka may try ::1 first.
advertised.listeners=PLAINTEXT://127.0.0.1:${port},SASL_PLAINTEXT://127.0.0.1:${sport},SASL_SSL://127.0.0.1:${tport}
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT,SASL_PLAINTEXT:SASL_PLAINTEXT,SASL_SSL:SASL_SSL
# The default mechanism is GSSAPI.
sasl.enabled.mechanisms=PLAIN
listener.name.sasl_plaintext.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required username="admin" password="admin-secret" user_admin="admin-secret" user_alice="alice-secret";
listener.name.sasl_ssl.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required username="admin" password="admin-secret" user_admin="admin-secret" user_alice="alice-secret";
# A PEM key store made by openssl (make_certs): no keytool JVM starts. The
# key is not encrypted, so no store or key password.
ssl.keystore.type=PEM
ssl.keystore.location=${run}/broker-keystore.pem
log.dirs=${run}/data

# One node: every internal topic gets replication factor 1, and few
# partitions, since the first group would otherwise create 50.
offsets.topic.replication.factor=1
offsets.topic.num.partitions=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1

num.partitions=4
auto.create.topics.enable=true
# The default 3 s delay before a new group's first rebalance, and the
# default 6 s floor on session.timeout.ms, slow tests down for nothing.
group.initial.rebalance.delay.ms=0
group.min.session.timeout.ms=1000
# After a SIGKILL the restarted node finds its own old registration still
# alive and gets DUPLICATE_BROKER_REGISTRATION until that session expires:
# 9 s by default, every crash test would wait for it.
broker.session.timeout.ms=2000
broker.heartbeat.interval.ms=500
# Chunks of up to 8 MiB plus record-batch overhead.
message.max.bytes=16777216
replica.fetch.max.bytes=16777216
# The log cleaner allocates this on the heap at startup (default 128 MiB).
log.cleaner.dedupe.buffer.size=16777216
# Two cores: the broker shares them with the code under test.
num.network.threads=2
num.io.threads=4
num.recovery.threads.per.data.dir=1
CONF
	cat >"$run/log4j2.xml" <<'XML'
<?xml version="1.0" encoding="UTF-8"?>
<Configuration status="WARN">
  <Properties>
    <Property name="logDir">${sys:kafka.logs.dir:-.}</Property>
    <Property name="pattern">[%d] %p %m (%c)%n</Property>
  </Properties>
  <Appenders>
    <File name="Server" fileName="${logDir}/server.log" append="true">
      <PatternLayout pattern="${pattern}"/>
    </File>
    <File name="StateChange" fileName="${logDir}/state-change.log" append="true">
      <PatternLayout pattern="${pattern}"/>
    </File>
    <Console name="Stderr" target="SYSTEM_ERR">
      <PatternLayout pattern="${pattern}"/>
    </Console>
  </Appenders>
  <Loggers>
    <Root level="INFO">
      <AppenderRef ref="Server"/>
      <AppenderRef ref="Stderr" level="ERROR"/>
    </Root>
    <Logger name="kafka.request.logger" level="WARN"/>
    <Logger name="kafka.network.RequestChannel$" level="WARN"/>
    <Logger name="state.change.logger" level="INFO" additivity="false">
      <AppenderRef ref="StateChange"/>
    </Logger>
  </Loggers>
</Configuration>
XML
	echo "127.0.0.1:${port}" >"$run/bootstrap"
	echo "127.0.0.1:${sport}" >"$run/bootstrap_sasl"
	echo "127.0.0.1:${tport}" >"$run/bootstrap_ssl"
	# A Kafka Uuid is 16 random bytes in unpadded base64url; making it here
	# saves a JVM start. One in 64 starts with "-", which the tool would take
	# for an option unless it is joined to its name with "=".
	local cluster
	cluster="$(head -c16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=')"
	java -Xmx256m -XX:TieredStopAtLevel=1 -Djava.io.tmpdir="$run/tmp" \
		-Dlog4j2.configurationFile="$run/log4j2.xml" -Dkafka.logs.dir="$run/logs" \
		-cp "$lib/*" kafka.tools.StorageTool format --cluster-id="$cluster" -c "$run/server.properties" \
		>"$run/logs/format.log" 2>&1 ||
		{
			cat "$run/logs/format.log" >&2
			die "formatting $run failed"
		}
}

# ---------------------------------------------------------------- TLS

# A throwaway CA and a broker certificate it signs, valid for 127.0.0.1 and
# localhost (librdkafka checks the host name by default since 2.0). openssl
# takes tens of milliseconds where keytool would take a JVM start per step.
make_certs() {
	local run="$1"
	command -v openssl >/dev/null || die "openssl not found (apt-get install -y openssl)"
	(
		cd "$run"
		umask 077
		openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 3650 \
			-subj "/CN=kafka-test-ca" -addext "basicConstraints=critical,CA:TRUE" \
			-addext "keyUsage=critical,keyCertSign,cRLSign"
		openssl req -newkey rsa:2048 -nodes -keyout broker.key -out broker.csr -subj "/CN=localhost"
		printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n' >broker.ext
		openssl x509 -req -in broker.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out broker.crt \
			-days 3650 -extfile broker.ext
		# Kafka's PEM store wants the PKCS#8 key, then the chain.
		cat broker.key broker.crt ca.pem >broker-keystore.pem
		rm -f broker.csr broker.ext ca.srl
		chmod 644 ca.pem
	) >"$run/logs/certs.log" 2>&1 || {
		cat "$run/logs/certs.log" >&2
		die "making the test certificates in $run failed"
	}
}

# ---------------------------------------------------------------- run

# Alive and really our JVM: PID 1 on these machines may leave zombies
# unreaped, and a PID file can outlive its process and see its number
# reused.
alive() {
	local pid="$1" run="$2"
	[ -r "/proc/$pid/status" ] || return 1
	grep -q '^State:[[:space:]]*Z' "/proc/$pid/status" && return 1
	tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$run/server.properties"
}

running() {
	[ -f "$1/kafka.pid" ] && alive "$(cat "$1/kafka.pid")" "$1"
}

launch() {
	local run="$1"
	rm -f "$run/kafka.pid"
	# setsid: a Ctrl+C meant for `make demo` must not kill the broker before
	# the demo's own stop step. The inner bash writes its PID and then execs
	# the JVM, so the PID file names the JVM whether or not setsid forks.
	# shellcheck disable=SC2016 # expanded by the inner bash
	setsid bash -c 'echo $$ >"$1/kafka.pid"; shift; exec "$@"' _ "$run" \
		java -Xms256m -Xmx768m -server -XX:+UseG1GC -XX:MaxGCPauseMillis=20 \
		-XX:InitiatingHeapOccupancyPercent=35 -XX:+ExplicitGCInvokesConcurrent -XX:+ExitOnOutOfMemoryError \
		-Djava.awt.headless=true -Djava.io.tmpdir="$run/tmp" \
		-Dlog4j2.configurationFile="$run/log4j2.xml" -Dkafka.logs.dir="$run/logs" \
		-cp "$lib/*" kafka.Kafka "$run/server.properties" \
		>>"$run/logs/stdout.log" 2>&1 </dev/null &
	for _ in $(seq 1 100); do
		[ -s "$run/kafka.pid" ] && break
		sleep 0.05
	done
	[ -s "$run/kafka.pid" ] || die "the broker's PID file did not appear"
	if [ -n "${KAFKA_WATCH_PID:-}" ]; then
		# shellcheck disable=SC2016 # expanded by the inner bash
		setsid bash -c '
			gone() { [ ! -r /proc/$1/status ] || grep -q "^State:[[:space:]]*Z" /proc/$1/status; }
			while ! gone "$1" && ! gone "$2"; do sleep 1; done
			gone "$2" || kill -KILL "$2"' _ "$KAFKA_WATCH_PID" "$(cat "$run/kafka.pid")" \
			</dev/null >/dev/null 2>&1 &
	fi
}

# 0 ready, 1 the JVM exited, 2 timeout. Ready means the log line that ends
# KafkaRaftServer.startup, written after the broker is unfenced, plus an
# open client port (Kafka binds it only then, so it is no early signal).
wait_ready() {
	local run="$1" from="$2" port pid
	port="$(cut -d: -f2 "$run/bootstrap")"
	pid="$(cat "$run/kafka.pid")"
	local deadline=$((SECONDS + 90))
	while [ "$SECONDS" -lt "$deadline" ]; do
		if tail -c +"$from" "$run/logs/server.log" 2>/dev/null | grep -q 'Kafka Server started' &&
			(exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
			return 0
		fi
		alive "$pid" "$run" || return 1
		sleep 0.25
	done
	return 2
}

cmd_start() {
	local run="${1:?usage: broker.sh start DIR}"
	mkdir -p "$run"
	# Physical path: stop matches the JVM by the path on its command line.
	run="$(cd "$run" && pwd -P)"
	if running "$run"; then
		cat "$run/bootstrap"
		return 0
	fi
	cmd_lib
	command -v java >/dev/null || die "java not found (apt-get install -y openjdk-17-jre-headless)"
	local fresh=0 from rc
	[ -f "$run/server.properties" ] || fresh=1
	for _ in 1 2 3; do
		[ "$fresh" = 1 ] && write_config "$run"
		mkdir -p "$run/logs" "$run/tmp"
		touch "$run/logs/server.log"
		# Only this start's lines count: a restart appends to the old log.
		from=$(($(stat -c %s "$run/logs/server.log") + 1))
		launch "$run"
		rc=0
		wait_ready "$run" "$from" || rc=$?
		if [ "$rc" = 0 ]; then
			cat "$run/bootstrap"
			return 0
		fi
		cmd_stop "$run" KILL
		# Another broker took one of the ports between our pick and our
		# bind: a fresh node can simply pick again.
		if [ "$fresh" = 1 ] && { tail -c +"$from" "$run/logs/server.log"; cat "$run/logs/stdout.log"; } 2>/dev/null |
			grep -q 'Address already in use'; then
			continue
		fi
		break
	done
	tail -n 30 "$run/logs/server.log" "$run/logs/stdout.log" >&2 || true
	[ "$rc" = 2 ] && die "the broker in $run was not ready within 90 s"
	die "the broker in $run exited during startup"
}

cmd_stop() {
	local run="${1:?usage: broker.sh stop DIR}" sig="${2:-TERM}" pid
	[ -f "$run/kafka.pid" ] || return 0
	run="$(cd "$run" && pwd -P)"
	pid="$(cat "$run/kafka.pid")"
	if alive "$pid" "$run"; then
		kill -"$sig" "$pid" 2>/dev/null || true
		# SIGTERM runs the shutdown hook (controlled shutdown, then the
		# controller); 30 s is far more than it needs on one node.
		for _ in $(seq 1 120); do
			alive "$pid" "$run" || break
			sleep 0.25
		done
		if alive "$pid" "$run"; then
			kill -KILL "$pid" 2>/dev/null || true
			# Wait until the kernel has let go of the ports and the data
			# dir lock, or an immediate restart fails.
			for _ in $(seq 1 100); do
				alive "$pid" "$run" || break
				sleep 0.1
			done
		fi
	fi
	rm -f "$run/kafka.pid"
}

# ---------------------------------------------------------------- topics

# kafka-clients' Admin through Java's single-file source launcher: the CLI's
# TopicCommand lives in kafka-tools, which would drag Kafka Connect in.
cmd_create_topic() {
	local run="${1:?usage: broker.sh create-topic DIR NAME PARTITIONS}" name="${2:?topic name}" parts="${3:?partitions}"
	cmd_lib
	mkdir -p "$run/tmp"
	cat >"$run/tmp/CreateTopic.java" <<'JAVA'
import java.util.*;
import org.apache.kafka.clients.admin.*;
import org.apache.kafka.common.errors.TopicExistsException;

public class CreateTopic {
    public static void main(String[] a) throws Exception {
        Properties p = new Properties();
        p.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, a[0]);
        try (Admin admin = Admin.create(p)) {
            try {
                admin.createTopics(List.of(new NewTopic(a[1], Integer.parseInt(a[2]), (short) 1))).all().get();
            } catch (java.util.concurrent.ExecutionException e) {
                if (!(e.getCause() instanceof TopicExistsException)) throw e;
            }
        }
    }
}
JAVA
	# The source launcher compiles in memory, so this needs a JDK, not
	# just a JRE (openjdk-17-jdk-headless).
	java -Xmx128m -XX:TieredStopAtLevel=1 -Djava.io.tmpdir="$run/tmp" -Dlog4j2.level=WARN \
		-cp "$lib/*" "$run/tmp/CreateTopic.java" "$(cat "$run/bootstrap")" "$name" "$parts"
}

case "${1:-}" in
lib) cmd_lib ;;
start) cmd_start "${2:-}" ;;
stop) cmd_stop "${2:-}" ;;
kill) cmd_stop "${2:-}" KILL ;;
create-topic) cmd_create_topic "${2:-}" "${3:-}" "${4:-}" ;;
*) die "usage: broker.sh lib | start DIR | stop DIR | kill DIR | create-topic DIR NAME PARTITIONS" ;;
esac
