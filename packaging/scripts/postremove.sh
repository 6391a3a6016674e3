#!/bin/sh
# Runs after the package's files are gone. The vault (/var/lib/anchored),
# the passphrase and the config are the administrator's data: never removed
# here ("apt purge" removes the conffile, nothing else).
set -e
if [ -d /run/systemd/system ]; then
	systemctl daemon-reload >/dev/null 2>&1 || true
fi
exit 0
