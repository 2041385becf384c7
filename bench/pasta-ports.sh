#!/usr/bin/env bash
# Purpose: port forwarding around --net=pasta, in one run: our builtin port driver (on
# --net=none: pasta does not take it) against pasta's own forwards through
# --port-driver=implicit and --port-driver=pesto (upstream 3.1).
# pesto needs passt 2026, which Debian 12 lacks, so all three run with today's pasta inside
# the lane's Debian unstable root filesystem (tests/lane/rootfs.sh, entered as the lane does),
# our .deb installed there. Throughput from the host side's 127.0.0.1 to a server inside is
# measured by bench/tcp-blast.c (the tree has no iperf3; the first second is left out). The
# drivers take turns for ROUNDS rounds (default 3); the ratios are of the medians. Prints
# `metric=value` lines. Informational: nothing here is a pass/fail test.
#
#   sudo bench/pasta-ports.sh BUILD_DIR   # BUILD_DIR holds our .deb (cpack); DUR=5 by default
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root_dir=$(cd "$here/.." && pwd)
build=$(cd "${1:?usage: pasta-ports.sh BUILD_DIR}" && pwd)
deb=$(ls "$build"/rootlesskit-cpp_*.deb 2>/dev/null | head -1 || true)
[ -n "$deb" ] || { echo "pasta-ports.sh: no .deb in $build (run cpack there)" >&2; exit 1; }
if ! tree=$(bash "$root_dir/tests/lane/rootfs.sh" unstable); then
    echo "pasta-ports.sh: skipped - no Debian unstable root filesystem could be built"
    exit 0
fi
work=$(mktemp -d /var/tmp/rk-pasta-bench.XXXXXX)
cleanup() {
    mountpoint -q "$work/root" && umount -l "$work/root"
    rm -rf "$work"
}
trap cleanup EXIT
mkdir "$work/upper" "$work/work" "$work/root"
mount -t overlay overlay -o "lowerdir=$tree,upperdir=$work/upper,workdir=$work/work" "$work/root"
mkdir "$work/root/bench"
cp "$deb" "$work/root/bench/"
gcc -static -O2 -pthread -o "$work/root/bench/tcp-blast" "$here/tcp-blast.c"
cat >"$work/root/bench/inner.sh" <<'INNER'
set -euo pipefail
useradd -m -u 2001 -s /bin/bash rk-test
echo rk-test:200000:65536 >/etc/subuid
echo rk-test:200000:65536 >/etc/subgid
chmod 0666 /dev/net/tun
dpkg -i /bench/rootlesskit-cpp_*.deb >/bench/dpkg.log 2>&1 || { cat /bench/dpkg.log; exit 1; }
chmod 0755 /bench
as_user() { runuser -u rk-test -- env -i PATH=/usr/bin:/bin HOME=/tmp "$@"; }
# driver port -> Gbps through a forwarded 127.0.0.1:port to the same port inside
measure() {
    local driver=$1 port=$2 sd=/tmp/sd-$1-$2 pub=() parent net=pasta
    [ "$driver" = implicit ] || pub=(-p "127.0.0.1:$port:$port/tcp")
    # the builtin driver does not go with pasta (upstream's rule): it runs on --net=none, where
    # its data path is the same
    [ "$driver" = builtin ] && net=none
    as_user rootlesskit --state-dir="$sd" --net="$net" --port-driver="$driver" \
        --disable-host-loopback --pidns "${pub[@]}" /bench/tcp-blast serve "$port" \
        >"/tmp/rk-$driver.log" 2>&1 &
    for _ in $(seq 100); do [ -S "$sd/api.sock" ] && break; sleep 0.1; done
    # implicit: pasta binds the host port once its scan has seen the listener inside
    for _ in $(seq 100); do ss -Htln "sport = :$port" | grep -q . && break; sleep 0.1; done
    parent=$(pgrep -o -f "^rootlesskit --state-dir=$sd")
    /bench/tcp-blast get 127.0.0.1 "$port" "$DUR" || echo 0
    [ -n "$parent" ] && kill "$parent"
    wait || true
}
median() { tr ' ' '\n' | grep . | sort -g | awk '{v[NR]=$1} END {printf "%.2f", v[int((NR+1)/2)]}'; }
declare -A runs
port=27000
for round in $(seq "$ROUNDS"); do
    # each driver goes first once in a while: no one always carries a cold start
    order=(builtin implicit pesto)
    [ $((round % 3)) = 2 ] && order=(implicit pesto builtin)
    [ $((round % 3)) = 0 ] && order=(pesto builtin implicit)
    for driver in "${order[@]}"; do
        port=$((port + 1))
        g=$(measure "$driver" "$port")
        echo "pasta_port_${driver}_round${round}=$g Gbps"
        runs[$driver]="${runs[$driver]:-} $g"
    done
done
for driver in builtin implicit pesto; do
    echo "pasta_port_${driver}=$(echo "${runs[$driver]}" | median) Gbps (runs:${runs[$driver]})"
done
b=$(echo "${runs[builtin]}" | median)
awk -v b="$b" -v i="$(echo "${runs[implicit]}" | median)" -v p="$(echo "${runs[pesto]}" | median)" \
    'BEGIN { printf "ratio_pasta_implicit_vs_builtin=%.2f ratio_pasta_pesto_vs_builtin=%.2f (informational)\n", i / b, p / b }'
echo "passt $(dpkg-query -W -f '${Version}' passt)"
INNER
unshare --mount --net --pid --fork --propagation private \
    bash "$root_dir/tests/lane/enter.sh" "$work/root" \
    env DUR="${DUR:-5}" ROUNDS="${ROUNDS:-3}" bash /bench/inner.sh
