#!/usr/bin/env bash
# Purpose: the socket bypass's benchmark (--socket-bypass). In one run, as root (it makes a
# network namespace with a veth pair to this host: 198.19.0.1 here, 198.19.0.2 there, with
# iperf3 and a connection-rate server in it), the unprivileged user measures, for each path
# out of a namespace - directly on the host (no namespace), our rootlesskit with
# --socket-bypass (over slirp4netns), and for comparison through slirp4netns, pasta and the
# embedded network (gvisor-tap-vsock), each with rootlesskit's defaults but --mtu=65520 -
#   - iperf3 to 198.19.0.2 (Gbps);
#   - new connections per second (bench/conn-rate.c), with 1 client thread and with 4 at once;
# and, to show what the seccomp notification itself costs here:
#   - connections/s to a server on the namespace's loopback with and without the flag (every
#     such connect() is trapped, looked at and handed back to the kernel);
#   - AF_UNIX connects in the namespace: without the flag, with it and an address length the
#     filter lets through (most: a path's or name's length), and with it and a length it traps
#     (28, as an IPv6 address's: the connect is looked at and handed back);
#   - bench/trap-floor.c: a supervisor that only receives and continues, one that also puts a
#     new socket in place of the caller's (ADDFD), each plain and with synchronous wake-ups
#     (Linux 6.6) - the ceilings of any bypass built on seccomp user notification, and of any
#     that replaces the caller's socket, on this machine.
# Prints `metric=value unit` lines, then the ratios against issue 27's targets. Informational:
# nothing here is a test.
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
for tool in iperf3 ip pasta slirp4netns "$RK"; do
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
cc -O2 -pthread -o "$work/conn-rate" "$(dirname "$0")/conn-rate.c"
cc -O2 -pthread -o "$work/trap-floor" "$(dirname "$0")/trap-floor.c"
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
rkit() { as_user "$RK" --copy-up=/etc --mtu=65520 "$@"; }
gbps() { { "$@" iperf3 -c 198.19.0.2 -p 5201 -t "$DUR" -J 2>/dev/null || true; } | iperf3_gbps; }
rate() { local threads=$1; shift; "$@" "$work/conn-rate" run 198.19.0.2 5202 "$DUR" "$threads" 2>/dev/null || echo 0; }

embedded=false
[ -x "$(dirname "$RK")/../libexec/rootlesskit/rootlesskit-netd" ] && embedded=true
# The paths out of a namespace: name, then the command prefix (empty: directly on the host).
paths=(direct bypass slirp4netns pasta)
$embedded && paths+=(embedded)
prefix() {
    case $1 in
    direct) echo as_user ;;
    bypass) echo rkit --net=slirp4netns --socket-bypass ;;
    slirp4netns) echo rkit --net=slirp4netns ;;
    pasta) echo rkit --net=pasta ;;
    embedded) echo rkit --net=gvisor-tap-vsock ;;
    esac
}
# connections/s to a server on loopback inside the namespace, with the given flags
rate_inside() {
    rkit --net=slirp4netns "$@" sh -c "$work/conn-rate serve 5300 & sleep 0.3; $work/conn-rate run 127.0.0.1 5300 $DUR; kill \$!" 2>/dev/null || echo 0
}
# AF_UNIX connects/s inside the namespace to an abstract socket whose name is given first (its
# length decides whether connect() is trapped), then flags
unix_inside() {
    local name=$1
    shift
    rkit --net=slirp4netns "$@" sh -c "$work/conn-rate serve-unix $name & sleep 0.3; $work/conn-rate run-unix $name $DUR; kill \$!" 2>/dev/null || echo 0
}
UNTRAPPED=rk-bench-bypass-unix-untrapped-name # 35 bytes: address length 38
TRAPPED=rk-bench-bypass-unix-0028             # 25 bytes: address length 28, as sockaddr_in6's
declare -A G C1 C4
for p in "${paths[@]}"; do G[$p]="" C1[$p]="" C4[$p]=""; done
ti="" tb="" ui="" ue="" us="" fp="" ft="" fr="" fts="" frs="" f4p="" f4r="" f4rs=""
for _ in $(seq "$ROUNDS"); do
    for p in "${paths[@]}"; do
        # shellcheck disable=SC2046 # the prefix is words
        G[$p]+=" $(gbps $(prefix "$p"))"
        # shellcheck disable=SC2046
        C1[$p]+=" $(rate 1 $(prefix "$p"))"
        # shellcheck disable=SC2046
        C4[$p]+=" $(rate 4 $(prefix "$p"))"
    done
    ti+=" $(rate_inside)"
    tb+=" $(rate_inside --socket-bypass)"
    ui+=" $(unix_inside $UNTRAPPED)"
    ue+=" $(unix_inside $UNTRAPPED --socket-bypass)"
    us+=" $(unix_inside $TRAPPED --socket-bypass)"
    read -r a b c d e < <(as_user "$work/trap-floor" "$DUR" || echo "0 0 0 0 0")
    fp+=" $a" ft+=" $b" fr+=" $c" fts+=" $d" frs+=" $e"
    read -r a b c d e < <(as_user "$work/trap-floor" "$DUR" 4 || echo "0 0 0 0 0")
    f4p+=" $a" f4r+=" $c" f4rs+=" $e"
done
for p in "${paths[@]}"; do
    echo "bypass_iperf3_$p=$(echo ${G[$p]} | median) Gbps"
done
for p in "${paths[@]}"; do
    echo "bypass_conn_$p=$(echo ${C1[$p]} | median) conn/s"
    echo "bypass_conn4_$p=$(echo ${C4[$p]} | median) conn/s (4 client threads)"
done
TI=$(echo $ti | median) TB=$(echo $tb | median)
UI=$(echo $ui | median) UE=$(echo $ue | median) US=$(echo $us | median)
FP=$(echo $fp | median) FT=$(echo $ft | median) FR=$(echo $fr | median)
FTS=$(echo $fts | median) FRS=$(echo $frs | median)
F4P=$(echo $f4p | median) F4R=$(echo $f4r | median) F4RS=$(echo $f4rs | median)
echo "bypass_conn_loopback_plain=$TI conn/s"
echo "bypass_conn_loopback_trapped=$TB conn/s"
echo "bypass_unix_plain=$UI conn/s (AF_UNIX, no --socket-bypass)"
echo "bypass_unix_untrapped=$UE conn/s (AF_UNIX, --socket-bypass, an address length never trapped)"
echo "bypass_unix_trapped=$US conn/s (AF_UNIX, --socket-bypass, address length 28: trapped)"
echo "bypass_trap_floor_plain=$FP conn/s"
echo "bypass_trap_floor_trapped=$FT conn/s"
echo "bypass_trap_floor_replaced=$FR conn/s"
echo "bypass_trap_floor_trapped_sync=$FTS conn/s (0: no SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP)"
echo "bypass_trap_floor_replaced_sync=$FRS conn/s"
echo "bypass_trap_floor4_plain=$F4P conn/s (4 client threads)"
echo "bypass_trap_floor4_replaced=$F4R conn/s (4 client threads, 4 supervisor threads)"
echo "bypass_trap_floor4_replaced_sync=$F4RS conn/s"
m() { echo ${1} | median; }
awk -v gd="$(m "${G[direct]}")" -v gb="$(m "${G[bypass]}")" \
    -v cd="$(m "${C1[direct]}")" -v cb="$(m "${C1[bypass]}")" -v cs="$(m "${C1[slirp4netns]}")" \
    -v cp="$(m "${C1[pasta]}")" -v c4d="$(m "${C4[direct]}")" -v c4b="$(m "${C4[bypass]}")" \
    -v ti="$TI" -v tb="$TB" -v ui="$UI" -v ue="$UE" -v us="$US" \
    -v fp="$FP" -v ft="$FT" -v fr="$FR" -v fts="$FTS" -v frs="$FRS" \
    -v f4p="$F4P" -v f4r="$F4R" -v f4rs="$F4RS" 'BEGIN {
    tfl = (fp > 0 ? ft / fp : 0); if (fp > 0 && fts / fp > tfl) tfl = fts / fp
    rfl = (fp > 0 ? fr / fp : 0); if (fp > 0 && frs / fp > rfl) rfl = frs / fp
    conn = (cd > 0 ? cb / cd : 0)
    printf "bypass_throughput_ratio=%.2f (bypass / direct; target >= 0.95)\n", (gd > 0 ? gb / gd : 0)
    printf "bypass_conn_ratio=%.2f (bypass / direct, 1 client thread)\n", conn
    printf "bypass_trap_floor_ratio=%.2f (receive and continue only, the better of plain and sync: the ceiling of any seccomp-notification bypass here)\n", tfl
    printf "bypass_replace_floor_ratio=%.2f (receive, ADDFD a new socket, continue, the better of plain and sync: the ceiling of any that replaces the socket)\n", rfl
    printf "bypass_vs_replace_ceiling=%.2f (bypass_conn_ratio / bypass_replace_floor_ratio; target >= 0.9)\n", (rfl > 0 ? conn / rfl : 0)
    printf "bypass_vs_pasta=%.2f (connections/s, 1 thread; target >= 1.3)\n", (cp > 0 ? cb / cp : 0)
    printf "bypass_vs_slirp4netns=%.2f (connections/s, 1 thread; target >= 3.5)\n", (cs > 0 ? cb / cs : 0)
    r4 = (f4p > 0 ? f4r / f4p : 0); if (f4p > 0 && f4rs / f4p > r4) r4 = f4rs / f4p
    printf "bypass_conn4_ratio=%.2f (bypass / direct, 4 client threads; target >= 0.5)\n", (c4d > 0 ? c4b / c4d : 0)
    printf "bypass_replace_floor4_ratio=%.2f (the replace-the-socket ceiling with 4 client threads, the better of plain and sync)\n", r4
    printf "bypass4_vs_replace_ceiling=%.2f (bypass_conn4_ratio / bypass_replace_floor4_ratio)\n", (r4 > 0 && c4d > 0 ? (c4b / c4d) / r4 : 0)
    printf "bypass_loopback_trapped_ratio=%.2f (loopback connects: trapped, looked at, handed back)\n", (ti > 0 ? tb / ti : 0)
    printf "bypass_unix_untrapped_ratio=%.2f (AF_UNIX connects with the flag, usual address length)\n", (ui > 0 ? ue / ui : 0)
    printf "bypass_unix_trapped_ratio=%.2f (AF_UNIX connects with the flag, trapped address length)\n", (ui > 0 ? us / ui : 0) }'
