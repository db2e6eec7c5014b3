#!/usr/bin/env bash
# `make demo`: the main job, end to end, on this machine. Starts a local
# Kafka broker, uploads a sample instrument folder with the real Python
# OpenMSIStream uploader, runs DataFileDownloadDirectory until every file is
# rebuilt, types `check` and `quit` into its console and shows the files.
# The broker keeps running and everything stays in build/demo/, so that you
# can go on trying by hand; `make demo-stop` stops the broker.
set -euo pipefail

repo="$(cd "$(dirname "$0")/.." && pwd)"
cd "$repo"
venv="${DFDD_PYTHON_VENV:-$repo/build/venv}"
bin="bin/DataFileDownloadDirectory"
work="build/demo"
topic="demo_xrd_data"
config="test/python/local_broker.config"
dl_pid="" up_pid=""

# Only the programs: the broker and the files are what the demo leaves.
cleanup() {
	[ -n "$dl_pid" ] && kill "$dl_pid" 2>/dev/null || true
	[ -n "$up_pid" ] && kill "$up_pid" 2>/dev/null || true
	exec 3>&- 4>&- 2>/dev/null || true
	rm -f "$work/dl.in" "$work/up.in"
}
trap cleanup EXIT

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

if [ -d "$work" ]; then
	step "Removing the previous demo ($work)"
	bash test/kafka/broker.sh stop "$work/broker" >/dev/null 2>&1 || true
	rm -rf "$work"
fi
mkdir -p "$work"

step "Starting a local Kafka broker (KRaft, loopback only)"
bootstrap="$(bash test/kafka/broker.sh start "$work/broker")"
export LOCAL_KAFKA_BROKER_BOOTSTRAP_SERVERS="$bootstrap"
echo "broker at $bootstrap"
"$venv/bin/python" - "$bootstrap" "$topic" <<'PY'
import sys
from confluent_kafka.admin import AdminClient, NewTopic
admin = AdminClient({"bootstrap.servers": sys.argv[1]})
for f in admin.create_topics([NewTopic(sys.argv[2], num_partitions=4, replication_factor=1)]).values():
    f.result()
print(f"topic {sys.argv[2]} created with 4 partitions")
PY

step "Making a sample instrument folder"
src="$work/instrument"
mkdir -p "$src/2026-11-26/xrd/scan 0001" "$src/2026-11-26/sem/images" "$src/calibration"
head -c 3000000 /dev/urandom >"$src/2026-11-26/xrd/scan 0001/pattern.raw"
seq 1 20000 | awk '{printf "%d,%.3f,%.3f\n", $1, $1*0.01, sin($1/100)}' >"$src/2026-11-26/xrd/scan 0001/pattern.csv"
for i in 1 2 3 4 5; do head -c $((200000 * i)) /dev/urandom >"$src/2026-11-26/sem/images/img_000$i.tif"; done
printf 'instrument = XRD-1\noperator = demo\n' >"$src/calibration/settings.txt"
(cd "$src" && find . -type f | sort | sed 's|^\./|  |')

step "Uploading it with OpenMSIStream's DataFileUploadDirectory (Python, from PyPI)"
mkfifo "$work/up.in"
"$venv/bin/DataFileUploadDirectory" "$src" --config "$config" \
	--topic_name "$topic" --upload_existing --chunk_size 65536 <"$work/up.in" >"$work/upload.log" 2>&1 &
up_pid=$!
exec 4>"$work/up.in"

out="$work/incoming"
step "Running DataFileDownloadDirectory (this program) into $out"
echo "\$ $bin $out --config $config --topic_name $topic"
mkfifo "$work/dl.in"
"$bin" "$out" --config "$config" --topic_name "$topic" <"$work/dl.in" &
dl_pid=$!
exec 3>"$work/dl.in"

expected="$(cd "$src" && find . -type f -not -path './LOGS/*' | sort | xargs -d '\n' sha256sum)"
got=""
for _ in $(seq 1 240); do
	got="$(cd "$out" 2>/dev/null && find . -path ./.datafiledownloaddirectory -prune -o -type f -print | sort | xargs -r -d '\n' sha256sum || true)"
	[ "$got" = "$expected" ] && break
	sleep 0.5
done

step "Typing 'check' and then 'quit' into its console"
echo check >&3
sleep 1
echo quit >&3
wait "$dl_pid"
dl_pid=""
echo q >&4
wait "$up_pid" || true
up_pid=""

step "The rebuilt folder"
(cd "$out" && find . -path ./.datafiledownloaddirectory -prune -o -type f -printf '  %-45P %10s bytes\n' | sort)
if [ "$got" != "$expected" ]; then
	echo "The rebuilt files differ from the uploaded ones:" >&2
	diff <(echo "$expected") <(echo "$got") >&2 || true
	echo "The broker is still running; make demo-stop stops it." >&2
	exit 1
fi
echo
echo "All $(echo "$expected" | wc -l) files were rebuilt byte for byte (SHA-256 of every file compared)."

step "Go on by hand"
cat <<MSG
The rebuilt files are in $out, the uploaded ones in $src, and the
program's log in $out/.datafiledownloaddirectory/DataFileDownloadDirectory.log.
The broker is still running at $bootstrap. Against it, from $repo:

  export LOCAL_KAFKA_BROKER_BOOTSTRAP_SERVERS=$bootstrap
  $bin $work/again --config $config --topic_name $topic

rebuilds the whole topic again in $work/again (the config's group.id =
create_new makes a new consumer group each time; type check, then quit).
Upload more with:

  $venv/bin/UploadDataFile FILE --config $config --topic_name $topic

make demo-stop stops the broker (the files stay); make demo starts afresh.
MSG
