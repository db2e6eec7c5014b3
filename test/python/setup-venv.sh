#!/usr/bin/env bash
# Builds the virtual environment with the real OpenMSIStream (its uploaders
# for interop tests, its downloader as the speed baseline).
#
#   bash test/python/setup-venv.sh [VENV_DIR]     (default: build/venv)
#
# Idempotent: a stamp in the venv holds the hash of requirements.txt and
# constraints.txt, so a second run with the same files returns at once.
# Versions are pinned by constraints.txt (a `pip freeze` of a good install)
# so every machine tests against the same transitive dependencies.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
venv="${1:-$repo/build/venv}"
req="$here/requirements.txt"
con="$here/constraints.txt"

sum="$(cat "$req" "$con" 2>/dev/null | sha256sum | cut -d' ' -f1)"
stamp="$venv/.openmsistream-stamp"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$sum" ] && [ -x "$venv/bin/DataFileUploadDirectory" ]; then
	exit 0
fi

# kafkacrypto (imported by every openmsistream program) loads libsodium at
# import time; python3-venv provides ensurepip for `python3 -m venv`.
pkgs=()
installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }
installed libsodium23 || pkgs+=(libsodium23)
python3 -c 'import ensurepip, venv' 2>/dev/null || pkgs+=(python3-venv)
if [ ${#pkgs[@]} -gt 0 ]; then
	if [ "$(id -u)" != 0 ]; then
		echo "setup-venv.sh: missing Debian packages: ${pkgs[*]}; as root: apt-get install -y ${pkgs[*]}" >&2
		exit 1
	fi
	echo "setup-venv.sh: installing Debian packages: ${pkgs[*]}" >&2
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${pkgs[@]}" >/dev/null
fi

start=$(date +%s)
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
rm -f "$stamp"
export PIP_DISABLE_PIP_VERSION_CHECK=1
args=(-r "$req")
[ -f "$con" ] && args+=(-c "$con")
"$venv/bin/python" -m pip install -q "${args[@]}"
# Catches a broken install (e.g. libsodium missing) now, not in a test.
"$venv/bin/python" -c 'import openmsistream, kafkacrypto, msgpack, confluent_kafka' ||
	{ echo "setup-venv.sh: openmsistream does not import" >&2; exit 1; }
echo "$sum" >"$stamp"
echo "setup-venv.sh: $venv ready in $(($(date +%s) - start)) s" >&2
