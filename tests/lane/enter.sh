#!/usr/bin/env bash
# Purpose: the lane's way into a root filesystem: run (as root, already inside fresh mount, net
# and PID namespaces - lane.sh starts us with unshare) "$@" with ROOT as `/`.
#
# Why pivot_root and not chroot: the kernel refuses new user namespaces to a chrooted process
# (its root is not its mount namespace's root), and every test in the lane creates some. The
# new root gets its own /proc (of the new PID namespace, so `ps` and leftover checks see only the
# lane), the host's /sys and /dev (device modes as the test set-up left them), and empty /tmp
# and /run. The old root is detached at once: nothing of the host's tree stays reachable.
#
# The network namespace starts empty; it gets lo and a veth pair with nothing behind it: rkv0
# holds 198.51.100.1/24 (TEST-NET-2), "an address of this machine that is not loopback", where
# the tests run the servers that containers reach. Its default route leads nowhere
# (198.51.100.254 does not exist), so no packet can leave. (This kernel has no dummy driver.)
set -euo pipefail
root=${1:?usage: enter.sh ROOT COMMAND...}
shift

mount --make-rprivate /
mount --bind "$root" "$root"
mount -t proc proc "$root/proc"
mount --rbind /sys "$root/sys"
mount --rbind /dev "$root/dev"
mount -t tmpfs -o mode=1777 tmpfs "$root/tmp"
mount -t tmpfs -o mode=0755 tmpfs "$root/run"
mkdir -p "$root/.oldroot"
cd "$root"
pivot_root . .oldroot
cd /
umount -l /.oldroot
rmdir /.oldroot

ip link set lo up
ip link add rkv0 type veth peer name rkv1
ip addr add 198.51.100.1/24 dev rkv0
ip link set rkv0 up
ip link set rkv1 up
ip route add default via 198.51.100.254 dev rkv0
echo "nameserver 198.51.100.1" >/etc/resolv.conf

exec "$@"
