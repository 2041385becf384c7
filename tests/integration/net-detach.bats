#!/usr/bin/env bats
# Purpose: --detach-netns with every network driver, as the unprivileged user: the target stays
# in the host's network namespace while the driver's namespace is bound on $STATE_DIR/netns
# (usable with `nsenter --net`); interface, DNS, TCP to the host, host loopback on/off, IPv6,
# the port drivers dialing into it, /etc and /sys left alone, and a helper killed mid-run.
load helpers

setup() {
    common_setup
    command -v nsenter >/dev/null || skip "nsenter (util-linux) is not installed"
    # Runs its arguments inside the detached namespace.
    printf '#!/bin/sh\nexec nsenter --net="$ROOTLESSKIT_STATE_DIR/netns" "$@"\n' >"$T/in-netns"
    # The same, with the driver's resolv.conf mounted (in the target's own mount namespace).
    printf '#!/bin/sh\nmount --bind "$ROOTLESSKIT_STATE_DIR/resolv.conf" /etc/resolv.conf || exit 99\nexec nsenter --net="$ROOTLESSKIT_STATE_DIR/netns" "$@"\n' >"$T/in-netns-dns"
    chmod 755 "$T/in-netns" "$T/in-netns-dns"
}

need() { command -v "$1" >/dev/null || skip "$1 is not installed"; }

# The checks every user-mode driver shares; $1 = driver, $2 = gateway, $3 = DNS.
check_interface() {
    local gw=${2:-10.0.2.2} dns=${3:-10.0.2.3}
    local host_ns
    host_ns=$(readlink /proc/$$/ns/net)
    run rk --state-dir="$T/sd" --net="$1" --detach-netns --disable-host-loopback --copy-up=/etc \
        sh -c 'readlink /proc/self/ns/net; cat /etc/resolv.conf; grep -c "^sysfs /sys " /proc/self/mounts
               echo "sd: $(cat "$ROOTLESSKIT_STATE_DIR/resolv.conf")"
               '"$T"'/in-netns sh -c "ip -o -4 addr show dev tap0; ip route; ip -o link show tap0"'
    assert_success
    # the target is in the host's network namespace; /etc/resolv.conf and /sys are the host's
    assert_line --index 0 "$host_ns"
    refute_line "nameserver $dns"
    assert_line "sd: nameserver $dns"
    # the detached namespace has the configured device
    assert_line --regexp 'inet 10\.0\.2\.100/24 '
    assert_line --regexp "^default via ${gw//./\\.} dev tap0"
    assert_line --regexp 'tap0: .* mtu 65520 '
    assert_no_state_dirs
    [ ! -e "$T/sd" ]
}

@test "detach slirp4netns: target in the host netns, tap0 configured in \$STATE_DIR/netns" {
    need slirp4netns
    check_interface slirp4netns
}

@test "detach pasta: target in the host netns, tap0 configured in \$STATE_DIR/netns" {
    need pasta
    check_interface pasta
}

@test "detach gvisor-tap-vsock (embedded): target in the host netns, tap0 in \$STATE_DIR/netns" {
    check_interface gvisor-tap-vsock 10.0.2.1 10.0.2.1
}

@test "detach none: a namespace with only loopback, up" {
    run rk --net=none --detach-netns sh -c "$T/in-netns ip -o link; $T/in-netns ip -o -4 addr"
    assert_success
    assert_line --regexp '^1: lo: <LOOPBACK,UP,LOWER_UP>'
    assert_line --regexp 'lo +inet 127\.0\.0\.1/8'
    refute_line --regexp '^2: '
}

@test "detach: DNS lookups inside are answered by the driver's resolver" {
    need slirp4netns
    DNS_ADDR=127.0.0.79 lookup_via_driver_dns --net=slirp4netns --detach-netns \
        --disable-host-loopback --copy-up=/etc "$T/in-netns-dns"
    assert_success
    assert_output --regexp '^192\.0\.2\.123 +rk-dns-test\.example$'
    need pasta
    DNS_ADDR=127.0.0.80 lookup_via_driver_dns --net=pasta --detach-netns \
        --disable-host-loopback --copy-up=/etc "$T/in-netns-dns"
    assert_success
    assert_output --regexp '^192\.0\.2\.123 +rk-dns-test\.example$'
}

@test "detach slirp4netns: TCP to host loopback via 10.0.2.2; --disable-host-loopback blocks it" {
    need slirp4netns
    timeout 20 nc -l 127.0.0.1 19111 >"$T/got" &
    wait_listen 19111
    run rk --net=slirp4netns --detach-netns --copy-up=/etc \
        "$T/in-netns" sh -c 'echo via-gateway | nc -N -w 5 10.0.2.2 19111'
    assert_success
    wait
    assert_equal "$(cat "$T/got")" via-gateway

    timeout 20 nc -l 127.0.0.1 19112 >"$T/got2" &
    wait_listen 19112
    run rk --net=slirp4netns --detach-netns --disable-host-loopback --copy-up=/etc \
        "$T/in-netns" sh -c 'echo blocked | nc -N -w 3 10.0.2.2 19112'
    assert_failure
    kill %1 2>/dev/null || true
    wait || true
    assert_equal "$(cat "$T/got2")" ''
}

@test "detach pasta: TCP to host loopback via 10.0.2.2; --disable-host-loopback blocks it" {
    need pasta
    need ip
    # as in net-pasta.bats: a test-made netns whose only route is a black hole
    local rkcmd="runuser -u $TEST_USER -- env $MARK PATH=$USER_PATH $RK --copy-up=/etc --net=pasta --detach-netns"
    run unshare -n sh -c "ip link set lo up && ip link add rkv0 type veth peer name rkv1 &&
        ip addr add 203.0.113.1/24 dev rkv0 && ip link set rkv0 up && ip link set rkv1 up &&
        ip route add default via 203.0.113.254 || exit 99
        $SH_WAIT_LISTEN
        (timeout 10 nc -l 127.0.0.1 19411 >$T/got &) ; wait_listen 19411
        $rkcmd $T/in-netns sh -c 'echo via-gateway | nc -N -w 5 10.0.2.2 19411' || exit 1
        (timeout 10 nc -l 127.0.0.1 19412 >$T/got2 &) ; wait_listen 19412
        ! $rkcmd --disable-host-loopback $T/in-netns sh -c 'echo blocked | nc -N -w 3 10.0.2.2 19412'"
    assert_success
    wait_for_file -s "$T/got"
    assert_equal "$(cat "$T/got")" via-gateway
    assert_equal "$(cat "$T/got2")" ''
    pkill -f "nc -l 127.0.0.1 1941[12]" || true
}

@test "detach --disable-host-loopback: no way to the host's loopback, for every driver" {
    need slirp4netns
    need pasta
    local net gw dns
    for net in slirp4netns pasta gvisor-tap-vsock; do
        gw=10.0.2.2 dns=10.0.2.3
        [ "$net" = gvisor-tap-vsock ] && gw=10.0.2.1 dns=10.0.2.1
        GW=$gw DNS=$dns IN_NS=$T/in-netns CONTROL_FLAGS="--net=$net --detach-netns" \
            assert_host_loopback_unreachable --net=$net --detach-netns --disable-host-loopback
    done
}

@test "detach slirp4netns --ipv6: fd00::/64 address inside, TCP to host ::1 via fd00::2" {
    need slirp4netns
    timeout 20 nc -6 -l ::1 19113 >"$T/got" &
    wait_listen 19113
    run rk --net=slirp4netns --detach-netns --ipv6 --copy-up=/etc "$T/in-netns" sh -c '
        for i in $(seq 50); do ip -6 addr show dev tap0 scope global | grep -q fd00: && break; sleep 0.1; done
        ip -6 -o addr show dev tap0 scope global
        echo over-v6 | nc -N -w 5 fd00::2 19113'
    assert_success
    assert_line --regexp 'inet6 fd00::[0-9a-f:]+/64'
    wait
    assert_equal "$(cat "$T/got")" over-v6
}

# A server inside the detached namespace, published with -p and reached from the host.
check_port() { # flags...
    echo "rk-detach-port" >"$T/index.html"
    chmod 644 "$T/index.html"
    rk --state-dir="$T/sd" --detach-netns --copy-up=/etc "$@" \
        "$T/in-netns" busybox httpd -f -p 80 -h "$T" >"$T/out" 2>&1 &
    wait_for_file "$T/sd/api.sock"
    curl_until http://127.0.0.1:19114/index.html rk-detach-port
    kill "$(pgrep -o -f "^$RK --state-dir=$T/sd")"
    wait || true
    assert_output rk-detach-port
}

@test "detach: the builtin port driver dials into the detached namespace" {
    check_port --net=none --port-driver=builtin -p 127.0.0.1:19114:80/tcp
    need slirp4netns
    check_port --net=slirp4netns --disable-host-loopback --port-driver=builtin \
        -p 127.0.0.1:19114:80/tcp
}

@test "detach: the slirp4netns port driver forwards into the detached namespace" {
    need slirp4netns
    check_port --net=slirp4netns --disable-host-loopback --port-driver=slirp4netns \
        -p 127.0.0.1:19114:80/tcp
}

@test "detach pasta --port-driver=implicit: a port listened on inside is reachable" {
    need pasta
    echo "rk-detach-port" >"$T/index.html"
    chmod 644 "$T/index.html"
    rk --state-dir="$T/sd" --detach-netns --net=pasta --port-driver=implicit \
        --disable-host-loopback --copy-up=/etc \
        "$T/in-netns" busybox httpd -f -p 19115 -h "$T" >/dev/null 2>&1 &
    wait_for_file "$T/sd/api.sock"
    curl_until http://127.0.0.1:19115/index.html rk-detach-port
    kill "$(pgrep -o -f "^$RK --state-dir=$T/sd")"
    wait || true
    assert_output rk-detach-port
}

@test "detach slirp4netns killed mid-run: clear error, non-zero exit, nothing left behind" {
    need slirp4netns
    rk --state-dir="$T/sd" --net=slirp4netns --detach-netns --disable-host-loopback \
        --copy-up=/etc sleep 60 >"$T/out" 2>&1 &
    local rk_pid=$!
    wait_for_file "$T/sd/child_pid"
    pkill -9 -P "$(pgrep -o -f "^$RK --state-dir=$T/sd")" -x slirp4netns
    local st=0
    wait "$rk_pid" || st=$?
    assert_equal "$st" 1
    run cat "$T/out"
    assert_line --partial 'slirp4netns exited unexpectedly (signal: killed)'
    [ ! -e "$T/sd" ]
}

@test "detach slirp4netns: the sandbox is off for auto and an error for true (slirp4netns#317)" {
    need slirp4netns
    run rk --net=slirp4netns --detach-netns --slirp4netns-sandbox=auto --disable-host-loopback \
        "$T/in-netns" ip -o -4 addr show dev tap0
    assert_success
    assert_output --partial 'inet 10.0.2.100/24'
    run rk --net=slirp4netns --detach-netns --slirp4netns-sandbox=true --disable-host-loopback true
    assert_failure 1
    assert_output --partial 'not supported with --detach-netns'
    assert_no_state_dirs
}
