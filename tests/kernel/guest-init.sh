#!/bin/bash
# Purpose: the kernel lane guest's init (PID 1, started by the image's /sbin/rk-guest-init from
# the test disk at /payload): make the machine a user's machine - /dev, cgroup2, tun and veth,
# an unprivileged user with sub-ID ranges, our .deb installed with dpkg - run guest.bats as
# root (it runs our binaries as that user) and power off. Everything it prints goes to the
# serial console, which run.sh reads; the last line is "RK-GUEST-END rc=N".
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export HOME=/root LANG=C.UTF-8
exec >/dev/console 2>&1
# only the kernel's emergencies on the console: the suite's lines must come out whole
echo 1 >/proc/sys/kernel/printk

finish() {
    echo "RK-GUEST-END rc=$1"
    sync
    echo o >/proc/sysrq-trigger
    sleep 30
}
trap 'finish 99' ERR
set -eE

mount -t tmpfs -o mode=1777 tmpfs /tmp
mount -t tmpfs -o mode=0755 tmpfs /run
mkdir -p /dev/pts /dev/shm /dev/mqueue
mount -t devpts -o gid=5,mode=620,ptmxmode=666 devpts /dev/pts
mount -t tmpfs -o mode=1777 tmpfs /dev/shm
mount -t cgroup2 cgroup2 /sys/fs/cgroup
mount -t securityfs securityfs /sys/kernel/security 2>/dev/null || true
[ -e /dev/fd ] || ln -s /proc/self/fd /dev/fd
hostname rk-guest
modprobe tun
modprobe veth
# the distros' device modes (Debian's udev rules make tun 0666; this guest has no udev)
chmod 0666 /dev/net/tun
ip link set lo up
# "An address of this machine that is not loopback" with a default route that leads nowhere:
# what pasta copies into the namespace, and where the guest's servers listen. No packet leaves.
ip link add rkv0 type veth peer name rkv1
ip addr add 192.0.2.1/24 dev rkv0
ip link set rkv0 up
ip link set rkv1 up
ip route add default via 192.0.2.254 dev rkv0
echo "nameserver 192.0.2.1" >/etc/resolv.conf

useradd -m -u 2001 -s /bin/bash -K SUB_UID_COUNT=0 -K SUB_GID_COUNT=0 rk-test
echo "rk-test:200000:65536" >/etc/subuid
echo "rk-test:200000:65536" >/etc/subgid

echo "RK-GUEST kernel $(uname -r) lsm=$(cat /sys/kernel/security/lsm 2>/dev/null)"
dpkg -i /payload/rootlesskit-cpp.deb >/tmp/dpkg.log 2>&1 || {
    cat /tmp/dpkg.log
    finish 98
}
echo "RK-GUEST installed $(rootlesskit --version | head -1) on kernel $(uname -r)"

rc=0
cd /payload
# A test that hangs (a rootlesskit that never exits) fails alone instead of ending the lane.
BATS_TEST_TIMEOUT=120 RK_GUEST_TOOLS=/payload/tools bats --tap guest.bats || rc=$?
finish "$rc"
