#!/usr/bin/env bats
# Purpose: today's Docker (Debian unstable's docker.io, dockerd-rootless.sh unchanged) on the
# rootlesskit in $LANE_BIN, for one network x port driver pair ($LANE_NET, $LANE_PORT) with or
# without --detach-netns ($LANE_DETACH=1). The same file runs against our .deb and against Go
# rootlesskit as the control (lane.sh makes the table). Docker >= 28 publishes ports by calling
# api.sock itself. One daemon serves the whole file; the tests run in order, the last stops it.
load lane-helpers

DOCKERD_ROOTLESS=/usr/share/docker.io/contrib/dockerd-rootless.sh
SERVER_IP=198.51.100.1 # the lane's non-loopback address (enter.sh)

setup_file() {
    make_scratch
    make_busybox_rootfs_tar "$D/image.tar"
    mkdir "$D/ctx"
    printf 'FROM rk-bb\nRUN echo "built-$(id -u)" >/built\nCMD ["cat", "/built"]\n' >"$D/ctx/Dockerfile"
    chmod -R a+rX "$D/ctx"
    local flags=""
    [ "${LANE_DETACH:-0}" = 1 ] && flags=--detach-netns
    [ "${LANE_BYPASS:-0}" = 1 ] && flags=--socket-bypass # (one word: EXTRA_ENV is split)
    EXTRA_ENV="DOCKERD_ROOTLESS_ROOTLESSKIT_NET=$LANE_NET DOCKERD_ROOTLESS_ROOTLESSKIT_PORT_DRIVER=$LANE_PORT DOCKERD_ROOTLESS_ROOTLESSKIT_FLAGS=$flags" \
        as_user "$DOCKERD_ROOTLESS" --storage-driver=vfs >"$D/dockerd.log" 2>&1 &
    local i
    for i in $(seq 120); do
        dk version >/dev/null 2>&1 && break
        [ -n "$(marked_pids)" ] || break
        sleep 0.5
    done
    dk version >/dev/null 2>&1 || { tail -15 "$D/dockerd.log" >&3; return 1; }
    dk import "$D/image.tar" rk-bb >/dev/null
}

teardown_file() {
    [ -n "${D:-}" ] || return 0
    local pid
    for pid in $(marked_pids); do kill -9 "$pid" 2>/dev/null || true; done
    # the servers the tests started on the lane's side (closed fds: bats must not wait on them)
    pkill -f "httpd -f -p $SERVER_IP:18310" 2>/dev/null || true
    pkill -f "nc -k -l .* 1831[12]" 2>/dev/null || true
    rm -rf "$D" 2>/dev/null || true
}

dk() { EXTRA_ENV="DOCKER_HOST=unix://$D/xdg/docker.sock ${DK_ENV:-}" as_user docker "$@"; }
sd() { echo "$D/xdg/dockerd-rootless"; }
rk_parent() { pgrep -o -f "rootlesskit .*dockerd-rootless.sh"; }
# The port driver forwards IPv6 host addresses.
has_v6_ports() { [ "$LANE_PORT" = builtin ]; }
# Runs "$@" as the user inside rootlesskit's network namespace (the detached one with
# --detach-netns), with the namespace's user and mount namespaces.
in_rk_netns() {
    local child
    child=$(cat "$(sd)/child_pid")
    if [ "${LANE_DETACH:-0}" = 1 ]; then
        as_user nsenter -U --preserve-credentials -m -t "$child" nsenter --net="$(sd)/netns" "$@"
    else
        as_user nsenter -U --preserve-credentials -m -n -t "$child" "$@"
    fi
}
web() { # NAME -p SPEC...: a container serving "hello-NAME" on port 80
    local name=$1
    shift
    dk run -d --name "$name" "$@" rk-bb sh -c \
        "mkdir -p /www && echo hello-$name >/www/index.html && exec httpd -f -p 80 -h /www"
}

@test "dockerd-rootless.sh runs under the rootlesskit in \$LANE_BIN" {
    run readlink "/proc/$(rk_parent)/exe"
    assert_output "$LANE_BIN/rootlesskit"
    run dk info --format '{{.SecurityOptions}}'
    assert_output --partial rootless
}

@test "docker run: uid 0 inside, mapped to the user outside" {
    run dk run --rm rk-bb id -u
    assert_success
    assert_output 0
    run dk run --rm rk-bb cat /proc/self/uid_map
    assert_output --regexp "^ +0 +$(id -u "$TEST_USER") +1"
}

@test "-p 18301:80 (all addresses): reachable on 127.0.0.1 and on a non-loopback address" {
    run web all -p 18301:80
    assert_success
    curl_until http://127.0.0.1:18301/index.html hello-all
    assert_output hello-all
    curl_until http://$SERVER_IP:18301/index.html hello-all
    assert_output hello-all
}

@test "-p 127.0.0.1:18302:80: reachable on 127.0.0.1, not on other addresses" {
    run web lo -p 127.0.0.1:18302:80
    assert_success
    curl_until http://127.0.0.1:18302/index.html hello-lo
    assert_output hello-lo
    run curl -sS -m 2 http://$SERVER_IP:18302/index.html
    assert_failure
}

@test "-p [::1]:18303:80: reachable over IPv6 (port drivers that forward IPv6)" {
    has_v6_ports || skip_na "port driver $LANE_PORT forwards IPv4 only"
    run web v6 -p '[::1]:18303:80'
    assert_success
    curl_until 'http://[::1]:18303/index.html' hello-v6
    assert_output hello-v6
}

@test "-p 18304:5000/udp: datagrams reach the container (and its replies come back)" {
    run dk run -d --name udp -p 18304:5000/udp rk-bb udp-echo 5000
    assert_success
    local i reply=
    # Until the port is forwarded (pasta's implicit driver notices a new port within about a
    # second), a datagram gets ICMP port unreachable and nc returns at once: pace the tries,
    # or 20 of them are over before the forward exists.
    for i in $(seq 40); do
        reply=$(echo "datagram-$i" | nc -u -w 1 127.0.0.1 18304 || true)
        dk logs udp 2>&1 | grep -q datagram- && break
        sleep 0.25
    done
    run dk logs udp
    assert_output --partial datagram-
    # Replies to a loopback client: the builtin driver carries them; libslirp drops them under
    # --disable-host-loopback (they come from the gateway address; upstream documents it).
    if [ "$LANE_PORT" = builtin ]; then
        for i in $(seq 10); do
            [ -n "$reply" ] && break
            reply=$(echo "again-$i" | nc -u -w 1 127.0.0.1 18304 || true)
        done
        run echo "$reply"
        assert_output --regexp '^(datagram|again)-[0-9]+$'
    fi
}

@test "docker rm -f: the published ports go away on the host" {
    run dk rm -f all lo udp
    assert_success
    dk rm -f v6 >/dev/null 2>&1 || true
    wait_port_closed 18301
    wait_port_closed 18302
    wait_port_closed 18303
    if [ "$LANE_PORT" != implicit ]; then
        run curl -sS --unix-socket "$(sd)/api.sock" http://rootlesskit/v1/ports
        assert_success
        assert_output --regexp '^(\[\]|null)$'
    fi
}

@test "a container reaches a server on this machine's non-loopback address" {
    mkdir -p "$D/www"
    echo egress-ok >"$D/www/index.html"
    busybox httpd -f -p "$SERVER_IP:18310" -h "$D/www" 3>&- &
    run dk run --rm rk-bb wget -q -T 5 -O - "http://$SERVER_IP:18310/index.html"
    assert_success
    assert_output egress-ok
}

@test "a container on an --internal network reaches nothing outside it (with the bypass too)" {
    run dk network create --internal rk-internal
    assert_success
    # the server of the test above is still there
    run dk run --rm --network rk-internal rk-bb wget -q -T 3 -O - "http://$SERVER_IP:18310/index.html"
    assert_failure
    refute_output egress-ok
    dk network rm rk-internal >/dev/null
}

@test "--disable-host-loopback holds: no way to the host's loopback from a container or the daemon's namespace" {
    nc -k -l 127.0.0.1 18311 >"$D/loopback-got" 3>&- &
    # the positive control: the same probes reach a listener on the lane's non-loopback address
    nc -k -l "$SERVER_IP" 18312 >/dev/null 3>&- &
    wait_listen_here 18311
    wait_listen_here 18312
    local gw=10.0.2.2 dns=10.0.2.3
    [ "$LANE_NET" = gvisor-tap-vsock ] && gw=10.0.2.1 dns=10.0.2.1
    run dk run --rm rk-bb sh -c "
        echo x | nc -w 2 $SERVER_IP 18312 && echo control-reached
        echo x | nc -w 2 $gw 18311 && echo LEAK gateway
        echo x | nc -w 2 $dns 18311 && echo LEAK dns
        echo probes-done"
    assert_line control-reached
    assert_line probes-done
    refute_output --partial LEAK
    run in_rk_netns sh -c "
        nc -z -w 2 $SERVER_IP 18312 && echo control-reached
        nc -z -w 2 127.0.0.1 18311 && echo LEAK loopback
        nc -z -w 2 $gw 18311 && echo LEAK gateway
        nc -z -w 2 $dns 18311 && echo LEAK dns
        echo probes-done"
    assert_line control-reached
    assert_line probes-done
    refute_output --partial LEAK
    assert_equal "$(cat "$D/loopback-got")" ''
}

@test "docker buildx build (BuildKit) works and its image runs" {
    run dk buildx build -q -t rk-built "$D/ctx"
    assert_success
    run dk run --rm rk-built
    assert_output built-0
}

@test "stopping rootlesskit leaves no process behind" {
    dk run -d --name sleeper rk-bb sleep 600 >/dev/null
    stop_leaves_nothing "$(rk_parent)" "$(sd)"
}
