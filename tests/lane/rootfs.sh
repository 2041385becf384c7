#!/usr/bin/env bash
# Purpose: build (or reuse) the current-distribution lane's root filesystem - Debian unstable
# with today's clients (Docker, containerd, runc, passt with pesto, slirp4netns, Go rootlesskit
# 2.x) - with mmdebstrap from Debian's archive. Prints its path on stdout.
#
# The tree is cached under $RK_LANE_CACHE (default /var/cache/rootlesskit-cpp-lane), keyed by a
# hash of this script: a changed package list builds a new one, and older trees are removed. It
# is built into a temporary name and renamed when complete, so an interrupted build is never
# used. The tree is never written to by the tests (lane.sh runs them on an overlay of it).
#
# Go rootlesskit 2.x is the lane's compatibility peer, and our .deb replaces Debian's rootlesskit
# package: its binaries are kept under /opt/rootlesskit-go/bin before that happens.
#
# Usage: rootfs.sh [unstable|bookworm]. bookworm is the same .deb's other target: a plain Debian
# 12 with Debian's Go rootlesskit 1.1.0 installed, for the replace-and-run check.
set -euo pipefail
cache=${RK_LANE_CACHE:-/var/cache/rootlesskit-cpp-lane}
mirror=${RK_LANE_MIRROR:-http://deb.debian.org/debian}
suite=${1:-unstable}
common=(rootlesskit uidmap libslirp0 libseccomp2 slirp4netns passt iproute2 curl busybox-static
        netcat-openbsd procps psmisc bats bats-assert bats-support jq bash-completion man-db)
case $suite in
unstable) packages=("${common[@]}" docker.io docker-cli docker-buildx containerd runc
                    tini-static iptables kmod ca-certificates) ;;
bookworm) packages=("${common[@]}") ;;
*)
    echo "rootfs.sh: unknown suite \"$suite\" (unstable or bookworm)" >&2
    exit 2
    ;;
esac

if [ "$(id -u)" != 0 ]; then
    echo "rootfs.sh: run as root (mmdebstrap, and the tree belongs to root)" >&2
    exit 1
fi
command -v mmdebstrap >/dev/null || {
    echo "rootfs.sh: mmdebstrap is not installed (apt-get install mmdebstrap)" >&2
    exit 1
}

key=$( (cat "$0"; echo "$mirror $suite") | sha256sum | cut -c1-16)
tree=$cache/rootfs-$suite-$key
if [ -e "$tree/.complete" ]; then
    echo "$tree"
    exit 0
fi

mkdir -p "$cache"
# Trees of other keys are stale.
find "$cache" -mindepth 1 -maxdepth 1 -name "rootfs-$suite-*" ! -name "rootfs-$suite-$key" \
    -exec rm -rf {} +
tmp=$cache/.building-$key
rm -rf "$tmp"
# The archive's unstable Release file is past its Valid-Until date here.
list=$(IFS=,; echo "${packages[*]}")
mmdebstrap --variant=minbase --include="$list" \
    --aptopt='Acquire::Check-Valid-Until "false"' \
    --customize-hook='mkdir -p "$1/opt/rootlesskit-go/bin" &&
        cp -a "$1"/usr/bin/rootlesskit "$1"/usr/bin/rootlessctl "$1/opt/rootlesskit-go/bin/" &&
        if [ -e "$1"/usr/bin/rootlesskit-docker-proxy ]; then
            cp -a "$1"/usr/bin/rootlesskit-docker-proxy "$1/opt/rootlesskit-go/bin/"; fi' \
    --customize-hook='chroot "$1" dpkg-query -W -f="\${Package} \${Version}\n" >"$1/.versions"' \
    "$suite" "$tmp" "$mirror" >"$cache/.build-$key.log" 2>&1 || {
    tail -20 "$cache/.build-$key.log" >&2
    rm -rf "$tmp"
    exit 1
}
touch "$tmp/.complete"
mv "$tmp" "$tree"
echo "$tree"
