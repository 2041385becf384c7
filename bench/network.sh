#!/usr/bin/env bash
# Purpose: network driver benchmark. In one run, as an unprivileged user, against Debian's Go
# rootlesskit 1.1.0 with the same helper: iperf3 from the namespace to a server on the host
# (reached at the gateway 10.0.2.2) with --net=slirp4netns at MTU 65520 and 1500 (and ours
# with --net=pasta, which Go 1.1.0 lacks, and the embedded --net=gvisor-tap-vsock against
# slirp4netns), and start-up
# time of `--net=slirp4netns --copy-up=/etc true`. Prints `metric=value unit` lines and ratios
# against the issue's targets. Timing is informational: nothing here is a pass/fail test.
#
#   sudo bench/network.sh        # after tests/integration/setup.sh; DUR=10 by default
set -euo pipefail
. "$(dirname "$0")/lib.sh"
RK=${RK:-/usr/local/libexec/rootlesskit-cpp-test/bin/rootlesskit}
GO_RK=${GO_RK:-/usr/bin/rootlesskit}
BENCH_USER=${BENCH_USER:-rk-test}
DUR=${DUR:-10}
RUNS=${RUNS:-30}

for tool in iperf3 hyperfine slirp4netns "$RK" "$GO_RK"; do
    command -v "$tool" >/dev/null || {
        echo "network.sh: $tool not found (apt-get install iperf3 hyperfine slirp4netns rootlesskit)" >&2
        exit 1
    }
done
work=$(mktemp -d /tmp/rk-bench-net.XXXXXX)
chmod 0755 "$work"
chown "$BENCH_USER" "$work"
port=$((26000 + RANDOM % 4000))
iperf3 -s -B 127.0.0.1 -p "$port" >/dev/null 2>&1 &
server=$!
cleanup() {
    kill "$server" 2>/dev/null || true
    wait 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT
as_user() { runuser -u "$BENCH_USER" -- env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/tmp TMPDIR="$work" "$@"; }
sleep 0.3

# name rootlesskit mtu [net] -> Gbps of one iperf3 run from the namespace to the host (at the
# gateway: 10.0.2.2, or 10.0.2.1 for gvisor-tap-vsock)
child_to_host() {
    local gw=10.0.2.2
    [ "${4:-}" = gvisor-tap-vsock ] && gw=10.0.2.1
    as_user "$2" --net="${4:-slirp4netns}" --mtu="$3" --copy-up=/etc \
        iperf3 -c "$gw" -p "$port" -t "$DUR" -J 2>/dev/null |
        iperf3_gbps
}


# Alternate ours and Go, ROUNDS times, and compare medians: this machine's throughput drifts
# by tens of percent from one run to the next.
ROUNDS=${ROUNDS:-3}
# The embedded network (libslirp in rootlesskit-netd) runs in the same rounds and is compared
# with slirp4netns (ours; the same libslirp behind a helper binary).
embedded=false
[ -x "$(dirname "$RK")/../libexec/rootlesskit/rootlesskit-netd" ] && embedded=true
for mtu in 65520 1500; do
    os="" gs="" es=""
    for _ in $(seq "$ROUNDS"); do
        os="$os $(child_to_host ours "$RK" "$mtu")"
        gs="$gs $(child_to_host go "$GO_RK" "$mtu")"
        if $embedded; then es="$es $(child_to_host ours "$RK" "$mtu" gvisor-tap-vsock)"; fi
    done
    o=$(echo "$os" | median)
    g=$(echo "$gs" | median)
    echo "slirp4netns_mtu${mtu}_ours=$o Gbps (runs:$os)"
    echo "slirp4netns_mtu${mtu}_go=$g Gbps (runs:$gs)"
    awk -v o="$o" -v g="$g" -v m="$mtu" 'BEGIN {printf "ratio_slirp4netns_mtu%s=%.2f (target >= 0.95)\n", m, o / g}'
    if $embedded; then
        e=$(echo "$es" | median)
        echo "embedded_mtu${mtu}=$e Gbps (runs:$es)"
        awk -v e="$e" -v o="$o" -v m="$mtu" 'BEGIN {printf "ratio_embedded_vs_slirp4netns_mtu%s=%.2f (target >= 1.00)\n", m, e / o}'
    fi
done

# pasta: Go 1.1.0 has no pasta driver; ours against our slirp4netns in the same run.
if command -v pasta >/dev/null; then
    ps=""
    for _ in $(seq "$ROUNDS"); do ps="$ps $(child_to_host ours "$RK" 65520 pasta)"; done
    echo "pasta_mtu65520_ours=$(echo "$ps" | median) Gbps (runs:$ps)"
fi

as_user hyperfine -N --warmup 5 --runs "$RUNS" --export-csv "$work/startup.csv" \
    "$RK --net=slirp4netns --copy-up=/etc --disable-host-loopback true" \
    "$GO_RK --net=slirp4netns --copy-up=/etc --disable-host-loopback true" >/dev/null 2>"$work/hf.log" ||
    { cat "$work/hf.log" >&2; exit 1; }
ours=$(grep -F "$RK " "$work/startup.csv" | cut -d, -f4)
go=$(grep -F "$GO_RK " "$work/startup.csv" | cut -d, -f4)
awk -v o="$ours" -v g="$go" 'BEGIN {
    printf "startup_slirp4netns_ours=%.1f ms\nstartup_slirp4netns_go=%.1f ms\n", o * 1000, g * 1000
    printf "ratio_startup_slirp4netns=%.2f (target <= 0.50)\n", o / g
}'
