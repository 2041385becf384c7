#!/usr/bin/env bash
# Purpose: README command 1 - on a fresh Debian 12 machine (as root): install what is missing,
# build, install, and show the main job: an unprivileged user entering a rootless namespace as
# uid 0, with the expected uid_map, a writable copied-up /etc that the host never sees, and a
# network of its own from the embedded user-mode network (no helper binary needed) - BuildKit's
# documented command line: rootlesskit --net=gvisor-tap-vsock --copy-up=/etc
# --disable-host-loopback.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DRK_TESTS=OFF >/dev/null
cmake --build build -j"$(nproc)" >/dev/null
# installs the binaries and the unprivileged demo/test user rk-test with sub-ID ranges
bash tests/integration/setup.sh build
prefix=${RK_TEST_PREFIX:-/usr/local/libexec/rootlesskit-cpp-test}
user=rk-test
echo
echo "== as $user (uid $(id -u $user)): rootlesskit --net=gvisor-tap-vsock --copy-up=/etc --disable-host-loopback sh -c ..."
runuser -u "$user" -- env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME="/home/$user" \
    "$prefix/bin/rootlesskit" --net=gvisor-tap-vsock --copy-up=/etc --disable-host-loopback sh -c '
        echo "id: $(id)"
        echo "uid_map:"; cat /proc/self/uid_map
        echo "gid_map:"; cat /proc/self/gid_map
        echo "written inside the namespace" > /etc/rootlesskit-demo
        echo "/etc/rootlesskit-demo inside: $(cat /etc/rootlesskit-demo)"
        echo "network: $(ip -o -4 addr show dev tap0 | awk "{print \$2, \$4}"), $(ip route | head -1)"
        echo "resolv.conf: $(cat /etc/resolv.conf)"'
if [ -e /etc/rootlesskit-demo ]; then
    echo "FAIL: /etc/rootlesskit-demo leaked to the host" >&2
    exit 1
fi
echo "/etc/rootlesskit-demo on the host: absent (the write stayed in the namespace)"
