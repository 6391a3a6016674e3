#!/bin/sh
# Runs after the package's files are in place (deb: "configure"; rpm: 1 on
# install, 2 on upgrade). Creates the anchored user and group, the state and
# socket directories, and a random vault passphrase when there is none. It
# never enables or starts the service: that is the administrator's choice.
# DPKG_ROOT is dpkg's --root (empty for the running system).
set -e
root="${DPKG_ROOT:-}"

if command -v systemd-sysusers >/dev/null 2>&1; then
	if [ -n "$root" ]; then
		systemd-sysusers --root="$root" /usr/lib/sysusers.d/anchored.conf
	else
		systemd-sysusers /usr/lib/sysusers.d/anchored.conf
	fi
elif [ -z "$root" ] && ! getent passwd anchored >/dev/null 2>&1; then
	# No systemd-sysusers (a container, an old system): the same user by hand.
	getent group anchored >/dev/null 2>&1 || groupadd --system anchored
	useradd --system --gid anchored --home-dir /var/lib/anchored \
		--shell /usr/sbin/nologin --comment "anchored credential daemon" anchored
fi

if [ -z "$root" ] && command -v systemd-tmpfiles >/dev/null 2>&1; then
	systemd-tmpfiles --create /usr/lib/tmpfiles.d/anchored.conf || true
fi

# The system vault's passphrase, loaded by anchored.service as the systemd
# credential "vault-passphrase": 32 random bytes in hex and a newline (the
# one newline a passphrase file loses). Readable by root alone; never printed.
pass="$root/etc/anchored/vault-passphrase"
if [ ! -e "$pass" ]; then
	(
		umask 077
		mkdir -p "$root/etc/anchored"
		tmp="$pass.tmp.$$"
		od -An -tx1 -N32 /dev/urandom | tr -d ' \n' >"$tmp"
		echo >>"$tmp"
		chmod 0600 "$tmp"
		mv "$tmp" "$pass"
	)
fi

if [ -z "$root" ] && [ -d /run/systemd/system ]; then
	systemctl daemon-reload >/dev/null 2>&1 || true
	# Running services pick up the new binary on upgrade.
	systemctl try-restart anchored.service >/dev/null 2>&1 || true
fi
exit 0
