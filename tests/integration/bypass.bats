#!/usr/bin/env bats
# Purpose: --socket-bypass. The test makes a network namespace with a veth pair to this host
# (host 198.51.100.1 and 2001:db8:100::1, the namespace .2 / ::2, with an echo server there),
# and an unreachable route on the host for 198.18.0.0/24. From inside rootlesskit (slirp4netns)
# rk-test-connect reports what the program saw: a bypassed connection's local address is the
# host's (198.51.100.1), one through slirp4netns has 10.0.2.100. Every promise is checked with
# the bypass and, where it is about equal behaviour, without it.
load helpers

EXT=rk-bypass-ext
TOOLS=$RK_TEST_PREFIX/libexec/rootlesskit-cpp-test
CONNECT=$TOOLS/rk-test-connect
PORT=18502
CLOSE_PORT=18503
RESET_PORT=18504

setup_file() {
    [ -x "$RK" ] || skip "not installed: $RK"
    ip netns del "$EXT" 2>/dev/null || true
    ip netns add "$EXT"
    ip link add rk-bypass0 type veth peer name eth0 netns "$EXT"
    ip addr add 198.51.100.1/24 dev rk-bypass0
    ip -6 addr add 2001:db8:100::1/64 dev rk-bypass0 nodad
    ip link set rk-bypass0 up
    ip -n "$EXT" link set lo up
    ip -n "$EXT" addr add 198.51.100.2/24 dev eth0
    ip -n "$EXT" addr add 198.51.100.3/24 dev eth0
    ip -n "$EXT" -6 addr add 2001:db8:100::2/64 dev eth0 nodad
    ip -n "$EXT" link set eth0 up
    ip -n "$EXT" route add default via 198.51.100.1
    # 198.51.100.3 never answers: its replies go nowhere (a connect to it stays pending).
    ip -n "$EXT" rule add from 198.51.100.3 lookup 99
    ip -n "$EXT" route add blackhole default table 99
    ip route replace unreachable 198.18.0.0/24
    ip netns exec "$EXT" "$TOOLS/rk-test-conns" serve "$PORT" >/dev/null 2>&1 &
    echo $! >"$BATS_FILE_TMPDIR/server"
    # servers whose connections are over at once: closed (FIN) and reset (RST) on accept
    ip netns exec "$EXT" "$TOOLS/rk-test-conns" serve "$CLOSE_PORT" close >/dev/null 2>&1 &
    echo $! >>"$BATS_FILE_TMPDIR/server"
    ip netns exec "$EXT" "$TOOLS/rk-test-conns" serve "$RESET_PORT" reset >/dev/null 2>&1 &
    echo $! >>"$BATS_FILE_TMPDIR/server"
    for p in "$PORT" "$CLOSE_PORT" "$RESET_PORT"; do
        for _ in $(seq 100); do
            ip netns exec "$EXT" ss -Hltn "sport = :$p" | grep -q . && break
            sleep 0.05
        done
    done
}

teardown_file() {
    [ -f "$BATS_FILE_TMPDIR/server" ] && kill $(cat "$BATS_FILE_TMPDIR/server") 2>/dev/null
    ip route del unreachable 198.18.0.0/24 2>/dev/null || true
    ip link del rk-bypass0 2>/dev/null || true
    ip netns del "$EXT" 2>/dev/null || true
}

# rootlesskit over slirp4netns with the given flags, running the rest.
rkb() { rk --net=slirp4netns --copy-up=/etc "$@"; }

@test "blocking connect: made from the host, data flows; without the flag it goes through slirp4netns" {
    run rkb --socket-bypass "$CONNECT" -e 198.51.100.2 "$PORT"
    assert_success
    assert_output --partial "ok local=198.51.100.1:"
    assert_output --partial "nonblock=0 cloexec=1 echo=ok"
    run rkb "$CONNECT" -e 198.51.100.2 "$PORT"
    assert_output --partial "ok local=10.0.2.100:"
}

@test "off by default: no seccomp filter on the command; on: a filter, and info says so" {
    run rkb sh -c "grep '^Seccomp:' /proc/self/status"
    assert_output --regexp "Seccomp:[[:space:]]+0"
    run rkb --socket-bypass sh -c "grep '^Seccomp:' /proc/self/status; $CONNECT 198.51.100.2 $PORT >/dev/null; $RK_TEST_PREFIX/bin/rootlessctl --socket \$ROOTLESSKIT_STATE_DIR/api.sock info"
    assert_output --regexp "Seccomp:[[:space:]]+2"
    assert_output --partial "Socket bypass: 1 connection(s) from the host (0 more failed)"
}

@test "info's counters say what happened: established, failed (at once or later), left to the kernel" {
    # bypassed and established; refused, blocking and non-blocking (the reset comes after our
    # connect() returned); unreachable from the host (our connect() fails at once); one to
    # loopback left to the kernel; AF_UNIX connects (nc -U) are not even trapped.
    local ctl="$RK_TEST_PREFIX/bin/rootlessctl --socket \$ROOTLESSKIT_STATE_DIR/api.sock"
    run rkb --socket-bypass sh -c "$CONNECT 198.51.100.2 $PORT; $CONNECT 198.51.100.2 18599; $CONNECT -n 198.51.100.2 18599; $CONNECT 198.18.0.5 80; $CONNECT 127.0.0.1 1; for i in 1 2 3; do nc -U -N -w 1 \$ROOTLESSKIT_STATE_DIR/api.sock </dev/null >/dev/null; done; sleep 0.3; $ctl info --json; $ctl info"
    assert_line --regexp "^ok local=198\.51\.100\.1:"
    assert_output --regexp '"bypassed": ?1[^0-9]'
    assert_output --regexp '"failed": ?3[^0-9]'
    assert_output --regexp '"passed": ?1[^0-9]'
    assert_output --partial "Socket bypass: 1 connection(s) from the host (3 more failed)"
}

# Runs rk-test-connect to 198.51.100.2 once per port given, from a namespace behind
# rootlesskit's (as a container's: a veth pair, NAT by rootlesskit's namespace); $CONNECT_FLAGS
# are rk-test-connect's flags.
from_container() {
    local connects=""
    for port in "$@"; do
        connects+="nsenter -t \$P -n $CONNECT ${CONNECT_FLAGS:-} 198.51.100.2 $port || echo '(port $port)'; "
    done
    # (timeout: a step that hangs fails the test with its output instead of the whole file)
    run as_user timeout 60 "$RK" --net="${CONTAINER_NET:-slirp4netns}" --copy-up=/etc --socket-bypass --disable-host-loopback sh -ec "
        unshare -n sleep 30 & P=\$!
        trap 'kill \$P' EXIT
        for i in \$(seq 100); do [ \"\$(readlink /proc/\$P/ns/net)\" != \"\$(readlink /proc/self/ns/net)\" ] && break; sleep 0.05; done
        ip link add rkc0 type veth peer name eth0 netns \$P
        ip addr add 172.31.9.1/24 dev rkc0
        ip link set rkc0 up
        nsenter -t \$P -n sh -ec 'ip addr add 172.31.9.2/24 dev eth0; ip link set eth0 up; ip route add default via 172.31.9.1'
        echo 1 >/proc/sys/net/ipv4/ip_forward
        iptables -w 5 -t nat -A POSTROUTING -s 172.31.9.0/24 -j MASQUERADE
        $connects"
}

@test "a container's namespace earns the bypass with a first connection the server closes at once" {
    # Its first connection to a destination goes the usual way, the next ones are bypassed -
    # also when the server closes each connection as soon as it accepts it, and the client's
    # request (as an HTTP client's) then meets a reset: the connection ends in CLOSE, which
    # was read as "refused" when the evidence was looked at only at the next connect.
    for case in "slirp4netns " "slirp4netns -w" "pasta " "pasta -w"; do
        read -r net flags <<<"$case"
        CONTAINER_NET=$net CONNECT_FLAGS=$flags from_container "$CLOSE_PORT" "$CLOSE_PORT" "$CLOSE_PORT" "$CLOSE_PORT" "$CLOSE_PORT" "$CLOSE_PORT" "$CLOSE_PORT"
        assert_success
        assert_equal "${#lines[@]}" 7
        assert_line --index 0 --regexp "^ok local=172\.31\.9\.2:"
        for i in 1 2 3 4 5 6; do
            assert_line --index $i --regexp "^ok local=198\.51\.100\.1:"
        done
    done
}

@test "a bypassed blocking connect() to a server that resets at once returns 0, as the kernel's own does" {
    # The handshake is over within our connect(), the reset follows before the caller runs:
    # its connect() says 0 (the reset shows on its next read), not ECONNRESET.
    from_container "$PORT" "$RESET_PORT" "$RESET_PORT" "$RESET_PORT" "$RESET_PORT"
    assert_success
    assert_equal "${#lines[@]}" 5
    assert_line --index 0 --regexp "^ok local=172\.31\.9\.2:"
    for i in 1 2 3 4; do
        assert_line --index $i --regexp "^ok local=198\.51\.100\.1:"
    done
}

@test "a connect from another thread than the first is bypassed too" {
    run rkb --socket-bypass "$CONNECT" -T -e 198.51.100.2 "$PORT"
    assert_success
    assert_output --partial "ok local=198.51.100.1:"
}

@test "non-blocking connect: EINPROGRESS, then connected; flags kept" {
    run rkb --socket-bypass "$CONNECT" -n -e 198.51.100.2 "$PORT"
    assert_success
    assert_output --partial "einprogress ok local=198.51.100.1:"
    assert_output --partial "nonblock=1 cloexec=1 echo=ok"
}

@test "refused: the same errno with and without the bypass, blocking and (SO_ERROR) non-blocking" {
    for flags in "" "-n"; do
        run rkb --socket-bypass "$CONNECT" $flags 198.51.100.2 18599
        local with=${lines[-1]}
        run rkb "$CONNECT" $flags 198.51.100.2 18599
        assert_equal "$with" "${lines[-1]}"
        assert_output --partial "error ECONNREFUSED"
    done
    # and the non-blocking one sees it through SO_ERROR after EINPROGRESS
    run rkb --socket-bypass "$CONNECT" -n 198.51.100.2 18599
    assert_output --partial "einprogress error ECONNREFUSED"
}

@test "unreachable: the same errno with and without the bypass" {
    run rkb --socket-bypass "$CONNECT" 198.18.0.5 80
    assert_output --partial "error EHOSTUNREACH"
    run rkb "$CONNECT" 198.18.0.5 80
    assert_output --partial "error EHOSTUNREACH"
    # No route inside: never bypassed, the namespace's own ENETUNREACH.
    run rkb --socket-bypass sh -c "ip route del default && $CONNECT 198.51.100.2 $PORT"
    assert_output --partial "error ENETUNREACH"
}

@test "TCP_NODELAY and a bound source port are carried over" {
    run rkb --socket-bypass "$CONNECT" -d -b 40123 -e 198.51.100.2 "$PORT"
    assert_success
    assert_output --partial "ok local=198.51.100.1:40123 nodelay=1"
    run rkb --socket-bypass "$CONNECT" -n -d -e 198.51.100.2 "$PORT"
    assert_output --partial "nodelay=1"
}

@test "a blocking connect with SO_SNDTIMEO times out with EINPROGRESS, as the kernel's does" {
    run rkb --socket-bypass "$CONNECT" -t 300 198.51.100.3 "$PORT"
    assert_output --partial "error EINPROGRESS"
    run rkb "$CONNECT" -t 300 198.51.100.3 "$PORT"
    assert_output --partial "error EINPROGRESS"
}

@test "IPv6, and IPv4-mapped addresses on an IPv6 socket" {
    run rkb --socket-bypass "$CONNECT" -6 -e 198.51.100.2 "$PORT"
    assert_output --partial "ok local=::ffff:198.51.100.1:"
    # slirp4netns's IPv6 route comes by router advertisement: wait for it.
    run rkb --ipv6 --socket-bypass sh -c "for i in \$(seq 100); do ip -6 route show default | grep -q . && break; sleep 0.05; done; $CONNECT -e 2001:db8:100::2 $PORT"
    assert_success
    assert_output --partial "ok local=2001:db8:100::1:"
}

@test "untouched: UDP, loopback, the namespace's own address and 10.0.2.x" {
    # UDP: connect() only picks a route; ours is the namespace's.
    run rkb --socket-bypass "$CONNECT" -u 198.51.100.2 "$PORT"
    assert_output --partial "ok local=10.0.2.100:"
    # A server inside, on loopback and on the namespace's address.
    run rkb --socket-bypass sh -c "$SH_WAIT_LISTEN; $TOOLS/rk-test-conns serve 18600 & wait_listen 18600 && $CONNECT -e 127.0.0.1 18600 && $CONNECT -e 10.0.2.100 18600 && $CONNECT -6 -e ::1 18600"
    assert_success
    assert_output --partial "ok local=127.0.0.1:"
    assert_output --partial "ok local=10.0.2.100:"
    assert_output --partial "ok local=::1:"
    # 10.0.2.2 is the host's loopback through slirp4netns: reached, not bypassed.
    as_user "$TOOLS/rk-test-conns" serve 18601 &
    local server=$!
    wait_listen 18601
    run rkb --socket-bypass "$CONNECT" -e 10.0.2.2 18601
    pkill -f "rk-test-conns serve 18601"
    wait "$server" 2>/dev/null || true
    assert_output --partial "ok local=10.0.2.100:"
    # The API counts what it did.
    run rkb --socket-bypass sh -c "$CONNECT 198.51.100.2 $PORT >/dev/null; $CONNECT -u 198.51.100.2 $PORT >/dev/null; $RK_TEST_PREFIX/bin/rootlessctl --socket \$ROOTLESSKIT_STATE_DIR/api.sock info --json"
    assert_output --partial '"socketBypass"'
    assert_output --regexp '"bypassed": 1[,}]'
}

@test "--disable-host-loopback still holds with the bypass" {
    as_user "$TOOLS/rk-test-conns" serve 18602 &
    local server=$!
    wait_listen 18602
    # the host's loopback through the gateway: refused by slirp4netns, not bypassed
    run rkb --disable-host-loopback --socket-bypass "$CONNECT" 10.0.2.2 18602
    assert_output --partial "error"
    # 127.0.0.1 and ::ffff:127.0.0.1 are the namespace's own loopback
    run rkb --disable-host-loopback --socket-bypass "$CONNECT" 127.0.0.1 18602
    assert_output --partial "error ECONNREFUSED"
    run rkb --disable-host-loopback --socket-bypass "$CONNECT" -6 127.0.0.1 18602
    assert_output --partial "error ECONNREFUSED"
    # the host's own non-loopback addresses are not bypassed (they would be reached as local)
    run rkb --disable-host-loopback --socket-bypass "$CONNECT" -e 198.51.100.1 18602
    refute_output --partial "local=198.51.100.1"
    # without the flag they are
    run rkb --socket-bypass "$CONNECT" -e 198.51.100.1 18602
    assert_output --partial "ok local=198.51.100.1:"
    pkill -f "rk-test-conns serve 18602"
    wait "$server" 2>/dev/null || true
}

@test "a bypassed socket whose connect failed cannot be connected again past the checks" {
    as_user "$TOOLS/rk-test-conns" serve 18603 &
    local server=$!
    wait_listen 18603
    # The socket the program holds after the failed connect is ours, in the host's network
    # namespace; connecting it again to the host's 127.0.0.1 must not reach the host's
    # loopback (nor anything else not allowed).
    run rkb --disable-host-loopback --socket-bypass "$CONNECT" -n -a 127.0.0.1:18603 198.51.100.2 18599
    assert_output --partial "einprogress error ECONNREFUSED"
    assert_output --partial "again error"
    # Nor anywhere else: such a socket is refused (ENETUNREACH); a new socket is bypassed.
    run rkb --socket-bypass "$CONNECT" -n -a 198.51.100.2:$PORT 198.51.100.2 18599
    assert_output --partial "again error ENETUNREACH"
    pkill -f "rk-test-conns serve 18603"
    wait "$server" 2>/dev/null || true
}

@test "kill -9 of the parent while a connect is pending: the caller gets an error, no process hangs" {
    # A daemon-like process (setsid, outlives the command) connects to an address that never
    # answers (TCP_SYNCNT 1: it gives up after 3 s); the parent dies meanwhile. The connect is
    # the kernel's by then (a blocking caller waits in its own connect() on our socket), so it
    # ends as any connect to a silent peer does; had the parent died while deciding, the
    # caller would get ENOSYS.
    rkb --socket-bypass sh -c "setsid $CONNECT -s 1 198.51.100.3 $PORT >$T/result 2>&1 </dev/null & exec sleep 600" &
    local parent
    poll_until sh -c "pgrep -f '^$CONNECT -s 1 198.51.100.3' >/dev/null"
    parent=$(pgrep -o -f "^$RK --net=slirp4netns --copy-up=/etc --socket-bypass sh -c setsid")
    # Bypassed: our socket, in this (the host's) namespace, is connecting to the silent peer.
    poll_until sh -c "ss -Htn state syn-sent 'dst 198.51.100.3' | grep -q ."
    kill -9 "$parent"
    local i
    for i in $(seq 100); do [ -s "$T/result" ] && break; sleep 0.1; done
    run cat "$T/result"
    assert_output "error ETIMEDOUT"
    run pgrep -f "^$CONNECT -s 1 198.51.100.3"
    assert_failure
}

@test "a kernel without SECCOMP_IOCTL_NOTIF_ADDFD: one line, start refused, nothing left" {
    # The start-up probe's ADDFD answers EINVAL, as on Linux < 5.9.
    run as_user strace -f -o /dev/null -e trace=ioctl -e inject=ioctl:error=EINVAL:when=1 \
        "$RK" --net=slirp4netns --state-dir="$T/sd" --socket-bypass true
    assert_failure
    assert_output --partial "--socket-bypass: the kernel lacks SECCOMP_IOCTL_NOTIF_ADDFD (Linux 5.9)"
    [ ! -e "$T/sd" ]
}

@test "a kernel without SO_NETNS_COOKIE (Linux < 5.14): one line, start refused, nothing left" {
    # The probe's getsockopt(SO_NETNS_COOKIE) is the first getsockopt rootlesskit makes.
    run as_user strace -o /dev/null -e trace=getsockopt -e inject=getsockopt:error=ENOPROTOOPT:when=1 \
        "$RK" --net=slirp4netns --state-dir="$T/sd" --socket-bypass true
    assert_failure
    assert_output --partial "--socket-bypass: the kernel lacks SO_NETNS_COOKIE (Linux 5.14)"
    assert_output --partial "Linux 5.14 or newer"
    [ ! -e "$T/sd" ]
    assert_equal "$(leftover_pids)" ""
}

@test "works with --detach-netns: the command is in the host's network, its children's namespaces are bypassed" {
    # the detached namespace is where the network is; a process that joins it is bypassed
    run rkb --detach-netns --socket-bypass sh -c "nsenter --net=\$ROOTLESSKIT_STATE_DIR/netns $CONNECT -e 198.51.100.2 $PORT"
    assert_success
    assert_output --partial "ok local=198.51.100.1:"
}

@test "every --net driver: bypassed where the namespace has a way out, untouched where it has none" {
    for net in pasta gvisor-tap-vsock; do
        run rk --net=$net --copy-up=/etc --socket-bypass "$CONNECT" -e 198.51.100.2 "$PORT"
        assert_output --partial "ok local=198.51.100.1:"
    done
    # none: no route, so nothing is bypassed
    run rk --net=none --socket-bypass "$CONNECT" 198.51.100.2 "$PORT"
    assert_output --partial "error ENETUNREACH"
    # host: already the host's network; the flag is refused (cli.bats has the message)
    run rk --net=host --socket-bypass "$CONNECT" -e 198.51.100.2 "$PORT"
    assert_failure 1
    assert_output --partial "--socket-bypass has nothing to bypass with --net=host"
}
