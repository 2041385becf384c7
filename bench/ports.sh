#!/usr/bin/env bash
# Purpose: port forwarding benchmark. In one run, as an unprivileged user, measures our builtin
# port driver (--net=none) against Debian's Go rootlesskit 1.1.0 (--net=slirp4netns, the same
# builtin port driver): iperf3 throughput through a forwarded port, wrk requests/s to nginx
# inside with keep-alive and with a new connection per request (plus p99 latency), and the
# parent's peak RSS (VmHWM). Prints `metric=value unit` lines and the ratios against the issue's
# targets. Ours and Go alternate for ROUNDS rounds (default 3) and the ratios are of the
# medians. Each round also measures bench/splice-proxy.c, the simplest splice forwarder, as the
# throughput ceiling. iperf3 runs leave the first second (TCP slow start) out of the result
# (-O 1). With RK_DEB_DIR=BUILD_DIR (our .deb) it ends with bench/pasta-ports.sh: pasta's
# implicit and pesto port drivers beside builtin, with today's pasta. Timing is informational:
# nothing here is a pass/fail test.
#
#   sudo bench/ports.sh        # after tests/integration/setup.sh; DUR=10 ROUNDS=3 by default
set -euo pipefail
. "$(dirname "$0")/lib.sh"
RK=${RK:-/usr/local/libexec/rootlesskit-cpp-test/bin/rootlesskit}
GO_RK=${GO_RK:-/usr/bin/rootlesskit}
BENCH_USER=${BENCH_USER:-rk-test}
DUR=${DUR:-10}
CONNS=${CONNS:-50}

for tool in iperf3 wrk nginx slirp4netns "$RK" "$GO_RK"; do
    command -v "$tool" >/dev/null || {
        echo "ports.sh: $tool not found (apt-get install iperf3 wrk nginx-light slirp4netns rootlesskit)" >&2
        exit 1
    }
done
work=$(mktemp -d /tmp/rk-bench-ports.XXXXXX)
chmod 0755 "$work"
chown "$BENCH_USER" "$work"
started=()
cleanup() {
    for p in "${started[@]}"; do pkill -TERM -P "$p" 2>/dev/null || true; kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT
as_user() { runuser -u "$BENCH_USER" -- env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/tmp TMPDIR="$work" "$@"; }

nginx_conf() { # dir port
    mkdir -p "$1/www" "$1/tmp"
    echo hello >"$1/www/index.html"
    cat >"$1/nginx.conf" <<CONF
worker_processes 1;
master_process off;
daemon off;
pid $1/nginx.pid;
error_log $1/error.log warn;
events { worker_connections 4096; }
http {
    access_log off;
    client_body_temp_path $1/tmp/cb; proxy_temp_path $1/tmp/px; fastcgi_temp_path $1/tmp/fc;
    uwsgi_temp_path $1/tmp/uw; scgi_temp_path $1/tmp/sc;
    keepalive_requests 1000000;
    server { listen $2 backlog=4096; root $1/www; }
}
CONF
    chown -R "$BENCH_USER" "$1"
}

# wrk output -> "rps p99_ms errors"
parse_wrk() {
    awk '/Requests\/sec/ {rps=$2}
         /^ +99%/ {v=$2; if (v ~ /us$/) {sub(/us/,"",v); v/=1000} else if (v ~ /ms$/) {sub(/ms/,"",v)} else if (v ~ /s$/) {sub(/s/,"",v); v*=1000}; p99=v}
         /Socket errors|Non-2xx/ {for (i=1;i<=NF;i++) if ($i ~ /^[0-9]+,?$/) {gsub(",","",$i); err+=$i}}
         END {printf "%s %s %d\n", rps, p99, err}' "$1"
}

# One round for one rootlesskit: appends "gbps keepalive_rps close_rps close_p99 rss" to
# $work/<name>.results.   name rootlesskit net-flags...
run_round() {
    local name=$1 rk=$2
    shift 2
    local base=$((21000 + RANDOM % 5000)) sd="$work/$name.sd" nd="$work/$name.nginx"
    rm -rf "$sd"
    nginx_conf "$nd" 8080
    as_user "$rk" --state-dir="$sd" "$@" --port-driver=builtin \
        -p "127.0.0.1:$base:5201/tcp" -p "127.0.0.1:$((base + 1)):8080/tcp" \
        sh -c "iperf3 -s >/dev/null 2>&1 & exec nginx -p $nd -c $nd/nginx.conf" >"$work/$name.log" 2>&1 &
    started+=($!)
    for _ in $(seq 100); do [ -e "$sd/api.sock" ] && break; sleep 0.1; done
    for _ in $(seq 50); do curl -s -o /dev/null "http://127.0.0.1:$((base + 1))/" && break; sleep 0.2; done
    sleep 0.5
    local parent gbps rss line
    parent=$(pgrep -o -f "^$rk --state-dir=$sd")
    gbps=$(iperf3 -c 127.0.0.1 -p "$base" -t "$DUR" -O 1 -J | iperf3_gbps)
    echo "port_${name}_iperf3=$gbps Gbps"
    line=$gbps
    for mode in keepalive close; do
        local hdr=()
        [ $mode = close ] && hdr=(-H "Connection: close")
        wrk -t 1 -c "$CONNS" -d "${DUR}s" --latency "${hdr[@]}" "http://127.0.0.1:$((base + 1))/" >"$work/$name.$mode.wrk" 2>&1 || true
        read -r rps p99 err < <(parse_wrk "$work/$name.$mode.wrk")
        echo "port_${name}_wrk_${mode}=$rps req/s p99=$p99 ms errors=$err"
        line="$line $rps"
        [ $mode = close ] && line="$line $p99"
    done
    rss=$(awk '/VmHWM/ {printf "%.1f", $2/1024}' "/proc/$parent/status")
    echo "port_${name}_parent_peak_rss=$rss MiB"
    echo "$line $rss" >>"$work/$name.results"
    kill "$parent"
    sleep 0.5
}
# The ceiling: bench/splice-proxy.c (two blocking splice threads per connection) between two
# host loopback sockets, with iperf3 on the host. Appends its Gbps to $work/ref.results.
run_reference() {
    local base=$((26000 + RANDOM % 3000)) gbps server proxy
    as_user iperf3 -s -p "$((base + 1))" >/dev/null 2>&1 &
    server=$!
    as_user "$work/splice-proxy" "$base" "$((base + 1))" 2>"$work/splice-proxy.err" &
    proxy=$!
    started+=("$server" "$proxy")
    sleep 0.5
    gbps=$(iperf3 -c 127.0.0.1 -p "$base" -t "$DUR" -O 1 -J | iperf3_gbps)
    echo "port_splice_proxy_iperf3=$gbps Gbps"
    echo "$gbps" >>"$work/ref.results"
    pkill -u "$BENCH_USER" -f "^$work/splice-proxy" || true
    pkill -u "$BENCH_USER" -f "^iperf3 -s -p $((base + 1))" || true
    wait "$server" "$proxy" 2>/dev/null || true
    sleep 0.5
}
have_ref=false
cc -O2 -pthread -o "$work/splice-proxy" "$(dirname "$0")/splice-proxy.c" && have_ref=true

# column N of a results file -> its median over the rounds
col_median() { awk -v c="$2" '{print $c}' "$work/$1.results" | median; }

# Ours and Go alternate, ROUNDS times: each ratio is of the medians, so one noisy round on this
# shared 2-core box does not decide it.
# --pidns: the background iperf3 dies with the namespace (no leftovers)
run_ours() { run_round ours "$RK" --net=none --pidns; }
run_go() { run_round go "$GO_RK" --net=slirp4netns --copy-up=/etc --disable-host-loopback --pidns; }
# Ours used to go first in every round, and its round-1 throughput was its lowest in three runs
# out of three: ours and Go take turns going first, so neither always carries a cold start.
for round in $(seq "${ROUNDS:-3}"); do
    echo "-- round $round"
    if [ $((round % 2)) = 1 ]; then run_ours; run_go; else run_go; run_ours; fi
    if $have_ref; then run_reference; fi
done
# name -> the medians of its five columns (iperf3 keepalive close close_p99 rss); reported on
# stderr, since the caller reads stdout
medians() {
    local c m=()
    for c in 1 2 3 4 5; do m+=("$(col_median "$1" "$c")"); done
    echo "port_$1_median: iperf3=${m[0]} Gbps keepalive=${m[1]} req/s close=${m[2]} req/s close_p99=${m[3]} ms rss=${m[4]} MiB" >&2
    echo "${m[*]}"
}
read -r og ok oc op orss < <(medians ours)
read -r gg gk gc gp grss < <(medians go)
awk -v og="$og" -v gg="$gg" -v ok="$ok" -v gk="$gk" -v oc="$oc" -v gc="$gc" -v op="$op" -v gp="$gp" \
    -v orss="$orss" -v grss="$grss" 'BEGIN {
    printf "ratio_throughput=%.2f (target >= 1.20)\n", og / gg
    printf "ratio_new_connection_rps=%.2f (target >= 1.50)\n", oc / gc
    printf "ratio_new_connection_p99=%.2f (target <= 0.60)\n", op / gp
    printf "ratio_keepalive_rps=%.2f (target >= 1.15)\n", ok / gk
    printf "ratio_peak_rss=%.2f (target <= 0.33)\n", orss / grss
}'
if $have_ref; then
    ref=$(median <"$work/ref.results")
    echo "port_splice_proxy_median: iperf3=$ref Gbps"
    awk -v o="$og" -v g="$gg" -v r="$ref" 'BEGIN {
        printf "ratio_throughput_vs_splice_proxy: ours=%.2f go=%.2f (informational: the ceiling is 1)\n", o / r, g / r
    }'
fi

# The embedded network (--net=gvisor-tap-vsock): iperf3 through its own port driver (libslirp's
# hostfwd in rootlesskit-netd) against the builtin driver on the same network, alternating.
# name port-driver -> Gbps
embedded_port() {
    local sd="$work/emb-$1.sd" base=$((26000 + RANDOM % 3000))
    rm -rf "$sd"
    as_user "$RK" --state-dir="$sd" --net=gvisor-tap-vsock --disable-host-loopback --pidns \
        --port-driver="$2" -p "127.0.0.1:$base:5201/tcp" iperf3 -s >/dev/null 2>&1 &
    started+=($!)
    for _ in $(seq 100); do [ -e "$sd/api.sock" ] && break; sleep 0.1; done
    sleep 0.5
    iperf3 -c 127.0.0.1 -p "$base" -t "$DUR" -O 1 -J 2>/dev/null |
        iperf3_gbps
    kill "$(pgrep -o -f "^$RK --state-dir=$sd")" 2>/dev/null || true
    sleep 0.5
}
if [ -x "$(dirname "$RK")/../libexec/rootlesskit/rootlesskit-netd" ]; then
    es="" bs=""
    for _ in $(seq "${ROUNDS:-3}"); do
        es="$es $(embedded_port gvtv gvisor-tap-vsock)"
        bs="$bs $(embedded_port builtin builtin)"
    done
    e=$(echo "$es" | median)
    b=$(echo "$bs" | median)
    echo "port_embedded_gvisor_tap_vsock_iperf3=$e Gbps (runs:$es)"
    echo "port_embedded_builtin_iperf3=$b Gbps (runs:$bs)"
    awk -v e="$e" -v b="$b" 'BEGIN {printf "ratio_embedded_port_driver_vs_builtin=%.2f (informational)\n", e / b}'
fi

# pasta's own forwards (--port-driver=implicit and pesto) beside the builtin driver, in one
# run, with today's pasta in the lane's root filesystem (needs our .deb: RK_DEB_DIR=BUILD_DIR).
if [ -n "${RK_DEB_DIR:-}" ]; then
    DUR=${DUR} bash "$(dirname "$0")/pasta-ports.sh" "$RK_DEB_DIR" ||
        echo "pasta port benchmark failed (informational)"
fi
