#!/usr/bin/env bats
# Purpose: Go rootlesskit 2.x as a wire peer: its rootlessctl drives our api.sock, and our
# rootlessctl drives its api.sock, through every verb (info, add-ports, list-ports with and
# without --json, remove-ports), with a real server behind the published port.
load lane-helpers

GO=/opt/rootlesskit-go/bin

setup() {
    [ -x "$GO/rootlesskit" ] || skip_env "Go rootlesskit is not in this root filesystem"
    make_scratch
    echo peer-ok >"$D/index.html"
    chmod 644 "$D/index.html"
}
teardown() {
    local pid
    for pid in $(marked_pids); do kill -9 "$pid" 2>/dev/null || true; done
    rm -rf "$D"
}

# start SERVER_BIN: rootlesskit from SERVER_BIN with the builtin port driver and a web server.
start() {
    as_user "$1/rootlesskit" --state-dir="$D/sd" --net=slirp4netns --disable-host-loopback \
        --copy-up=/etc --port-driver=builtin busybox httpd -f -p 80 -h "$D" >"$D/rk.log" 2>&1 &
    local i
    for i in $(seq 100); do [ -S "$D/sd/api.sock" ] && break; sleep 0.1; done
    [ -S "$D/sd/api.sock" ]
}

# every_verb CLIENT_BIN: the client's rootlessctl through each verb against $D/sd/api.sock.
every_verb() {
    local ctl="$1/rootlessctl --socket=$D/sd/api.sock"
    run as_user $ctl info
    assert_success
    assert_output --partial 'slirp4netns'
    assert_output --partial 'builtin'
    run as_user $ctl info --json
    assert_success
    assert_output --partial '"apiVersion"'
    run as_user $ctl add-ports 127.0.0.1:18701:80/tcp
    assert_success
    assert_output 1
    curl_until http://127.0.0.1:18701/index.html peer-ok
    assert_output peer-ok
    run as_user $ctl add-ports '0.0.0.0:18702:80/tcp4' '[::1]:18703:80/tcp6'
    assert_success
    run as_user $ctl list-ports
    assert_success
    assert_line --regexp '^1 +tcp +127\.0\.0\.1 +18701 +80 *$'
    assert_line --regexp '^3 +tcp6 +::1 +18703 +80 *$'
    run as_user $ctl list-ports --json
    assert_success
    assert_output --partial '"parentPort":18702'
    run as_user $ctl add-ports 127.0.0.1:18701:80/tcp
    assert_failure
    assert_output --partial 'conflict with ID 1'
    run as_user $ctl remove-ports 1 2 3
    assert_success
    run as_user $ctl list-ports --json
    refute_output --partial 18701
    run curl -sS -m 2 http://127.0.0.1:18701/index.html
    assert_failure
}

@test "Go rootlessctl against our api.sock: every verb" {
    start /usr/bin
    every_verb "$GO"
}

@test "our rootlessctl against Go rootlesskit's api.sock: every verb" {
    start "$GO"
    every_verb /usr/bin
}
