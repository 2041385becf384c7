#!/usr/bin/env bats
# Purpose: --port-driver=pesto (upstream 3.1) with today's pasta and pesto (passt 2026), under
# the rootlesskit in $LANE_BIN: ports at start-up and through the API (ours and Go's
# rootlessctl), TCP and UDP, on 127.0.0.1 and on an address of this machine; what pasta cannot
# do refused in one line each (a port in use, a privileged port, another ChildIP, IPv6 without
# --ipv6, conflicts) with pasta's own table unchanged; a stopped pasta fails add-ports after
# the deadline while api.sock keeps answering; nothing left in the state dir or running.
load lane-helpers

GO=/opt/rootlesskit-go/bin

setup() {
    make_scratch
    echo pesto-ok >"$D/index.html"
    chmod 644 "$D/index.html"
}
teardown() {
    local pid
    for pid in $(marked_pids); do kill -9 "$pid" 2>/dev/null || true; done
    pkill -f "nc -l 127.0.0.1 1871" 2>/dev/null || true
    rm -rf "$D"
}

# start_pesto FLAGS...: rootlesskit with pasta + pesto, a web server on 80, one on 8080 of the
# namespace's address only (where Docker's proxy listens: the driver disallows a loopback
# ChildIP) and a UDP echo server on 5353 inside; waits for api.sock.
start_pesto() {
    as_user rootlesskit --state-dir="$D/sd" --net=pasta --port-driver=pesto \
        --disable-host-loopback --copy-up=/etc "$@" \
        sh -c "/lane/udp-echo 5353 & busybox httpd -f -p 10.0.2.100:8080 -h $D &
            exec busybox httpd -f -p 80 -h $D" >"$D/rk.log" 2>&1 3>&- &
    local i
    for i in $(seq 100); do [ -S "$D/sd/api.sock" ] && break; sleep 0.1; done
    [ -S "$D/sd/api.sock" ] || { cat "$D/rk.log" >&3; return 1; }
    PARENT=$(pgrep -o -f "^rootlesskit --state-dir=$D/sd")
}
ctl() { as_user "${CTL:-rootlessctl}" --socket "$D/sd/api.sock" "$@"; }
pasta_table() { as_user pesto -s "$D/sd/.pasta.sock" | sed -n '/HOST/,/SPLICE/p'; }

@test "pesto: -p at start-up, add, list, remove; TCP on loopback and on this machine's address, UDP" {
    start_pesto -p 127.0.0.1:18710:80/tcp
    curl_until http://127.0.0.1:18710/index.html pesto-ok
    assert_output pesto-ok
    run ctl add-ports 198.51.100.1:18711:80/tcp 127.0.0.1:18712:5353/udp
    assert_success
    curl_until http://198.51.100.1:18711/index.html pesto-ok
    assert_output pesto-ok
    run sh -c 'echo udp-ping | timeout 5 nc -u -w 2 127.0.0.1 18712'
    assert_output udp-ping
    # a server on the namespace's address only is reached from the host's loopback too
    run ctl add-ports 127.0.0.1:18719:8080/tcp
    assert_success
    curl_until http://127.0.0.1:18719/index.html pesto-ok
    assert_output pesto-ok
    run ctl list-ports --json
    assert_line '{"id":1,"spec":{"proto":"tcp","parentIP":"127.0.0.1","parentPort":18710,"childPort":80}}'
    assert_line '{"id":2,"spec":{"proto":"tcp","parentIP":"198.51.100.1","parentPort":18711,"childPort":80}}'
    assert_line '{"id":3,"spec":{"proto":"udp","parentIP":"127.0.0.1","parentPort":18712,"childPort":5353}}'
    run ctl remove-ports 1 3 4
    assert_success
    run curl -sS -m 2 http://127.0.0.1:18710/index.html
    assert_failure
    run pasta_table
    refute_output --partial ':18710'
    refute_output --partial ':18712'
    assert_output --partial 'TCP [198.51.100.1]:18711  =>  80'
    run curl -sS --unix-socket "$D/sd/api.sock" http://rootlesskit/v1/info
    assert_output --partial '"portDriver":{"driver":"pesto","protos":["tcp","tcp4","udp","udp4"],"disallowLoopbackChildIP":true}'
    stop_leaves_nothing "$PARENT" "$D/sd"
    # the control socket is ours: the state dir goes with the rest
    [ ! -e "$D/sd" ]
}

@test "pesto: what pasta cannot do is refused in one line, and pasta's table stays as it was" {
    start_pesto -p 127.0.0.1:18713:80/tcp
    curl_until http://127.0.0.1:18713/index.html pesto-ok
    local before
    before=$(pasta_table)
    timeout 30 nc -l 127.0.0.1 18714 3>&- &
    for _ in $(seq 50); do ss -Htln 'sport = :18714' | grep -q . && break; sleep 0.1; done
    run ctl add-ports 127.0.0.1:18714:80/tcp
    assert_failure
    assert_output --partial 'address already in use'
    run ctl add-ports 127.0.0.1:81:80/tcp
    assert_failure
    assert_output --partial 'cannot expose privileged port 81'
    run ctl add-ports 127.0.0.1:18715:10.0.2.5:80/tcp
    assert_failure
    assert_output --partial "pasta forwards to the namespace's own address 10.0.2.100 only"
    run ctl add-ports '[::1]:18716:80/tcp6'
    assert_failure
    assert_output --partial 'unsupported protocol "tcp6"'
    run ctl add-ports 127.0.0.1:18713:80/tcp
    assert_failure
    assert_output --partial 'conflict with ID 1'
    run ctl add-ports 127.0.0.1:0:80/tcp
    assert_failure
    run ctl remove-ports 7
    assert_failure
    assert_output --partial 'unknown id: 7'
    assert_equal "$(pasta_table)" "$before"
    run ctl list-ports --json
    assert_output '{"id":1,"spec":{"proto":"tcp","parentIP":"127.0.0.1","parentPort":18713,"childPort":80}}'
}

@test "pesto: a stopped pasta - add-ports fails after the deadline, api.sock answers meanwhile" {
    start_pesto
    local pasta
    pasta=$(pgrep -P "$PARENT" '^pasta')
    [ -n "$pasta" ]
    kill -STOP "$pasta"
    ctl add-ports 127.0.0.1:18717:80/tcp >"$D/add.out" 2>&1 3>&- &
    local add=$!
    # the add is waiting on pesto now; info must not wait with it
    for _ in $(seq 50); do pgrep -P "$PARENT" -x pesto >/dev/null && break; sleep 0.1; done
    pgrep -P "$PARENT" -x pesto >/dev/null
    run timeout 1 runuser -u "$TEST_USER" -- "$LANE_BIN/rootlessctl" --socket "$D/sd/api.sock" info
    assert_success
    assert_line '- Port Driver: pesto'
    local st=0
    wait "$add" || st=$?
    assert_equal "$st" 1
    run cat "$D/add.out"
    assert_output --partial 'pesto did not finish within 3 s'
    kill -CONT "$pasta"
    run ctl add-ports 127.0.0.1:18717:80/tcp
    assert_success
    curl_until http://127.0.0.1:18717/index.html pesto-ok
    assert_output pesto-ok
}

@test "pesto: Go rootlessctl 2.x adds, lists and removes ports on our api.sock" {
    [ -x "$GO/rootlessctl" ] || skip_env "Go rootlesskit is not in this root filesystem"
    start_pesto
    CTL=$GO/rootlessctl run ctl add-ports 127.0.0.1:18718:80/tcp
    assert_success
    assert_output 1
    curl_until http://127.0.0.1:18718/index.html pesto-ok
    assert_output pesto-ok
    CTL=$GO/rootlessctl run ctl list-ports
    assert_line --regexp '^1 +tcp +127\.0\.0\.1 +18718 +80 *$'
    CTL=$GO/rootlessctl run ctl info
    assert_line '- Port Driver: pesto'
    CTL=$GO/rootlessctl run ctl remove-ports 1
    assert_success
    run curl -sS -m 2 http://127.0.0.1:18718/index.html
    assert_failure
}
