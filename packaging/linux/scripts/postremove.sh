#!/bin/sh
# After the files are gone (deb: remove, purge, upgrade, ...; rpm: $1 = 0 on
# erase, 1 on upgrade). Purge removes the enabled instances and the logs.
# It never touches downloaded files: /var/lib/datafiledownloaddirectory is
# removed only when empty, and the administrator's NAME.config and NAME.env
# files in /etc/datafiledownloaddirectory stay (dpkg then says the folder was
# not empty). The system user stays too: files in the output folders are
# still owned by it. Idempotent.
set -e

case "$1" in
purge)
	for link in /etc/systemd/system/*.wants/datafiledownloaddirectory@*.service; do
		[ -L "$link" ] || continue
		rm -f "$link"
	done
	rm -rf /var/log/datafiledownloaddirectory
	if [ -d /var/lib/datafiledownloaddirectory ]; then
		rmdir --ignore-fail-on-non-empty /var/lib/datafiledownloaddirectory
	fi
	;;
esac
case "$1" in
remove | purge | 0)
	if [ -d /run/systemd/system ]; then
		systemctl daemon-reload || true
	fi
	;;
esac
exit 0
