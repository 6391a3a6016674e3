#!/bin/sh
# Runs before the package's files go (deb: "remove" or "upgrade"; rpm: 0 on
# erase, 1 on upgrade). On removal, stop and disable the units; on upgrade,
# leave them running for postinstall's try-restart.
set -e
case "$1" in
remove | 0)
	if [ -d /run/systemd/system ]; then
		systemctl disable --now anchored.service anchored.socket >/dev/null 2>&1 || true
	fi
	;;
esac
exit 0
