#!/usr/bin/env bash
# Installs the Debian packages the build and tests need, only when missing,
# so it is quick on a machine that already has them. `deps.sh demo` installs
# only what `make demo` needs: the broker's Java, Maven and openssl, and the
# library the Python uploader loads.
set -euo pipefail

pkgs=()
what="${1:-all}"
command -v java >/dev/null || pkgs+=(openjdk-17-jre-headless)
command -v mvn >/dev/null || pkgs+=(maven)
# The test broker's throwaway CA and TLS certificate (test/kafka/broker.sh).
command -v openssl >/dev/null || pkgs+=(openssl)
# kafkacrypto, a dependency of the Python uploader, loads libsodium.
dpkg-query -W -f='${Status}' libsodium23 2>/dev/null | grep -q "install ok installed" || pkgs+=(libsodium23)
if [ "$what" != demo ]; then
	# The Windows build (vet, the .exe) and make package: the cross-compiler,
	# the MSI builder and reader, rpm (to inspect the .rpm) and Authenticode
	# signing.
	command -v x86_64-w64-mingw32-gcc >/dev/null || pkgs+=(gcc-mingw-w64-x86-64)
	command -v wixl >/dev/null || pkgs+=(wixl)
	command -v msiinfo >/dev/null || pkgs+=(msitools)
	command -v rpm >/dev/null || pkgs+=(rpm)
	command -v osslsigncode >/dev/null || pkgs+=(osslsigncode)
	# make test-windows runs the .exe and the Windows tests under wine
	# (64-bit only: wine is the launcher, wine64 the 64-bit loader).
	command -v wine >/dev/null || pkgs+=(wine)
	[ -x /usr/lib/wine/wine64 ] || pkgs+=(wine64)
	# The package test checks the systemd unit with systemd-analyze and the
	# installed man page with man.
	command -v systemd-analyze >/dev/null || pkgs+=(systemd)
	command -v man >/dev/null || pkgs+=(man-db)
fi

if [ ${#pkgs[@]} -gt 0 ]; then
	if [ "$(id -u)" != 0 ]; then
		echo "missing Debian packages: ${pkgs[*]}; install them as root: apt-get install -y ${pkgs[*]}" >&2
		exit 1
	fi
	echo "installing Debian packages: ${pkgs[*]}"
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${pkgs[@]}" >/dev/null
fi
