#!/bin/sh
# Before the files go (deb: remove, upgrade, ...; rpm: $1 = 0 on erase, 1 on
# upgrade). On removal every running instance is stopped, so that it commits
# and leaves its consumer group while the program is still there; an upgrade
# leaves them running (postinstall restarts them). rpm also disables them, as
# %systemd_preun does; deb keeps them enabled until purge, as
# dh_installsystemd does, so that removing and reinstalling the package
# brings them back.
set -e

case "$1" in
remove | 0)
	if [ -d /run/systemd/system ]; then
		systemctl stop 'datafiledownloaddirectory@*.service' || true
	fi
	if [ "$1" = 0 ]; then
		for link in /etc/systemd/system/*.wants/datafiledownloaddirectory@*.service; do
			[ -L "$link" ] || continue
			systemctl --no-reload disable "$(basename "$link")" >/dev/null 2>&1 || rm -f "$link"
		done
	fi
	;;
esac
exit 0
