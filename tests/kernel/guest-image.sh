#!/usr/bin/env bash
# Purpose: build (or reuse) the kernel lane's guest: a Debian root filesystem with that
# release's own kernel (linux-image-cloud-amd64) and initramfs, made into a raw ext4 image that
# QEMU boots (run.sh). Prints "IMAGE VMLINUZ INITRD" on stdout.
#
# Usage: guest-image.sh bookworm|trixie   (Debian 12: Linux 6.1; Debian 13: Linux 6.12)
#
# Cached under $RK_KERNEL_CACHE (default /var/cache/rootlesskit-cpp-kernel), keyed by a hash of
# this script: a changed package list or boot stub builds a new one and removes the old. Built
# under a temporary name and renamed when complete. The image is never written to: run.sh boots
# it with snapshot=on and brings the tests on a second disk.
#
# The tree holds what the guest suite needs from its Debian (uidmap, slirp4netns, passt, bats,
# iproute2) and the dependencies of our .deb, which the guest installs itself with dpkg, as a
# user would. Its init is /sbin/rk-guest-init (below): it mounts the second disk and runs the
# suite's own init from there, so a change to the suite needs no new image.
set -euo pipefail
cache=${RK_KERNEL_CACHE:-/var/cache/rootlesskit-cpp-kernel}
mirror=${RK_LANE_MIRROR:-http://deb.debian.org/debian}
suite=${1:?usage: guest-image.sh bookworm|trixie}
case $suite in
bookworm | trixie) ;;
*)
    echo "guest-image.sh: unknown suite \"$suite\" (bookworm or trixie)" >&2
    exit 2
    ;;
esac
packages=(linux-image-cloud-amd64 initramfs-tools kmod util-linux mount iproute2 procps psmisc
          uidmap libslirp0 libseccomp2 libcap2 slirp4netns passt netcat-openbsd bats bats-assert
          bats-support curl ca-certificates)

if [ "$(id -u)" != 0 ]; then
    echo "guest-image.sh: run as root (mmdebstrap, and the kernel in /boot is root's)" >&2
    exit 1
fi
for tool in mmdebstrap mkfs.ext4; do
    command -v "$tool" >/dev/null || {
        echo "guest-image.sh: $tool is not installed (apt-get install mmdebstrap e2fsprogs)" >&2
        exit 1
    }
done

key=$( (cat "$0"; echo "$mirror $suite") | sha256sum | cut -c1-16)
dir=$cache/guest-$suite-$key
if [ -e "$dir/.complete" ]; then
    echo "$dir/root.img $dir/vmlinuz $dir/initrd.img"
    exit 0
fi
mkdir -p "$cache"
find "$cache" -mindepth 1 -maxdepth 1 -name "guest-$suite-*" ! -name "guest-$suite-$key" \
    -exec rm -rf {} +
tmp=$cache/.building-$suite-$key
rm -rf "$tmp"
mkdir -p "$tmp"
log=$cache/.build-$suite-$key.log

# The boot stub: the smallest init that can find the suite. Everything else is the suite's.
stub='#!/bin/sh
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev 2>/dev/null
mkdir -p /payload
if mount -o ro /dev/vdb /payload && [ -x /payload/init.sh ]; then
    exec /payload/init.sh
fi
echo "rk-guest-init: no test disk at /dev/vdb" >/dev/console
echo o >/proc/sysrq-trigger
sleep 10'

list=$(IFS=,; echo "${packages[*]}")
# The archive's newer Release files may be past their Valid-Until date here.
mmdebstrap --variant=minbase --include="$list" \
    --aptopt='Acquire::Check-Valid-Until "false"' \
    --customize-hook="printf '%s\n' '$stub' >\"\$1/sbin/rk-guest-init\" && chmod 755 \"\$1/sbin/rk-guest-init\"" \
    --customize-hook='echo "127.0.0.1 localhost" >"$1/etc/hosts"; echo rk-guest >"$1/etc/hostname"' \
    --customize-hook='chroot "$1" dpkg-query -W -f="\${Package} \${Version}\n" >"$1/.versions"' \
    "$suite" "$tmp/tree" "$mirror" >"$log" 2>&1 || {
    tail -20 "$log" >&2
    rm -rf "$tmp"
    exit 1
}
vmlinuz=$(ls "$tmp"/tree/boot/vmlinuz-* | sort -V | tail -1)
initrd=$(ls "$tmp"/tree/boot/initrd.img-* | sort -V | tail -1)
[ -s "$vmlinuz" ] && [ -s "$initrd" ] || {
    echo "guest-image.sh: the $suite tree has no kernel or initrd in /boot (see $log)" >&2
    rm -rf "$tmp"
    exit 1
}
cp "$vmlinuz" "$tmp/vmlinuz"
cp "$initrd" "$tmp/initrd.img"
cp "$tmp/tree/.versions" "$tmp/versions"
# Room for dpkg -i, the tests' state and a writable /tmp (the image is a sparse file).
size_mb=$(( $(du -sm "$tmp/tree" | cut -f1) + 1024 ))
mkfs.ext4 -q -F -L rk-guest -d "$tmp/tree" "$tmp/root.img" "${size_mb}M" >>"$log" 2>&1 || {
    tail -20 "$log" >&2
    rm -rf "$tmp"
    exit 1
}
rm -rf "$tmp/tree"
touch "$tmp/.complete"
mv "$tmp" "$dir"
echo "$dir/root.img $dir/vmlinuz $dir/initrd.img"
