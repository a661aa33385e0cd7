# shellcheck shell=bash
# Helpers shared by deploy/local/services and deploy/local/test. Sourced, not run.

# Repository root: two levels above this file.
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd -P)"
# shellcheck disable=SC2034 # used by the scripts that source this file
LOCAL_DIR="$REPO/.local"

say() { printf '%s\n' "$*"; }
step() { printf '==> %s\n' "$*"; }
warn() { printf 'warning: %s\n' "$*" >&2; }
die() {
    printf 'error: %s\n' "$*" >&2
    exit 1
}

# Run a command as root: directly when we are root, through sudo otherwise.
as_root() {
    if [ "$(id -u)" = 0 ]; then
        "$@"
    elif command -v sudo >/dev/null 2>&1; then
        sudo "$@"
    else
        die "need root (or sudo) to run: $*"
    fi
}

# True when the Debian package is installed (not merely known, nor removed with its config).
deb_installed() {
    [ "$(dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null || true)" = installed ]
}

APT_UPDATED=0
# Install the Debian packages that are not installed yet; do nothing when all are.
apt_ensure() {
    local missing=() pkg
    for pkg in "$@"; do
        deb_installed "$pkg" || missing+=("$pkg")
    done
    [ "${#missing[@]}" -eq 0 ] && return 0
    command -v apt-get >/dev/null 2>&1 || die "missing packages (${missing[*]}) and no apt-get to install them"
    step "installing Debian packages: ${missing[*]}"
    if [ "$APT_UPDATED" = 0 ]; then
        as_root apt-get update -q
        APT_UPDATED=1
    fi
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
}

# Like apt_ensure, for packages that ship a system service (clickhouse-server): their postinst
# would start it with the system configuration on the ports we want for our own instance. A
# temporary policy-rc.d (the standard Debian switch, exit 101 = "action forbidden") stops that;
# an existing policy-rc.d is left alone.
apt_ensure_no_start() {
    local policy=/usr/sbin/policy-rc.d rc=0
    if [ -e "$policy" ]; then
        apt_ensure "$@"
        return
    fi
    as_root sh -c "printf '#!/bin/sh\nexit 101\n' > $policy && chmod 0755 $policy"
    (apt_ensure "$@") || rc=$?
    as_root rm -f "$policy"
    return "$rc"
}
