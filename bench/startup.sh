#!/usr/bin/env bash
# Purpose: start-up benchmark. In one run, as an unprivileged user, times our `rootlesskit true`,
# Debian's Go `rootlesskit true` (package rootlesskit 1.1.0, the baseline) and
# `unshare --user --map-root-user true` (the floor), and prints medians and ratios.
#
#   sudo bench/startup.sh            # after tests/integration/setup.sh (or README command 2)
#   RK=/path/to/rootlesskit RUNS=500 sudo -E bench/startup.sh
#
# Output: `metric=value unit` lines, like ../shared/bench/rootless-bench.sh.
set -euo pipefail
RK=${RK:-/usr/local/libexec/rootlesskit-cpp-test/bin/rootlesskit}
GO_RK=${GO_RK:-/usr/bin/rootlesskit}
BENCH_USER=${BENCH_USER:-rk-test}
RUNS=${RUNS:-300}
ROUNDS=${ROUNDS:-3}

for tool in hyperfine "$RK" "$GO_RK"; do
    command -v "$tool" >/dev/null || { echo "startup.sh: $tool not found (apt-get install hyperfine rootlesskit)" >&2; exit 1; }
done
work=$(mktemp -d /tmp/rk-bench.XXXXXX)
trap 'rm -rf "$work"' EXIT
chmod 0755 "$work"
chown "$BENCH_USER" "$work"

as_user() { runuser -u "$BENCH_USER" -- env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/tmp TMPDIR="$work" "$@"; }

# The machine is noisy: several rounds, each timing the three commands back to back, and the
# median of the per-round medians.
for r in $(seq "$ROUNDS"); do
    as_user hyperfine -N --warmup 20 --runs "$RUNS" --export-csv "$work/round$r.csv" \
        "$RK true" "$GO_RK true" "unshare --user --map-root-user true" >/dev/null 2>>"$work/hyperfine.log" ||
        { cat "$work/hyperfine.log" >&2; exit 1; }
done
cat "$work"/round*.csv >"$work/all.csv"
median_of() { # $1 = command; prints the median (ms) over rounds
    grep -F "$1," "$work/all.csv" | cut -d, -f4 | sort -g |
        awk '{v[NR]=$1} END {printf "%.3f", (NR%2 ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2) * 1000}'
}
ours=$(median_of "$RK true")
go=$(median_of "$GO_RK true")
floor=$(median_of "unshare --user --map-root-user true")
echo "startup_ours=$ours ms"
echo "startup_go=$go ms"
echo "startup_unshare=$floor ms"
awk -v o="$ours" -v g="$go" -v f="$floor" 'BEGIN {
    printf "ratio_ours_vs_go=%.3f (target <= 0.200)\n", o / g
    printf "ratio_ours_vs_unshare=%.2f\n", o / f
}'
