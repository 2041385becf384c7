#!/usr/bin/env bats
# Purpose: today's pasta (passt 2026, which has --host-lo-to-ns-lo and pesto) under the
# rootlesskit in $LANE_BIN: the network, the implicit port driver (a loopback-only server inside
# reachable on the host's loopback), --net=auto choosing pasta, and --disable-host-loopback
# leaving no way to the host's loopback, attached and with --detach-netns.
load lane-helpers

setup() { make_scratch; }
teardown() {
    local pid
    for pid in $(marked_pids); do kill -9 "$pid" 2>/dev/null || true; done
    pkill -f "nc -k .*-l .*(1860[4568]|18610)" 2>/dev/null || true
    pkill -f "httpd -f -p 198.51.100.1:18601" 2>/dev/null || true
    rm -rf "$D"
}

@test "--net=pasta: tap0 with 10.0.2.100/24, default route via 10.0.2.2, TCP out to this machine" {
    echo out-ok >"$D/index.html"
    chmod 644 "$D/index.html"
    busybox httpd -f -p 198.51.100.1:18601 -h "$D" 3>&- &
    run as_user rootlesskit --net=pasta --disable-host-loopback --copy-up=/etc sh -c \
        'ip -o -4 addr show dev tap0; ip route; curl -sS -m 5 http://198.51.100.1:18601/index.html'
    assert_success
    assert_line --regexp 'inet 10\.0\.2\.100/24 '
    assert_line --regexp '^default via 10\.0\.2\.2 dev tap0'
    assert_line out-ok
}

@test "--port-driver=implicit: servers inside on 0.0.0.0 and on 127.0.0.1 are reachable on the host" {
    echo implicit-ok >"$D/index.html"
    chmod 644 "$D/index.html"
    as_user rootlesskit --state-dir="$D/sd" --net=pasta --port-driver=implicit \
        --disable-host-loopback --copy-up=/etc sh -c \
        "busybox httpd -f -p 18602 -h $D & exec busybox httpd -f -p 127.0.0.1:18603 -h $D" \
        >"$D/rk.log" 2>&1 &
    curl_until http://127.0.0.1:18602/index.html implicit-ok
    assert_output implicit-ok
    # a loopback-only server inside needs pasta's --host-lo-to-ns-lo (Docker's -p 127.0.0.1:...)
    curl_until http://127.0.0.1:18603/index.html implicit-ok
    assert_output implicit-ok
    run curl -sS --unix-socket "$D/sd/api.sock" http://rootlesskit/v1/info
    assert_output --partial '"driver":"pasta"'
}

@test "--net=auto chooses pasta here, and says so in /v1/info" {
    [ "$LANE_BIN" = /usr/bin ] || skip_na "--net=auto is ours (not in Go rootlesskit)"
    as_user rootlesskit --state-dir="$D/sd" --net=auto --disable-host-loopback --copy-up=/etc \
        sleep 30 >"$D/rk.log" 2>&1 &
    local i
    for i in $(seq 100); do [ -S "$D/sd/api.sock" ] && break; sleep 0.1; done
    run curl -sS --unix-socket "$D/sd/api.sock" http://rootlesskit/v1/info
    assert_output --partial '"driver":"pasta"'
}

@test "--disable-host-loopback: no way to the host's loopback (127.0.0.1, ::1, gateway, DNS, UDP)" {
    nc -k -l 127.0.0.1 18604 >"$D/got4" 3>&- &
    nc -k -6 -l ::1 18605 >"$D/got6" 3>&- &
    nc -k -u -l 127.0.0.1 18606 >"$D/gotu" 3>&- &
    wait_listen_here 18604
    wait_listen_here 18605
    wait_listen_here 18606 u
    run as_user rootlesskit --net=pasta --disable-host-loopback --copy-up=/etc sh -c '
        nc -z -w 2 127.0.0.1 18604 && echo LEAK 127.0.0.1
        nc -z -w 2 ::1 18605 && echo LEAK ::1
        nc -z -w 2 10.0.2.2 18604 && echo LEAK gateway
        nc -z -w 2 10.0.2.3 18604 && echo LEAK dns
        echo u | nc -u -w 1 127.0.0.1 18606
        echo u | nc -u -w 1 10.0.2.2 18606
        echo probes-done'
    assert_line probes-done
    refute_output --partial LEAK
    assert_equal "$(cat "$D/got4" "$D/got6" "$D/gotu")" ''
    # the control: without the flag the host's loopback is reachable through the gateway
    timeout 10 nc -l 127.0.0.1 18607 >"$D/control" 3>&- &
    wait_listen_here 18607
    run as_user rootlesskit --net=pasta --copy-up=/etc sh -c 'echo reached | nc -N -w 3 10.0.2.2 18607'
    wait $! || true
    assert_equal "$(cat "$D/control")" reached
}

@test "--detach-netns with current pasta: implicit ports forward into the detached namespace, loopback stays closed" {
    echo detach-ok >"$D/index.html"
    chmod 644 "$D/index.html"
    nc -k -l 127.0.0.1 18608 >"$D/got-detach" 3>&- &
    # the positive control: the same probe reaches a listener on the lane's non-loopback address
    nc -k -l 198.51.100.1 18610 >/dev/null 3>&- &
    wait_listen_here 18608
    wait_listen_here 18610
    as_user rootlesskit --state-dir="$D/sd" --net=pasta --port-driver=implicit --detach-netns \
        --disable-host-loopback --copy-up=/etc sh -c \
        'nsenter --net="$ROOTLESSKIT_STATE_DIR/netns" sh -c "nc -z -w 2 198.51.100.1 18610 && echo reached >'"$D"'/control; nc -z -w 2 127.0.0.1 18608 && echo LEAK >'"$D"'/leak; nc -z -w 2 10.0.2.2 18608 && echo LEAK >>'"$D"'/leak; exec busybox httpd -f -p 18609 -h '"$D"'"' \
        >"$D/rk.log" 2>&1 &
    curl_until http://127.0.0.1:18609/index.html detach-ok
    assert_output detach-ok
    assert_equal "$(cat "$D/control")" reached
    [ ! -e "$D/leak" ]
    assert_equal "$(cat "$D/got-detach")" ''
}
