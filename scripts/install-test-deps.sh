#!/usr/bin/env bash
# Installs the Debian packages dnsscout's tests need (real DNS servers and
# tools, see internal/dnstest). Idempotent: a package whose command is
# already present is left alone; `apt-get update` runs at most once, and
# only when something is missing. Prints one line per package.
#
#   ./scripts/install-test-deps.sh        (as root, or with sudo available)
#
# To add a package, add a line to PACKAGES: the Debian package and a
# command it installs (used to tell whether it is present).
set -euo pipefail

# Debian package     command that proves it is installed
PACKAGES=(
	"bind9             named"
	"bind9-utils       named-checkconf"
	"bind9-dnsutils    dig"
	"nsd               nsd"
	"knot              knotd"
	"knot-dnsutils     kdig"
	"unbound           unbound"
	"ldnsutils         ldns-signzone"
	"iproute2          ip"
	"tshark            tshark"
	"chromium          chromium"
	"dnsdbq            dnsdbq"
	"dnsrecon          dnsrecon"
	"clickhouse-server clickhouse-server"
	"clickhouse-client clickhouse-client"
	"exim4-daemon-light exim4"
)

# System services those packages may start; the tests run their own
# instances on 127.53.x.y:53, which a system-wide named (listen-on any,
# automatic interface scan) would take first. exim4 is the MTA the alert
# tests start on their own address (internal/alert/alerttest); the system
# one is not needed.
SERVICES=(named bind9 nsd knot unbound exim4)

has_command() {
	command -v "$1" >/dev/null 2>&1 && return 0
	local d
	for d in /usr/sbin /sbin /usr/local/sbin; do
		[ -x "$d/$1" ] && return 0
	done
	return 1
}

as_root() {
	if [ "$(id -u)" -eq 0 ]; then
		"$@"
	elif command -v sudo >/dev/null 2>&1; then
		sudo "$@"
	else
		echo "install-test-deps: need root (or sudo) to run: $*" >&2
		exit 1
	fi
}

missing=()
for entry in "${PACKAGES[@]}"; do
	read -r pkg cmd <<<"$entry"
	if has_command "$cmd"; then
		echo "$pkg: installed ($cmd found)"
	else
		echo "$pkg: missing ($cmd not found), will install"
		missing+=("$pkg")
	fi
done

if [ "${#missing[@]}" -gt 0 ]; then
	# Keep package scripts from starting the servers they install.
	policy=/usr/sbin/policy-rc.d
	added_policy=""
	if [ ! -e "$policy" ]; then
		as_root sh -c "printf '#!/bin/sh\nexit 101\n' > $policy && chmod 755 $policy"
		added_policy=1
	fi
	trap '[ -n "$added_policy" ] && as_root rm -f "$policy"' EXIT
	as_root apt-get update
	as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"
	for entry in "${PACKAGES[@]}"; do
		read -r pkg cmd <<<"$entry"
		for m in "${missing[@]}"; do
			[ "$m" = "$pkg" ] || continue
			if has_command "$cmd"; then
				echo "$pkg: installed now"
			else
				echo "$pkg: still missing after apt-get install ($cmd not found)" >&2
				exit 1
			fi
		done
	done
	if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
		for s in "${SERVICES[@]}"; do
			if systemctl is-active --quiet "$s" 2>/dev/null; then
				as_root systemctl disable --now "$s" >/dev/null 2>&1 || true
				echo "service $s: stopped and disabled (tests run their own instances)"
			fi
		done
	fi
fi

# Warn about system-wide servers that would compete for 127.53.x.y:53
# (the tests' own instances run from temporary directories under /tmp).
if command -v pgrep >/dev/null 2>&1; then
	for s in named nsd knotd unbound; do
		if pgrep -a -x "$s" 2>/dev/null | grep -v ' /tmp/' | grep -q .; then
			echo "warning: a system-wide $s is running; if it listens on all addresses it can take 127.53.x.y:53 before the tests' servers" >&2
		fi
	done
fi
