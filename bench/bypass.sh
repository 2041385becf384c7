#!/usr/bin/env bash
# Purpose: the socket bypass's benchmark (--socket-bypass). In one run, as root (it makes a
# network namespace with a veth pair to this host: 198.19.0.1 here, 198.19.0.2 there, with
# iperf3 and a connection-rate server in it), the unprivileged user measures
#   - iperf3 to 198.19.0.2: directly on the host, from rootlesskit --net=slirp4netns with
#     --socket-bypass, and, for reference, through slirp4netns and the embedded network;
#   - new connections per second (bench/conn-rate.c, one at a time): directly and through the
#     bypass; and, to show what the notification round trip alone costs on this machine, to a
#     server on the namespace's loopback with and without the flag (every connect() is trapped,
#     examined and handed back to the kernel); and bench/trap-floor.c: the same loop with a
#     supervisor that only receives and continues, and with one that also puts a new socket in
#     place of the caller's (ADDFD) - the ceilings of any bypass built on seccomp user
#     notification, and of any that replaces the caller's socket, on this machine.
# Prints `metric=value unit` lines and the ratios against the issue's targets (throughput
# >= 0.8x direct, connections/s >= 0.7x direct). Informational: nothing here is a test.
#
#   sudo bench/bypass.sh      # after tests/integration/setup.sh; DUR=10 ROUNDS=3 by default
set -euo pipefail
. "$(dirname "$0")/lib.sh"
RK=${RK:-/usr/local/libexec/rootlesskit-cpp-test/bin/rootlesskit}
BENCH_USER=${BENCH_USER:-rk-test}
DUR=${DUR:-10}
ROUNDS=${ROUNDS:-3}
NS=rk-bench-bypass
work=""
for tool in iperf3 ip "$RK"; do
    command -v "$tool" >/dev/null || { echo "bypass.sh: $tool not found" >&2; exit 1; }
done
cleanup() {
    ip netns pids "$NS" 2>/dev/null | xargs -r kill 2>/dev/null || true
    ip link del rk-bench0 2>/dev/null || true
    ip netns del "$NS" 2>/dev/null || true
    [ -z "$work" ] || rm -rf "$work"
}
trap cleanup EXIT
cleanup
work=$(mktemp -d /tmp/rk-bench-bypass.XXXXXX) && chmod 0755 "$work" && chown "$BENCH_USER" "$work"
cc -O2 -o "$work/conn-rate" "$(dirname "$0")/conn-rate.c"
cc -O2 -o "$work/trap-floor" "$(dirname "$0")/trap-floor.c"
ip netns add "$NS"
ip link add rk-bench0 type veth peer name eth0 netns "$NS"
ip addr add 198.19.0.1/24 dev rk-bench0
ip link set rk-bench0 up
ip -n "$NS" addr add 198.19.0.2/24 dev eth0
ip -n "$NS" link set eth0 up
ip -n "$NS" link set lo up
ip netns exec "$NS" iperf3 -s -p 5201 >/dev/null 2>&1 &
ip netns exec "$NS" "$work/conn-rate" serve 5202 &
sleep 0.5

as_user() { runuser -u "$BENCH_USER" -- env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/tmp TMPDIR="$work" "$@"; }
rkit() { as_user "$RK" --copy-up=/etc "$@"; }
gbps() { { "$@" iperf3 -c 198.19.0.2 -p 5201 -t "$DUR" -J 2>/dev/null || true; } | iperf3_gbps; }
rate() { "$@" "$work/conn-rate" run 198.19.0.2 5202 "$DUR" 2>/dev/null || echo 0; }

embedded=false
[ -x "$(dirname "$RK")/../libexec/rootlesskit/rootlesskit-netd" ] && embedded=true
# connections/s to a server on loopback inside the namespace, with the given flags
rate_inside() {
    rkit --net=slirp4netns "$@" sh -c "$work/conn-rate serve 5300 & sleep 0.3; $work/conn-rate run 127.0.0.1 5300 $DUR; kill \$!" 2>/dev/null || echo 0
}
d="" b="" s="" e="" cd="" cb="" ti="" tb="" fp="" ft="" fr=""
for _ in $(seq "$ROUNDS"); do
    d+=" $(gbps as_user)"
    b+=" $(gbps rkit --net=slirp4netns --mtu=65520 --socket-bypass)"
    s+=" $(gbps rkit --net=slirp4netns --mtu=65520)"
    $embedded && e+=" $(gbps rkit --net=gvisor-tap-vsock)"
    cd+=" $(rate as_user)"
    cb+=" $(rate rkit --net=slirp4netns --socket-bypass)"
    ti+=" $(rate_inside)"
    tb+=" $(rate_inside --socket-bypass)"
    read -r p t r < <(as_user "$work/trap-floor" "$DUR" || echo "0 0 0")
    fp+=" $p" ft+=" $t" fr+=" $r"
done
D=$(echo $d | median) B=$(echo $b | median) S=$(echo $s | median)
CD=$(echo $cd | median) CB=$(echo $cb | median) TI=$(echo $ti | median) TB=$(echo $tb | median)
FP=$(echo $fp | median) FT=$(echo $ft | median) FR=$(echo $fr | median)
echo "bypass_iperf3_direct=$D Gbps"
echo "bypass_iperf3_bypass=$B Gbps"
echo "bypass_iperf3_slirp4netns=$S Gbps"
$embedded && echo "bypass_iperf3_embedded=$(echo $e | median) Gbps"
echo "bypass_conn_direct=$CD conn/s"
echo "bypass_conn_bypass=$CB conn/s"
echo "bypass_conn_loopback_plain=$TI conn/s"
echo "bypass_conn_loopback_trapped=$TB conn/s"
echo "bypass_trap_floor_plain=$FP conn/s"
echo "bypass_trap_floor_trapped=$FT conn/s"
echo "bypass_trap_floor_replaced=$FR conn/s"
awk -v b="$B" -v d="$D" -v cb="$CB" -v cd="$CD" -v ti="$TI" -v tb="$TB" -v fp="$FP" -v ft="$FT" -v fr="$FR" 'BEGIN {
    printf "bypass_throughput_ratio=%.2f (target >= 0.8)\n", (d > 0 ? b / d : 0)
    printf "bypass_conn_ratio=%.2f (target >= 0.7)\n", (cd > 0 ? cb / cd : 0)
    printf "bypass_loopback_trapped_ratio=%.2f (loopback connects: trapped, examined, handed back)\n", (ti > 0 ? tb / ti : 0)
    printf "bypass_trap_floor_ratio=%.2f (receive and continue only: the ceiling of any seccomp-notification bypass here)\n", (fp > 0 ? ft / fp : 0)
    printf "bypass_replace_floor_ratio=%.2f (receive, ADDFD a new socket, continue: the ceiling of any that replaces the socket)\n", (fp > 0 ? fr / fp : 0) }'
