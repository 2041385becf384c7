#!/usr/bin/env bats
# Purpose: the REST API on $STATE_DIR/api.sock and rootlessctl, including compatibility both ways
# with Debian's Go rootlesskit/rootlessctl 1.1.0, and a server that survives bad clients.
load helpers

CTL=$RK_TEST_PREFIX/bin/rootlessctl
GO_RK=/usr/bin/rootlesskit
GO_CTL=/usr/bin/rootlessctl

start_ours() {
    rk --state-dir="$T/sd" "$@" sleep infinity >/dev/null 2>"$T/rk.err" &
    wait_for_file "$T/sd/api.sock"
    PARENT=$(pgrep -o -f "^$RK --state-dir=$T/sd")
}

stop_ours() {
    kill "$PARENT"
    wait || true
}

api() { as_user curl -sS --max-time 10 --unix-socket "$T/sd/api.sock" "$@"; }

@test "api.sock is made 0600 even under umask 000 (bound under a private umask)" {
    as_user sh -c "umask 000; exec $RK --state-dir=$T/sd2 sleep infinity" >/dev/null 2>&1 &
    wait_for_file "$T/sd2/api.sock"
    assert_equal "$(stat -c %a "$T/sd2/api.sock")" 600
    kill "$(pgrep -o -f "^$RK --state-dir=$T/sd2")"
    wait || true
}

# Issue 18 item 11: nothing the parent opens (api.sock, its clients, the port driver's sockets,
# signal and pid fds) lacks close-on-exec. Started with every fd above stderr closed, so that
# whatever is open is ours.
@test "every fd of the parent is close-on-exec" {
    as_user perl -MPOSIX -e 'POSIX::close($_) for 3..1023; exec @ARGV or die' "$RK" \
        --state-dir="$T/sd" --net=slirp4netns --disable-host-loopback --copy-up=/etc \
        --port-driver=builtin -p 127.0.0.1:18498:80/tcp sleep infinity >/dev/null 2>&1 3>&- &
    wait_for_file "$T/sd/api.sock"
    PARENT=$(pgrep -o -f "^$RK --state-dir=$T/sd")
    # one client connected to api.sock while we look
    as_user perl -MIO::Socket::UNIX -e '$c = IO::Socket::UNIX->new(Peer => "'"$T/sd/api.sock"'") or die; print "up\n"; STDOUT->flush; sleep 10' >"$T/client" 3>&- &
    for _ in $(seq 100); do grep -q up "$T/client" && break; sleep 0.05; done
    local fd flags bad=""
    for f in /proc/"$PARENT"/fdinfo/*; do
        fd=${f##*/}
        [ "$fd" -le 2 ] && continue
        flags=$(awk '/^flags:/{print $2}' "$f" 2>/dev/null) || continue
        [ -n "$flags" ] || continue
        (( (8#$flags & 8#2000000) != 0 )) || bad="$bad $fd:$(readlink /proc/"$PARENT"/fd/"$fd")"
    done
    pkill -f "IO::Socket::UNIX->new\(Peer => \"$T" || true
    kill "$PARENT"
    wait || true
    assert_equal "$bad" ""
}

@test "api.sock: private, after child_pid, removed on exit" {
    start_ours --net=none
    assert_equal "$(stat -c %a "$T/sd/api.sock")" 600
    [ -e "$T/sd/child_pid" ]
    # other users cannot connect
    run runuser -u rk-nosub -- curl -sS --unix-socket "$T/sd/api.sock" http://x/v1/info
    assert_failure
    stop_ours
    [ ! -e "$T/sd" ]
}

@test "GET /v1/info for --net=none and --net=host" {
    start_ours --net=none
    run api http://rootlesskit/v1/info
    assert_success
    assert_output "{\"apiVersion\":\"1.1.2\",\"version\":\"$("$RK" --version | awk '{print $3}')\",\"stateDir\":\"$T/sd\",\"childPID\":$(cat "$T/sd/child_pid"),\"networkDriver\":{\"driver\":\"none\"}}"
    stop_ours
    start_ours
    run api http://rootlesskit/v1/info
    refute_output --partial networkDriver
    refute_output --partial portDriver
    stop_ours
}

# API 1.1.2: networkDriver.ipv6 is true exactly where the namespace got IPv6 from the driver
# (omitted otherwise, as upstream's omitempty), for every driver this machine has.
@test "GET /v1/info: networkDriver.ipv6 per driver" {
    ipv6_of() {
        start_ours "$@"
        api http://x/v1/info | jq -c '[.networkDriver.driver, .networkDriver.ipv6]'
        stop_ours
    }
    run ipv6_of --net=none --ipv6
    assert_output '["none",null]'
    run ipv6_of --net=slirp4netns --copy-up=/etc --disable-host-loopback
    assert_output '["slirp4netns",null]'
    run ipv6_of --net=slirp4netns --copy-up=/etc --disable-host-loopback --ipv6
    assert_output '["slirp4netns",true]'
    run ipv6_of --net=pasta --copy-up=/etc --disable-host-loopback
    assert_output '["pasta",null]'
    run ipv6_of --net=pasta --copy-up=/etc --disable-host-loopback --ipv6
    assert_output '["pasta",true]'
    run ipv6_of --net=gvisor-tap-vsock --copy-up=/etc --disable-host-loopback
    assert_output '["gvisor-tap-vsock",null]'
    run ipv6_of --net=gvisor-tap-vsock --copy-up=/etc --disable-host-loopback --ipv6
    assert_output '["gvisor-tap-vsock",true]'
}

# portDriver.extra.sourceIPTransparentBackend (upstream 3.2) is set exactly when the builtin
# driver keeps clients' source IPs; every --source-ip-transparent-backend value is accepted.
@test "GET /v1/info: portDriver.extra.sourceIPTransparentBackend" {
    backend_of() {
        start_ours "$@"
        api http://x/v1/info | jq -c '[.portDriver.driver, .portDriver.extra]'
        stop_ours
    }
    run backend_of --net=none --port-driver=builtin
    assert_output '["builtin",{"sourceIPTransparentBackend":"fwmark"}]'
    for b in auto nft iptables; do
        run backend_of --net=slirp4netns --copy-up=/etc --disable-host-loopback \
            --port-driver=builtin --source-ip-transparent-backend=$b
        assert_output '["builtin",{"sourceIPTransparentBackend":"fwmark"}]'
    done
    run backend_of --net=none --port-driver=builtin --source-ip-transparent=false
    assert_output '["builtin",null]'
    run backend_of --net=slirp4netns --copy-up=/etc --disable-host-loopback \
        --port-driver=slirp4netns
    assert_output '["slirp4netns",null]'
    # The routing it names is really there, inside the namespace.
    start_ours --net=none --port-driver=builtin
    run as_user nsenter -t "$(cat "$T/sd/child_pid")" -U -n --preserve-credentials ip rule
    assert_line --regexp '^100:.*fwmark 0x64 lookup 100'
    stop_ours
    run rk --source-ip-transparent-backend=ebpf true
    assert_failure 1
    assert_output --partial 'unknown --source-ip-transparent-backend: ebpf'
    assert_no_state_dirs
}

@test "ports endpoints without a port driver, wrong methods, unknown paths" {
    start_ours --net=none
    run api -i http://x/v1/ports
    assert_line --partial 'HTTP/1.1 400'
    assert_line '{"message":"no PortDriver is available"}'
    run api -i -X PUT http://x/v1/ports
    assert_line --partial 'HTTP/1.1 405'
    run api -i http://x/v2/info
    assert_line --partial 'HTTP/1.1 404'
    assert_line '404 page not found'
    stop_ours
}

@test "our rootlessctl: info, --json, errors and exit codes" {
    start_ours --net=none
    run as_user "$CTL" --socket "$T/sd/api.sock" info
    assert_success
    assert_line '- REST API version: 1.1.2'
    assert_line "- State Directory: $T/sd"
    assert_line "- Child PID: $(cat "$T/sd/child_pid")"
    assert_line '- Network Driver: none'
    run as_user env ROOTLESSKIT_STATE_DIR="$T/sd" "$CTL" info --json
    assert_success
    assert_line '    "apiVersion": "1.1.2",'
    run as_user "$CTL" --socket "$T/sd/api.sock" list-ports
    assert_failure 1
    assert_output 'error: no PortDriver is available'
    run as_user "$CTL" --socket "$T/sd/api.sock" add-ports bad
    assert_failure 1
    assert_output --partial 'error: missing proto in PortSpec string: "bad"'
    run as_user "$CTL" --socket "$T/sd/api.sock" remove-ports
    assert_failure 1
    assert_output 'error: no ID specified'
    run as_user "$CTL" --socket "$T/sd/api.sock" bogus
    assert_failure 3
    run as_user "$CTL" info
    assert_failure 1
    assert_output 'error: please specify --socket or set $ROOTLESSKIT_STATE_DIR'
    run as_user "$CTL" --socket "$T/nonexistent" info
    assert_failure 1
    assert_output --partial "error: stat $T/nonexistent: No such file or directory"
    stop_ours
}

@test "Debian's Go rootlessctl 1.1.0 talks to our api.sock" {
    [ -x "$GO_CTL" ] || skip "Debian package rootlesskit not installed"
    start_ours --net=none
    run as_user "$GO_CTL" --socket "$T/sd/api.sock" info
    assert_success
    assert_line '- REST API version: 1.1.2'
    assert_line "- State Directory: $T/sd"
    assert_line "- Child PID: $(cat "$T/sd/child_pid")"
    assert_line '- Network Driver: none'
    run as_user "$GO_CTL" --socket "$T/sd/api.sock" info --json
    assert_success
    assert_line '    "childPID": '"$(cat "$T/sd/child_pid")"','
    run as_user "$GO_CTL" --socket "$T/sd/api.sock" list-ports
    assert_failure 1
    assert_output --partial 'no PortDriver is available'
    stop_ours
}

@test "our rootlessctl talks to Debian's Go rootlesskit 1.1.0" {
    [ -x "$GO_RK" ] || skip "Debian package rootlesskit not installed"
    as_user "$GO_RK" --state-dir="$T/go" sleep infinity >/dev/null 2>&1 &
    wait_for_file "$T/go/api.sock"
    for _ in $(seq 100); do as_user "$CTL" --socket "$T/go/api.sock" info >/dev/null 2>&1 && break; sleep 0.05; done
    run as_user "$CTL" --socket "$T/go/api.sock" info
    assert_success
    assert_line '- REST API version: 1.1.1'
    assert_line '- Implementation version: 1.1.0'
    assert_line "- State Directory: $T/go"
    run as_user "$CTL" --socket "$T/go/api.sock" list-ports
    assert_failure 1
    assert_output 'error: no PortDriver is available'
    pkill -o -f "^$GO_RK --state-dir=$T/go" || true
    wait || true
}

@test "the server survives bad clients: garbage, huge bodies, stalled and 100 concurrent clients" {
    start_ours --net=none
    sock="$T/sd/api.sock"
    # a malformed request gets a 400 and the connection is closed
    run as_user bash -c "printf 'GARBAGE\r\n\r\n' | timeout 5 nc -U $sock"
    assert_output --partial 'HTTP/1.1 400'
    # a body over the limit
    head -c 200000 /dev/zero | tr '\0' 'x' >"$T/big"
    chmod 644 "$T/big"
    run api -o /dev/null -w '%{http_code}' -X POST --data-binary @"$T/big" http://x/v1/ports
    assert_output 413
    # a client that connects and never finishes its request does not block others
    as_user bash -c "(printf 'GET /v1/info HTTP/1.1\r\nHost: x\r\n'; sleep 3) | timeout 4 nc -U $sock" >/dev/null 2>&1 &
    stalled=$!
    for _ in $(seq 100); do ss -Hx state connected | grep -qF "$sock" && break; sleep 0.05; done
    run api -o /dev/null -w '%{http_code}' http://x/v1/info
    assert_output 200
    # 100 concurrent clients all get answers
    run as_user bash -c "seq 100 | xargs -P 100 -I{} curl -s -o /dev/null -w '%{http_code}\n' --max-time 10 --unix-socket $sock http://x/v1/info | sort | uniq -c"
    assert_success
    assert_output --regexp '^ *100 200$'
    wait "$stalled" || true
    # still alive and well
    run api http://x/v1/info
    assert_success
    stop_ours
}

# Issue 18 item 7: a flood of idle and half-sent connections (more than the server keeps) sheds
# its own oldest members; a client that sends its request at once is answered at once.
@test "api.sock answers info within 1 s under 1200 idle and half-sent connections" {
    start_ours --net=none
    sock="$T/sd/api.sock"
    # 600 that send nothing and 600 that stop in the middle of their headers, all held open
    bash -c "ulimit -n 4096; exec perl -MIO::Socket::UNIX -e '
        for my \$i (1..1200) {
            my \$c = IO::Socket::UNIX->new(Peer => \"$sock\") or die \"connect \$i: \$!\";
            print \$c \"GET /v1/info HTTP/1.1\\r\\nHost: x\\r\\n\" if \$i % 2;
            push @c, \$c;
        }
        print STDOUT \"held\\n\"; STDOUT->flush; sleep 20'" >"$T/flood" 3>&- &
    flood=$!
    for _ in $(seq 200); do grep -q held "$T/flood" && break; sleep 0.05; done
    assert_equal "$(cat "$T/flood")" held
    for i in 1 2 3; do
        run api -m 1 -o /dev/null -w '%{http_code}' http://x/v1/info
        assert_output 200
    done
    run as_user "$CTL" --socket "$sock" info
    assert_success
    kill "$flood" 2>/dev/null || true
    grep -q 'more than 512 connections on api.sock' "$T/rk.err"
    stop_ours
}

@test "api.sock out of fds: no spin, and it answers again once the clients leave" {
    as_user sh -c 'ulimit -n 48 && exec "$@"' sh "$RK" --state-dir="$T/sd" --debug --net=none \
        sleep infinity >/dev/null 2>"$T/rk.err" &
    wait_for_file "$T/sd/api.sock"
    PARENT=$(pgrep -o -f "^$RK --state-dir=$T/sd")
    sock="$T/sd/api.sock"
    # more idle clients than the parent has fds left: the rest wait in the backlog
    as_user bash -c "for i in \$(seq 60); do sleep 5 | timeout 4 nc -U $sock >/dev/null 2>&1 & done; wait" &
    clients=$!
    # out of fds: accept failed (and is retried 100 ms later, not at once)
    poll_until grep -q 'api: accept: Too many open files' "$T/rk.err"
    ticks=$(awk '{print $14 + $15}' "/proc/$PARENT/stat")
    sleep 2
    # a server retrying accept at once would burn the whole 2 s (200 ticks)
    [ "$(( $(awk '{print $14 + $15}' "/proc/$PARENT/stat") - ticks ))" -lt 50 ]
    wait "$clients" || true
    run api -o /dev/null -w '%{http_code}' http://x/v1/info
    assert_output 200
    stop_ours
}
