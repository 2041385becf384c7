#!/usr/bin/env bash
# Purpose: prepare this machine for the integration tests (as root): unprivileged test users
# with sub-ID ranges, the distros' usual device modes, and our binaries installed where the test
# user can read and run them. Idempotent.
set -euo pipefail
build=${1:?usage: setup.sh BUILD_DIR}
prefix=${RK_TEST_PREFIX:-/usr/local/libexec/rootlesskit-cpp-test}
if [ "$(id -u)" != 0 ]; then
    echo "setup.sh: must run as root (it creates test users and installs binaries)" >&2
    exit 1
fi

# name uid subid-start (empty: no range)
ensure_user() {
    local name=$1 uid=$2 start=$3
    if ! id -u "$name" >/dev/null 2>&1; then
        # -K SUB_*_COUNT=0: we write the ranges ourselves, below.
        useradd -m -u "$uid" -s /bin/bash -K SUB_UID_COUNT=0 -K SUB_GID_COUNT=0 "$name"
    fi
    local f
    for f in /etc/subuid /etc/subgid; do
        touch "$f"
        sed -i "/^$name:/d" "$f"
        [ -z "$start" ] || echo "$name:$start:65536" >>"$f"
    done
}
ensure_user rk-test 2001 200000
ensure_user rk-nosub 2002 ""
ensure_user rk-overlap 300100 300000
# The range useradd gives a machine's first user is taken, as on most machines: a fix that
# suggests it to another user would make two users share IDs.
ensure_user rk-first 2003 100000

for dev in /dev/net/tun /dev/fuse; do
    [ -e "$dev" ] && chmod 0666 "$dev"
done
if [ "$(cat /proc/sys/user/max_user_namespaces)" = 0 ]; then
    echo 28633 >/proc/sys/user/max_user_namespaces
fi

cmake --install "$build" --prefix "$prefix" >/dev/null
cmake --install "$build" --prefix "$prefix" --component tests >/dev/null
chmod -R a+rX "$prefix"
echo "installed $prefix/bin/rootlesskit; test users rk-test rk-nosub rk-overlap rk-first ready"
