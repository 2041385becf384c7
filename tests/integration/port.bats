#!/usr/bin/env bats
# Purpose: the builtin port driver with a real server inside --net=none (or the network in
# $RK_PORT_NET, e.g. slirp4netns: ctest runs this file once per network) and real clients on the
# host: upstream's integration-port.sh family cases, removal, conflicts, privileged ports, and
# 1000 concurrent connections without an fd leak.
load helpers

# The network under test, with the flags that keep it quiet.
NET_FLAGS="--net=${RK_PORT_NET:-none}"
[ "${RK_PORT_NET:-none}" = none ] || NET_FLAGS="$NET_FLAGS --disable-host-loopback --copy-up=/etc"

CTL=$RK_TEST_PREFIX/bin/rootlessctl

# Starts rootlesskit with the builtin driver running $server inside (default: two busybox
# httpd, on 0.0.0.0:80 and [::1]... busybox httpd listens dual-stack on :80). With HTTPD_LOG
# set, httpd logs each request's client address to $T/rk.err.
start_rk() {
    echo "rk-port-test" >"$T/index.html"
    chmod 644 "$T/index.html"
    rk --state-dir="$T/sd" $NET_FLAGS --port-driver=builtin "$@" \
        busybox httpd -f ${HTTPD_LOG:+-vv} -p 80 -h "$T" >/dev/null 2>"$T/rk.err" &
    wait_for_file "$T/sd/api.sock"
    PARENT=$(pgrep -o -f "^$RK --state-dir=$T/sd")
    wait_listen 80 t "$(cat "$T/sd/child_pid")"
}
stop_rk() {
    kill "$PARENT" 2>/dev/null || true
    wait || true
}
ctl() { as_user "$CTL" --socket "$T/sd/api.sock" "$@"; }
get() { curl -sS -m 3 -g "http://$1/index.html"; }

@test "-p at start-up: reachable on 127.0.0.1, and listed" {
    start_rk -p 127.0.0.1:18180:80/tcp
    run get 127.0.0.1:18180
    assert_output rk-port-test
    run ctl list-ports
    assert_line --regexp '^1 +tcp +127\.0\.0\.1 +18180 +80 +$'
    stop_rk
}

@test "tcp on 0.0.0.0 listens dual-stack; tcp4 only v4; tcp6 only v6" {
    start_rk
    run ctl add-ports 0.0.0.0:18181:80/tcp
    assert_success
    run get 127.0.0.1:18181
    assert_output rk-port-test
    run get '[::1]:18181'
    assert_output rk-port-test
    run ctl add-ports 0.0.0.0:18182:80/tcp4
    run get 127.0.0.1:18182
    assert_output rk-port-test
    run get '[::1]:18182'
    assert_failure
    run ctl add-ports '[::]:18183:80/tcp6'
    run get '[::1]:18183'
    assert_output rk-port-test
    run get 127.0.0.1:18183
    assert_failure
    stop_rk
}

@test "v6 -> v6, v6 -> v4 and v4 -> v6 child addresses" {
    start_rk
    run ctl add-ports '[::]:18184:[::1]:80/tcp6' '[::]:18185:[::1]:80/tcp' \
        '[::]:18186:[127.0.0.1]:80/tcp6' '0.0.0.0:18187:[::1]:80/tcp4' '0.0.0.0:18188:[::1]:80/tcp'
    assert_success
    for p in 18184 18185 18186; do
        run get "[::1]:$p"
        assert_output rk-port-test
    done
    for p in 18187 18188; do
        run get "127.0.0.1:$p"
        assert_output rk-port-test
    done
    stop_rk
}

@test "IPv4-mapped addresses (as Docker >= 28 sends them) are IPv4, as in Go" {
    start_rk
    # Docker's own request: JSON straight to the API, both addresses in the mapped form
    run curl -sS --unix-socket "$T/sd/api.sock" -X POST -H 'Content-Type: application/json' \
        -d '{"proto":"tcp4","parentIP":"::ffff:127.0.0.1","parentPort":19341,"childIP":"::ffff:127.0.0.1","childPort":80}' \
        http://rootlesskit/v1/ports
    assert_output --regexp '"id": ?[0-9]+'
    run get 127.0.0.1:19341
    assert_output rk-port-test
    # the hex spelling, and a mapped wildcard: IPv4 sockets (tcp4 on a v6 address would fail)
    run ctl add-ports '[::ffff:7f00:1]:19342:80/tcp4'
    assert_success
    run get 127.0.0.1:19342
    assert_output rk-port-test
    run ctl add-ports '[::ffff:0.0.0.0]:19343:80/tcp'
    assert_success
    run get 127.0.0.1:19343
    assert_output rk-port-test
    # tcp6 wants an IPv6 address: a mapped one is IPv4 to Go too
    run ctl add-ports '[::ffff:127.0.0.1]:19344:80/tcp6'
    assert_failure
    assert_output --partial 'no suitable address'
    # listed as submitted
    run ctl list-ports
    assert_line --regexp '^1 +tcp4 +::ffff:127\.0\.0\.1 +19341 +::ffff:127\.0\.0\.1 +80 +$'
    run ss -Htln sport = 19341
    assert_output --partial '127.0.0.1:19341'
    stop_rk
}

@test "tcp4 and tcp6 on the same port coexist; same proto+IP+port conflicts" {
    start_rk
    run ctl add-ports 0.0.0.0:18189:80/tcp4 '[::]:18189:80/tcp6'
    assert_success
    run get 127.0.0.1:18189
    assert_output rk-port-test
    run get '[::1]:18189'
    assert_output rk-port-test
    run ctl add-ports 0.0.0.0:18189:81/tcp4
    assert_failure 1
    assert_output 'error: conflict with ID 1'
    stop_rk
}

# The first address of this host of family $1 (4 or 6) that is neither loopback nor link-local.
host_addr() { hostname -I | tr ' ' '\n' | grep -m1 "$([ "$1" = 4 ] && echo '\.' || echo ':')"; }

@test "source IP: the server inside sees the client's non-loopback address (v4, v6)" {
    local a4 a6
    a4=$(host_addr 4) || skip_env "this host has no non-loopback IPv4 address"
    HTTPD_LOG=1 start_rk -p 0.0.0.0:18189:80/tcp
    run get "$a4:18189"
    assert_output rk-port-test
    # busybox httpd listens on :: and logs v4 clients v4-mapped
    assert grep -F "[::ffff:$a4]:" "$T/rk.err"
    # loopback clients stay loopback (nothing to preserve)
    run get 127.0.0.1:18189
    assert_output rk-port-test
    assert grep -F "[::ffff:127.0.0.1]:" "$T/rk.err"
    if a6=$(host_addr 6); then
        ctl add-ports "[::]:18190:[::1]:80/tcp6"
        run get "[$a6]:18190"
        assert_output rk-port-test
        assert grep -F "[$a6]:" "$T/rk.err"
    else
        echo "# the IPv6 half did not run: this host has no non-loopback IPv6 address" >&3
    fi
    refute grep -F "source IP transparency is off" "$T/rk.err"
    stop_rk
}

@test "source IP: a connect from the client's address that fails falls back to a plain one" {
    local a4
    a4=$(host_addr 4) || skip_env "this host has no non-loopback IPv4 address"
    echo "rk-port-test" >"$T/index.html"
    chmod 644 "$T/index.html"
    # Inside, the client's port is taken on every address, so binding the client's a4:port
    # fails. Ports below the ephemeral range, a few of them: one may still be in TIME_WAIT on
    # the host from an earlier run.
    local base=$((10000 + RANDOM % 5000)) cport
    rk --state-dir="$T/sd" $NET_FLAGS --port-driver=builtin --pidns -p 0.0.0.0:18189:80/tcp \
        sh -c "for p in $base $((base + 1)) $((base + 2)); do busybox nc -l -p \$p & done; exec busybox httpd -f -vv -p 80 -h $T" \
        >/dev/null 2>"$T/rk.err" &
    wait_for_file "$T/sd/api.sock"
    wait_listen 80 t "$(cat "$T/sd/child_pid")"
    for cport in $base $((base + 1)) $((base + 2)); do
        run curl -sS -m 3 --local-port "$cport" "http://$a4:18189/index.html"
        [[ "$output" == *"bind failed"* ]] || break
    done
    assert_output rk-port-test
    assert grep -F "[::ffff:127.0.0.1]:" "$T/rk.err"
    # a client on another port still gets through with its own address
    run get "$a4:18189"
    assert_output rk-port-test
    assert grep -F "[::ffff:$a4]:" "$T/rk.err"
    kill "$(pgrep -o -f "^$RK --state-dir=$T/sd")"
    wait || true
}

@test "--source-ip-transparent=false: the server inside sees loopback" {
    local a4
    a4=$(host_addr 4) || skip_env "this host has no non-loopback IPv4 address"
    HTTPD_LOG=1 start_rk --source-ip-transparent=false -p 0.0.0.0:18189:80/tcp
    run get "$a4:18189"
    assert_output rk-port-test
    assert grep -F "[::ffff:127.0.0.1]:" "$T/rk.err"
    refute grep -F "$a4" "$T/rk.err"
    stop_rk
}

@test "removing a port closes its listener and its live connections" {
    start_rk
    ctl add-ports 127.0.0.1:18190:80/tcp
    # a live connection: busybox httpd keeps it open while we send nothing
    exec 5<>/dev/tcp/127.0.0.1/18190
    wait_established_to "$(cat "$T/sd/child_pid")" 80
    run ctl remove-ports 1
    assert_output 1
    # the live connection is closed: reading gives EOF at once
    run timeout 3 cat <&5
    assert_success
    exec 5<&-
    run get 127.0.0.1:18190
    assert_failure
    run ctl list-ports
    assert_output --regexp '^ID +PROTO'
    stop_rk
}

@test "a privileged port fails with the actionable message; start-up failure leaves nothing" {
    [ "$(cat /proc/sys/net/ipv4/ip_unprivileged_port_start)" -gt 80 ] || skip_env "port 80 is not privileged here (net.ipv4.ip_unprivileged_port_start <= 80)"
    run rk $NET_FLAGS --port-driver=builtin -p 127.0.0.1:80:80/tcp true
    assert_failure 1
    assert_output --partial 'failed to expose port {tcp 127.0.0.1 80 80 }: cannot expose privileged port 80'
    assert_output --partial "net.ipv4.ip_unprivileged_port_start=80\` to /etc/sysctl.d/99-rootless.conf and run \`sysctl --system\`"
    assert_no_state_dirs
    # rootless-setuptool check gives the same advice (for every port)
    run as_user "$RK_TEST_PREFIX/bin/rootless-setuptool" check
    assert_output --partial "net.ipv4.ip_unprivileged_port_start=0\` to /etc/sysctl.d/99-rootless.conf and run \`sysctl --system\`"
}

@test "a port already in use on the host fails start-up cleanly" {
    timeout 20 busybox nc -l -p 18191 >/dev/null 2>&1 &
    nc_pid=$!
    wait_listen 18191
    run rk $NET_FLAGS --port-driver=builtin -p 0.0.0.0:18191:80/tcp true
    kill "$nc_pid" 2>/dev/null || true
    assert_failure 1
    assert_output --partial 'failed to expose port {tcp 0.0.0.0 18191 80 }'
    # Go's words, lower case: Docker's ephemeral-port retry matches them
    assert_output --partial 'bind: address already in use'
    assert_no_state_dirs
    # the same through the API
    timeout 20 busybox nc -l -p 18192 >/dev/null 2>&1 &
    nc_pid=$!
    start_rk
    run curl -sS --unix-socket "$T/sd/api.sock" -X POST -H 'Content-Type: application/json' \
        -d '{"proto":"tcp","parentIP":"0.0.0.0","parentPort":18192,"childPort":80}' \
        http://rootlesskit/v1/ports
    kill "$nc_pid" 2>/dev/null || true
    assert_output --partial 'bind: address already in use'
    stop_rk
}

# Beyond upstream (which refuses ParentPort 0): the kernel picks a port that is free on the
# host, and the answer says which, so clients never race for an ephemeral port.
@test "parentPort 0: a free host port is bound, returned, listed and reachable" {
    start_rk -p 127.0.0.1:0:80/tcp
    run ctl list-ports
    assert_line --regexp '^1 +tcp +127\.0\.0\.1 +[0-9]+ +80 +$'
    local p1
    p1=$(ctl list-ports --json | jq -r '.spec.parentPort')
    [ "$p1" -gt 0 ]
    run get "127.0.0.1:$p1"
    assert_output rk-port-test
    # through the API: the answer carries the port; two requests get two ports; UDP too
    post() {
        curl -sS --unix-socket "$T/sd/api.sock" -X POST -H 'Content-Type: application/json' \
            -d "$1" http://rootlesskit/v1/ports
    }
    local a b u
    a=$(post '{"proto":"tcp","parentIP":"127.0.0.1","parentPort":0,"childPort":80}')
    b=$(post '{"proto":"tcp","parentIP":"127.0.0.1","childPort":80}')
    u=$(post '{"proto":"udp","parentIP":"127.0.0.1","parentPort":0,"childPort":80}')
    local pa pb pu
    pa=$(jq -r .spec.parentPort <<<"$a")
    pb=$(jq -r .spec.parentPort <<<"$b")
    pu=$(jq -r .spec.parentPort <<<"$u")
    [ "$pa" -gt 0 ] && [ "$pb" -gt 0 ] && [ "$pu" -gt 0 ]
    [ "$pa" != "$pb" ] && [ "$pa" != "$p1" ]
    run get "127.0.0.1:$pb"
    assert_output rk-port-test
    # the parent really listens there (TCP) and holds the UDP port
    run ss -Htln "sport = :$pa"
    assert_output --partial "127.0.0.1:$pa"
    run ss -Huln "sport = :$pu"
    assert_output --partial "127.0.0.1:$pu"
    run ctl list-ports --json
    assert_line "{\"id\":2,\"spec\":{\"proto\":\"tcp\",\"parentIP\":\"127.0.0.1\",\"parentPort\":$pa,\"childPort\":80}}"
    # a second spec naming the port now taken is a conflict, as for any port
    run ctl add-ports "127.0.0.1:$pa:80/tcp"
    assert_failure
    assert_output --partial 'conflict with ID 2'
    stop_rk
}

@test "parentPort 0 is refused where the driver cannot bind it itself" {
    run rk --net=slirp4netns --disable-host-loopback --copy-up=/etc --port-driver=slirp4netns \
        -p 127.0.0.1:0:80/tcp true
    assert_failure 1
    assert_output --partial 'invalid ParentPort: 0 (must be 1-65535)'
    assert_output --partial 'works with --port-driver=builtin only'
    assert_no_state_dirs
}

@test "the Go rootlessctl 1.1.0 adds, lists and removes ports on our api.sock" {
    [ -x /usr/bin/rootlessctl ] || skip "Debian package rootlesskit not installed"
    start_rk
    run as_user /usr/bin/rootlessctl --socket "$T/sd/api.sock" add-ports 127.0.0.1:18192:80/tcp
    assert_success
    assert_output 1
    run get 127.0.0.1:18192
    assert_output rk-port-test
    run as_user /usr/bin/rootlessctl --socket "$T/sd/api.sock" list-ports --json
    assert_output '{"id":1,"spec":{"proto":"tcp","parentIP":"127.0.0.1","parentPort":18192,"childPort":80}}'
    run as_user /usr/bin/rootlessctl --socket "$T/sd/api.sock" info
    assert_line '- Port Driver: builtin'
    run as_user /usr/bin/rootlessctl --socket "$T/sd/api.sock" remove-ports 1
    assert_output 1
    stop_rk
}

@test "3000 connections, 200 at a time, through one port: all complete, no fd leak" {
    start_rk -p 127.0.0.1:18193:80/tcp
    fds_before=$(ls /proc/"$PARENT"/fd | wc -l)
    for round in 1 2 3; do
        run bash -c "seq 1000 | xargs -P 200 -I{} curl -s -m 20 -o /dev/null -w '%{http_code}\n' http://127.0.0.1:18193/index.html | sort | uniq -c"
        assert_output --regexp '^ *1000 200$'
    done
    # (closing flows settle within moments: poll for the bound, then check it)
    for _ in $(seq 100); do
        [ "$(( $(ls /proc/"$PARENT"/fd | wc -l) - fds_before ))" -le 112 ] && break
        sleep 0.05
    done
    # 3000 connections later, the only new fds are the pool of reusable pipes (at most 16
    # pairs) and spare namespace sockets (at most 16 + 64); a leak of even one fd per
    # connection would show thousands
    fds_after=$(ls /proc/"$PARENT"/fd | wc -l)
    [ "$(( fds_after - fds_before ))" -le 112 ]
    child=$(cat "$T/sd/child_pid")
    # the child's dialer closes its copies too
    [ "$(ls /proc/"$child"/fd | wc -l)" -lt 20 ]
    # Exactly: no socket of a finished flow is left with the parent, on either side (the host
    # side, or the namespace side the child passed it). Spare sockets are unconnected and do
    # not show; listeners are excluded by the state filter.
    flow_sockets() {
        { ss -Htanp state connected; nsenter -t "$child" -n ss -Htanp state connected; } |
            grep -c "pid=$PARENT," || true
    }
    no_flow_sockets() { [ "$(flow_sockets)" = 0 ]; }
    poll_until no_flow_sockets || { echo "flow sockets left: $(flow_sockets)" >&2; false; }
    stop_rk
}

@test "a target that refuses or cannot be reached: the client is closed at once, the port stays" {
    local unreachable=()
    # with only lo inside, 10.99.0.1 has no route: the connect fails at once
    [ "${RK_PORT_NET:-none}" = none ] && unreachable=(-p 127.0.0.1:18197:10.99.0.1:80/tcp)
    # nothing listens on 82 inside
    start_rk -p 127.0.0.1:18195:82/tcp -p 127.0.0.1:18196:80/tcp "${unreachable[@]}"
    for port in 18195 ${unreachable:+18197}; do
        for _ in 1 2 3; do
            # accepted, then closed: no reply, and no wait for a timeout
            run timeout 5 curl -sS -m 4 -o /dev/null "http://127.0.0.1:$port/"
            [ "$status" -ne 124 ] && [ "$status" -ne 28 ] && [ "$status" -ne 0 ]
            assert_output --regexp 'Empty reply|reset|Recv failure'
        done
    done
    # the failures touched nothing else
    run get 127.0.0.1:18196
    assert_output rk-port-test
    stop_rk
}

@test "half-close: the server sees EOF and can still answer" {
    # inside: read everything until EOF, then reply - only possible if our client->server
    # half is shut down while the server->client half stays open
    rk --state-dir="$T/sd" $NET_FLAGS --port-driver=builtin -p 127.0.0.1:18194:81/tcp \
        busybox nc -l -p 81 -e sh -c 'n=$(wc -c); echo "got $n bytes"' >/dev/null 2>&1 &
    wait_for_file "$T/sd/api.sock"
    wait_listen 81 t "$(cat "$T/sd/child_pid")"
    run bash -c "printf 'hello world' | timeout 5 nc -N 127.0.0.1 18194"
    assert_success
    assert_output 'got 11 bytes'
    pkill -o -f "^$RK --state-dir=$T/sd" || true
    wait || true
}

@test "a flow's sockets on local links do not pace: cubic or reno even where the default is bbr" {
    start_rk
    local child
    child=$(cat "$T/sd/child_pid")
    # bbr as the namespace's default, set before the port (and its namespace sockets) exists
    nsenter -t "$child" -n sh -c 'echo bbr >/proc/sys/net/ipv4/tcp_congestion_control' ||
        skip_env "this kernel has no bbr"
    ctl add-ports 127.0.0.1:18199:80/tcp
    exec 5<>/dev/tcp/127.0.0.1/18199 # busybox httpd keeps it open while we send nothing
    wait_established_to "$child" 80
    # inside, our socket to the server; on the host, the one we accepted from a loopback client
    run nsenter -t "$child" -n ss -Htin 'dport = :80'
    assert_output --regexp '(cubic|reno)'
    refute_output --regexp '(^|[^a-z])bbr'
    run ss -Htin 'sport = :18199'
    assert_output --regexp '(cubic|reno)'
    exec 5<&-
    stop_rk
}

@test "UDP round trip through the builtin driver (v4 and v6)" {
    for spec in "127.0.0.1:18195:5353/udp 127.0.0.1 18195 -4" "[::1]:18196:[::1]:5353/udp6 ::1 18196 -6"; do
        set -- $spec
        rm -rf "$T/sd" "$T/got"
        # inside: receive one datagram, then (once it is in the file) answer the sender
        rk --state-dir="$T/sd" $NET_FLAGS --pidns --port-driver=builtin -p "$1" \
            sh -c "(for i in \$(seq 200); do [ -s $T/got ] && break; sleep 0.05; done; echo reply-from-inside) | nc $4 -u -l 5353 > $T/got" >/dev/null 2>&1 &
        wait_for_file "$T/sd/api.sock"
        wait_for_file -s "$T/sd/child_pid"
        wait_listen 5353 u "$(cat "$T/sd/child_pid")"
        run bash -c "(echo hello-udp; sleep 2) | timeout 3 nc -u $2 $3"
        assert_output reply-from-inside
        assert_equal "$(cat "$T/got")" hello-udp
        pkill -o -f "^$RK --state-dir=$T/sd" || true
        wait || true
    done
}

# Starts rootlesskit as the test user under `ulimit $1` with the echo server of
# rk-test-conns inside on port 7000, published on 127.0.0.1:$2; the command inside writes the
# soft open-files limit it got to $T/inner-limit.
start_echo() {
    as_user sh -c "ulimit $1 && exec \"\$@\"" sh "$RK" --state-dir="$T/sd" $NET_FLAGS \
        --port-driver=builtin -p "127.0.0.1:$2:7000/tcp" \
        sh -c "ulimit -Sn >$T/inner-limit; exec $CONNS serve 7000" >/dev/null 2>"$T/rk.err" &
    wait_for_file "$T/sd/api.sock"
    PARENT=$(pgrep -o -f "^$RK --state-dir=$T/sd")
    wait_listen 7000 t "$(cat "$T/sd/child_pid")"
}
CONNS=$RK_TEST_PREFIX/libexec/rootlesskit-cpp-test/rk-test-conns
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

@test "1000 connections open at once through one port, with the usual soft limit of 1024 fds" {
    start_echo "-Sn 1024" 18197
    fds_before=$(ls /proc/"$PARENT"/fd | wc -l)
    # every line comes back before any connection closes: 1000 live flows at once
    run as_user "$CONNS" hold 127.0.0.1 18197 1000 60
    assert_success
    assert_output "echoed 1000 of 1000, 0 closed"
    # the parent raised its own limit; the command inside keeps the user's
    assert_equal "$(cat "$T/inner-limit")" 1024
    for _ in $(seq 100); do
        [ "$(( $(ls /proc/"$PARENT"/fd | wc -l) - fds_before ))" -le 112 ] && break
        sleep 0.05
    done
    [ "$(( $(ls /proc/"$PARENT"/fd | wc -l) - fds_before ))" -le 112 ]
    stop_rk
}

@test "out of fds: accepting pauses (no spin, one warning), the waiting clients get in later" {
    start_echo "-n 512" 18198
    ticks=$(cpu_ticks "$PARENT")
    # more clients than 512 fds can serve: some are served, the rest wait in the backlog -
    # none is dropped
    run as_user "$CONNS" hold 127.0.0.1 18198 500 3
    assert_failure
    assert_output --regexp '^echoed [0-9]+ of 500, 0 closed$'
    served=$(echo "$output" | awk '{print $2}')
    [ "$served" -ge 100 ] && [ "$served" -lt 500 ]
    # a parent retrying accept at once would burn the whole 3 s (300 ticks)
    [ "$(( $(cpu_ticks "$PARENT") - ticks ))" -lt 100 ]
    run grep -c "cannot accept clients: Too many open files" "$T/rk.err"
    assert_output 1
    # those clients are gone: the next ones are all served
    run as_user "$CONNS" hold 127.0.0.1 18198 100 10
    assert_output "echoed 100 of 100, 0 closed"
    stop_rk
}
