#!/bin/sh
# After install or upgrade (deb: configure; rpm: $1 = 1 or 2). Instances are
# enabled by the administrator (systemctl enable --now
# datafiledownloaddirectory@NAME); an upgrade restarts the running ones so
# that they use the new program. Without systemd as init (containers, chroots)
# there is nothing to do. Idempotent.
set -e

if [ -d /run/systemd/system ]; then
	systemctl daemon-reload || true
	systemctl try-restart 'datafiledownloaddirectory@*.service' || true
fi
exit 0
