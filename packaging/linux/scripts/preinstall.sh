#!/bin/sh
# Before unpacking (deb: install/upgrade; rpm: $1 = 1 or 2): the system user
# must exist so that the files it owns get the right owner. Idempotent.
set -e

user=datafiledownloaddirectory
if ! getent group "$user" >/dev/null; then
	groupadd --system "$user"
fi
if ! getent passwd "$user" >/dev/null; then
	nologin=/usr/sbin/nologin
	[ -x "$nologin" ] || nologin=/sbin/nologin
	useradd --system --gid "$user" --home-dir /var/lib/datafiledownloaddirectory \
		--no-create-home --shell "$nologin" \
		--comment "DataFileDownloadDirectory service" "$user"
fi
exit 0
