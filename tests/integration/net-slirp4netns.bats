#!/usr/bin/env bats
# Purpose: --net=slirp4netns with the real helper, as the unprivileged user: the interface,
# address, route and MTU inside, /sys and DNS files, DNS answered through slirp's resolver,
# TCP to the host, --disable-host-loopback, IPv6, and a helper that dies or is missing.
load helpers

setup() {
    common_setup
    command -v slirp4netns >/dev/null || skip "slirp4netns is not installed"
}

# The host's 127.0.0.1 is reachable inside at the gateway, 10.0.2.2, unless disabled.
start_host_server() { # port
    timeout 20 nc -l 127.0.0.1 "$1" >"$T/got" &
    wait_listen "$1"
}

@test "slirp4netns: tap0 with 10.0.2.100/24, default route via 10.0.2.2, MTU 65520" {
    run rk --net=slirp4netns --disable-host-loopback --copy-up=/etc \
        sh -c 'ip -o -4 addr show dev tap0; ip route; cat /sys/class/net/tap0/mtu; ls /sys/class/net'
    assert_success
    assert_line --regexp 'inet 10\.0\.2\.100/24 '
    assert_line --regexp '^default via 10\.0\.2\.2 dev tap0'
    assert_line 65520
    # /sys is the namespace's: only lo and tap0
    assert_line lo
    assert_line tap0
    refute_line eth0
    assert_no_state_dirs
}

@test "slirp4netns: --mtu, --cidr and --ifname" {
    run rk --net=slirp4netns --disable-host-loopback --mtu=1500 --cidr=10.0.7.0/24 --ifname=eth7 \
        --copy-up=/etc sh -c 'ip -o -4 addr show dev eth7; ip route; cat /sys/class/net/eth7/mtu; cat /etc/resolv.conf'
    assert_success
    assert_line --regexp 'inet 10\.0\.7\.100/24 '
    assert_line --regexp '^default via 10\.0\.7\.2 dev eth7'
    assert_line 1500
    assert_line 'nameserver 10.0.7.3'
}

@test "slirp4netns: resolv.conf and hosts are bind-mounted from the state dir" {
    run rk --state-dir="$T/sd" --net=slirp4netns --disable-host-loopback --copy-up=/etc \
        sh -c 'cat /etc/resolv.conf; tail -2 /etc/hosts; cat "$ROOTLESSKIT_STATE_DIR/resolv.conf"; grep -c " /etc/resolv.conf " /proc/self/mountinfo'
    assert_success
    assert_line --index 0 'nameserver 10.0.2.3'
    assert_line "127.0.0.1 $(hostname)"
    assert_line "::1 $(hostname)"
    assert_line --index 4 1
    # the host's files are untouched
    run grep -c 10.0.2.3 /etc/resolv.conf
    assert_output 0
}

@test "slirp4netns: without --copy-up=/etc it warns and still mounts resolv.conf" {
    run rk --net=slirp4netns --disable-host-loopback cat /etc/resolv.conf
    assert_success
    assert_line --partial 'without --copy-up=/etc'
    assert_line 'nameserver 10.0.2.3'
}

@test "slirp4netns: DNS lookups are answered through slirp's resolver (10.0.2.3)" {
    DNS_ADDR=127.0.0.77 lookup_via_driver_dns --net=slirp4netns --disable-host-loopback --copy-up=/etc
    assert_success
    assert_output --regexp '^192\.0\.2\.123 +rk-dns-test\.example$'
}

@test "slirp4netns: TCP to the host's loopback via 10.0.2.2; --disable-host-loopback blocks it" {
    start_host_server 19101
    run rk --net=slirp4netns --copy-up=/etc sh -c 'echo via-gateway | nc -N -w 5 10.0.2.2 19101'
    assert_success
    wait
    run cat "$T/got"
    assert_output via-gateway

    start_host_server 19102
    run rk --net=slirp4netns --disable-host-loopback --copy-up=/etc \
        sh -c 'echo blocked | nc -N -w 3 10.0.2.2 19102'
    assert_failure
    kill %1 2>/dev/null || true
    wait || true
    run cat "$T/got"
    assert_output ''
}

@test "slirp4netns: --ipv6 gives an fd00::/64 address, fd00::3 DNS and TCP to host ::1 via fd00::2" {
    timeout 20 nc -6 -l ::1 19103 >"$T/got" &
    wait_listen 19103
    run rk --net=slirp4netns --ipv6 --copy-up=/etc sh -c '
        for i in $(seq 50); do ip -6 addr show dev tap0 scope global | grep -q fd00: && break; sleep 0.1; done
        ip -6 -o addr show dev tap0 scope global; cat /etc/resolv.conf
        echo over-v6 | nc -N -w 5 fd00::2 19103'
    assert_success
    assert_line --regexp 'inet6 fd00::[0-9a-f:]+/64'
    assert_line 'nameserver fd00::3'
    wait
    run cat "$T/got"
    assert_output over-v6
}

@test "slirp4netns --disable-host-loopback: no way to the host's loopback (any address, TCP, UDP, IPv6)" {
    CONTROL_FLAGS="--net=slirp4netns --ipv6" GW6=fd00::2 assert_host_loopback_unreachable \
        --net=slirp4netns --ipv6 --disable-host-loopback
}

@test "slirp4netns killed mid-run: clear error, non-zero exit, nothing left behind" {
    rk --state-dir="$T/sd" --net=slirp4netns --disable-host-loopback --copy-up=/etc sleep 60 \
        >"$T/out" 2>&1 &
    local rk_pid=$!
    wait_for_file "$T/sd/child_pid"
    local parent
    parent=$(pgrep -o -f "^$RK --state-dir=$T/sd")
    pkill -9 -P "$parent" -x slirp4netns
    local st=0
    wait "$rk_pid" || st=$?
    assert_equal "$st" 1
    run cat "$T/out"
    assert_line --partial 'slirp4netns exited unexpectedly (signal: killed)'
    [ ! -e "$T/sd" ]
}

@test "slirp4netns: a missing or failing binary gives one clear line and leaves nothing" {
    run rk --net=slirp4netns --disable-host-loopback --slirp4netns-binary=/nonexistent/slirp4netns true
    assert_failure 1
    assert_line --partial 'slirp4netns binary "/nonexistent/slirp4netns" (given with --slirp4netns-binary) is not an executable file'
    assert_no_state_dirs
    # a "slirp4netns" that is too old: its --help lacks --netns-type
    printf '#!/bin/sh\necho "Usage: slirp4netns [OPTION]... PID TAPNAME"\n' >"$T/old-slirp"
    chmod 755 "$T/old-slirp"
    run rk --net=slirp4netns --disable-host-loopback --slirp4netns-binary="$T/old-slirp" true
    assert_failure 1
    assert_line --partial 'seems older than v0.4.0'
    assert_no_state_dirs
    # one that passes the probe but dies at start: its last line is in the error
    printf '#!/bin/sh\nif [ "$1" = --help ]; then echo --netns-type --disable-host-loopback; exit 0; fi\necho "cannot open /dev/net/tun: boom" >&2; exit 3\n' >"$T/bad-slirp"
    chmod 755 "$T/bad-slirp"
    run rk --net=slirp4netns --disable-host-loopback --slirp4netns-binary="$T/bad-slirp" true
    assert_failure 1
    assert_line --partial 'slirp4netns failed (exit status 3): cannot open /dev/net/tun: boom'
    assert_no_state_dirs
}

@test "slirp4netns: rootlessctl info reports the driver, DNS and child IP" {
    rk --state-dir="$T/sd" --net=slirp4netns --disable-host-loopback --copy-up=/etc \
        --port-driver=builtin sleep 30 >/dev/null 2>&1 &
    wait_for_file "$T/sd/api.sock"
    run curl -sS --unix-socket "$T/sd/api.sock" http://rootlesskit/v1/info
    kill "$(pgrep -o -f "^$RK --state-dir=$T/sd")"
    wait || true
    assert_output --partial '"networkDriver":{"driver":"slirp4netns","dns":["10.0.2.3"],"childIP":"10.0.2.100"}'
}

# --port-driver=slirp4netns: ports forwarded by slirp4netns' own hostfwd, through its API.
start_s4_ports() {
    echo "rk-s4-port" >"$T/index.html"
    chmod 644 "$T/index.html"
    rk --state-dir="$T/sd" --net=slirp4netns ${HOST_LOOPBACK_FLAG---disable-host-loopback} \
        --copy-up=/etc --pidns --port-driver=slirp4netns "$@" \
        sh -c "(for i in \$(seq 200); do [ -s $T/got ] && break; sleep 0.05; done; echo reply-from-inside) | nc -4 -u -l 5353 >$T/got & exec busybox httpd -f -p 80 -h $T" \
        >/dev/null 2>"$T/rk.err" &
    wait_for_file "$T/sd/api.sock"
    wait_listen 80 t "$(cat "$T/sd/child_pid")"
}
s4ctl() { as_user "$RK_TEST_PREFIX/bin/rootlessctl" --socket "$T/sd/api.sock" "$@"; }

@test "slirp4netns port driver: -p at start-up, add, list, remove; IPv6 protos refused" {
    start_s4_ports -p 127.0.0.1:19210:80/tcp
    run curl -sS -m 3 http://127.0.0.1:19210/index.html
    assert_output rk-s4-port
    run s4ctl add-ports 0.0.0.0:19211:80/tcp4
    assert_success
    run curl -sS -m 3 http://127.0.0.1:19211/index.html
    assert_output rk-s4-port
    run s4ctl list-ports
    assert_line --regexp '^1 +tcp +127\.0\.0\.1 +19210 +80 +$'
    assert_line --regexp '^2 +tcp4 +0\.0\.0\.0 +19211 +80 +$'
    run s4ctl add-ports '[::]:19212:80/tcp6'
    assert_failure
    assert_output --partial 'unsupported protocol "tcp6"'
    run s4ctl add-ports '127.0.0.1:19213:[::1]:80/tcp'
    assert_failure
    assert_output --partial 'unsupported IP (v6?)'
    # Docker >= 28 sends the child IP in IPv4-mapped form: that is 10.0.2.100 (Go: the same)
    run curl -sS --unix-socket "$T/sd/api.sock" -X POST -H 'Content-Type: application/json' \
        -d '{"proto":"tcp","parentIP":"0.0.0.0","parentPort":19214,"childIP":"::ffff:10.0.2.100","childPort":80}' \
        http://rootlesskit/v1/ports
    assert_output --regexp '"id": ?[0-9]+'
    run curl -sS -m 3 http://127.0.0.1:19214/index.html
    assert_output rk-s4-port
    run s4ctl add-ports '[::ffff:127.0.0.1]:19215:[::ffff:10.0.2.100]:80/tcp4'
    assert_success
    run curl -sS -m 3 http://127.0.0.1:19215/index.html
    assert_output rk-s4-port
    run s4ctl remove-ports 2
    assert_success
    run curl -sS -m 3 http://127.0.0.1:19211/index.html
    assert_failure
    run curl -sS --unix-socket "$T/sd/api.sock" http://rootlesskit/v1/info
    assert_output --partial '"portDriver":{"driver":"slirp4netns","protos":["tcp","tcp4","udp","udp4"],"disallowLoopbackChildIP":true}'
    kill "$(pgrep -o -f "^$RK --state-dir=$T/sd")"
    wait || true
}

@test "slirp4netns port driver: UDP round trip" {
    # libslirp drops the namespace's UDP replies to a host-loopback client (they go to the
    # gateway address) under --disable-host-loopback - Go rootlesskit 1.1.0 too; documented.
    HOST_LOOPBACK_FLAG= start_s4_ports -p 127.0.0.1:19214:5353/udp
    run bash -c "(echo hello-udp; sleep 2) | timeout 3 nc -u 127.0.0.1 19214"
    assert_output reply-from-inside
    assert_equal "$(cat "$T/got")" hello-udp
    kill "$(pgrep -o -f "^$RK --state-dir=$T/sd")"
    wait || true
}

@test "slirp4netns port driver: 30 s of new connections per request keep their rate, no timeouts" {
    command -v wrk >/dev/null || skip "wrk is not installed"
    start_s4_ports -p 127.0.0.1:19215:80/tcp
    local i rates=() out first last
    for i in $(seq 30); do
        out=$(wrk -t1 -c10 -d1s -H "Connection: close" http://127.0.0.1:19215/index.html)
        rates+=("$(awk '/Requests\/sec/ {printf "%d", $2}' <<<"$out")")
        if grep -q 'timeout [1-9]' <<<"$out"; then
            echo "second $i: $(grep 'Socket errors' <<<"$out")"
            false
        fi
    done
    echo "requests/s per second: ${rates[*]}"
    first=${rates[0]}
    last=${rates[29]}
    [ "$first" -gt 0 ]
    # No collapse: upstream falls to ~100/s once TIME_WAIT fills (a 50x drop). A tenth of the
    # first second's rate, not a tighter bound: the rate itself is bench/'s business, and load
    # beside the test halved it once here (5561 -> 2592/s) without anything being wrong.
    [ $((last * 10)) -ge "$first" ]
    kill "$(pgrep -o -f "^$RK --state-dir=$T/sd")"
    wait || true
}

@test "slirp4netns stopped: add-ports fails at once naming it, info answers, SIGCONT recovers" {
    assert_stopped_helper_fails_fast slirp4netns --net=slirp4netns --disable-host-loopback \
        --copy-up=/etc --port-driver=slirp4netns
}

# slirp4netns serves its API socket one client at a time, inside its packet loop: a client that
# connects and says nothing wedges it (a slirp4netns limit). Our event loop must not wedge with
# it: the port change waits (and fails after its deadline) while api.sock answers at once.
@test "slirp4netns wedged by an idle API client: info answers during add-ports, which fails in 3 s" {
    rk --state-dir="$T/sd" --net=slirp4netns --disable-host-loopback --copy-up=/etc \
        --port-driver=slirp4netns sleep 60 >/dev/null 2>"$T/rk.err" 3>&- &
    wait_for_file "$T/sd/api.sock"
    local parent ctl="$RK_TEST_PREFIX/bin/rootlessctl" s4="$T/sd/.s4nn.sock"
    parent=$(pgrep -o -f "^$RK --state-dir=$T/sd")
    s4_clients() { [ "$(ss -Hx state connected | grep -cF "$s4")" -ge 1 ]; }
    # a connection waiting in the listen backlog (Recv-Q of the listener)
    s4_waiting() { ss -Hxl | awk -v p="$s4" '$5 == p && $3 >= 1 { f = 1 } END { exit !f }'; }
    as_user nc -d -U "$s4" 3>&- &
    local idle=$!
    poll_until s4_clients
    as_user "$ctl" --socket "$T/sd/api.sock" add-ports 127.0.0.1:19632:80/tcp >"$T/add.out" 2>&1 3>&- &
    local add=$!
    poll_until s4_waiting # our request is in, waiting behind the idle client
    run timeout 1 runuser -u "$TEST_USER" -- "$ctl" --socket "$T/sd/api.sock" info
    assert_success
    assert_line '- Port Driver: slirp4netns'
    local st=0
    wait "$add" || st=$?
    assert_equal "$st" 1
    run cat "$T/add.out"
    assert_output --partial 'slirp4netns did not answer on its API socket within 3 s'
    # Once the idle client is gone, slirp4netns reads the request we gave up on and sets the
    # forward up anyway. The next change first removes that forward we do not know, so the same
    # port can be added, and the lists agree.
    pkill -f "nc -d -U $s4" || true
    wait "$idle" || true
    run runuser -u "$TEST_USER" -- "$ctl" --socket "$T/sd/api.sock" add-ports 127.0.0.1:19632:80/tcp
    assert_success
    run runuser -u "$TEST_USER" -- "$ctl" --socket "$T/sd/api.sock" list-ports
    assert_equal "$(grep -c 19632 <<<"$output")" 1
    run grep 'which it set up after its deadline' "$T/rk.err"
    assert_success
    kill "$parent"
    wait || true
}
