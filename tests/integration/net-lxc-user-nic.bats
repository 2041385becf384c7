#!/usr/bin/env bats
# Purpose: --net=lxc-user-nic with LXC's real setuid helper, as the unprivileged user. The test
# plays root's part of the set-up: a bridge of its own (rkbr0, 10.0.213.1/24, nothing routed
# beyond it), a dnsmasq on it for DHCP and DNS, and an /etc/lxc/lxc-usernet line. Checks:
# the DHCP-configured interface, DNS, TCP to the host, host loopback out of reach,
# --detach-netns, the builtin port driver, /v1/info, and failures leaving nothing behind.
load helpers

BR=rkbr0
BR_IP=10.0.213.1
USERNET_LINE="${TEST_USER:-rk-test} veth rkbr0 100"

setup_file() {
    lxc_bin=$(ls /usr/libexec/lxc/lxc-user-nic /usr/lib/*/lxc/lxc-user-nic 2>/dev/null | head -1)
    [ -n "$lxc_bin" ] || return 0
    command -v dnsmasq >/dev/null || return 0
    ip link del "$BR" 2>/dev/null || true
    ip link add "$BR" type bridge
    ip addr add "$BR_IP/24" dev "$BR"
    ip link set "$BR" up
    mkdir -p /etc/lxc
    touch /etc/lxc/lxc-usernet
    grep -qxF "$USERNET_LINE" /etc/lxc/lxc-usernet || echo "$USERNET_LINE" >>/etc/lxc/lxc-usernet
    LEASES=$(mktemp /tmp/rk-lxc-leases.XXXXXX)
    # --no-ping: offer at once (the default ARP probe costs 3 s per start)
    dnsmasq --pid-file="$LEASES.pid" --interface="$BR" --bind-interfaces \
        --except-interface=lo --listen-address="$BR_IP" \
        --dhcp-range=10.0.213.100,10.0.213.250,1h --dhcp-leasefile="$LEASES" --no-ping \
        --no-resolv --no-hosts --address=/rk-dns-test.example/192.0.2.123 --user=root
    export LEASES
}

teardown_file() {
    [ -n "${LEASES:-}" ] || return 0
    kill "$(cat "$LEASES.pid")" 2>/dev/null || true
    rm -f "$LEASES" "$LEASES.pid"
    ip link del "$BR" 2>/dev/null || true
    sed -i "\\|^$USERNET_LINE\$|d" /etc/lxc/lxc-usernet
}

setup() {
    common_setup
    [ -n "${LEASES:-}" ] || skip "lxc-user-nic (apt-get install lxc) or dnsmasq is not installed"
}

rkl() { rk --net=lxc-user-nic --lxc-user-nic-bridge="$BR" "$@"; }

# The host side of every veth made for this test user is gone (the namespace took it along).
assert_no_veth_left() {
    local i
    for i in $(seq 40); do
        ip -o link show master "$BR" | grep -q "veth$(id -u "$TEST_USER")_" || return 0
        sleep 0.05
    done
    ip -o link show master "$BR" >&2
    return 1
}

@test "lxc-user-nic: eth0 gets a DHCP address, default route and DNS from the bridge; MTU 1500" {
    run rkl --disable-host-loopback --copy-up=/etc \
        sh -c 'ip -o -4 addr show dev eth0; ip route; cat /sys/class/net/eth0/mtu; cat /etc/resolv.conf'
    assert_success
    assert_line --regexp 'inet 10\.0\.213\.[0-9]+/24 '
    assert_line --regexp "^default via $BR_IP dev eth0"
    assert_line 1500
    assert_line "nameserver $BR_IP"
    assert_no_state_dirs
    assert_no_veth_left
}

@test "lxc-user-nic: --mtu and --ifname" {
    run rkl --disable-host-loopback --mtu=1400 --ifname=veth7 \
        sh -c 'ip -o -4 addr show dev veth7; cat /sys/class/net/veth7/mtu'
    assert_success
    assert_line --regexp 'inet 10\.0\.213\.[0-9]+/24 '
    assert_line 1400
}

@test "lxc-user-nic: DNS lookups answered by the bridge's server" {
    run rkl --disable-host-loopback --copy-up=/etc getent hosts rk-dns-test.example
    assert_success
    assert_output --regexp '^192\.0\.2\.123 +rk-dns-test\.example$'
}

@test "lxc-user-nic: TCP to a server on the host's bridge address; host loopback out of reach" {
    timeout 20 nc -l "$BR_IP" 19221 >"$T/got" &
    wait_listen 19221
    run rkl --copy-up=/etc sh -c "echo over-bridge | nc -N -w 5 $BR_IP 19221"
    assert_success
    # implied, said once
    assert_line --partial '--disable-host-loopback is implied for --net=lxc-user-nic'
    wait
    assert_equal "$(cat "$T/got")" over-bridge
    # a server on the host's 127.0.0.1 cannot be reached through the bridge address
    timeout 20 nc -l 127.0.0.1 19222 >"$T/got2" &
    wait_listen 19222
    run rkl --disable-host-loopback sh -c "echo blocked | nc -N -w 3 $BR_IP 19222"
    assert_failure
    kill %1 2>/dev/null || true
    wait || true
    assert_equal "$(cat "$T/got2")" ''
}

@test "lxc-user-nic --detach-netns: eth0 configured in \$STATE_DIR/netns, target in the host netns" {
    local host_ns
    host_ns=$(readlink /proc/$$/ns/net)
    run rkl --detach-netns --disable-host-loopback --copy-up=/etc \
        sh -c 'readlink /proc/self/ns/net; cat "$ROOTLESSKIT_STATE_DIR/resolv.conf"
               nsenter --net="$ROOTLESSKIT_STATE_DIR/netns" ip -o -4 addr show dev eth0'
    assert_success
    assert_line --index 0 "$host_ns"
    assert_line "nameserver $BR_IP"
    assert_line --regexp 'inet 10\.0\.213\.[0-9]+/24 '
    assert_no_veth_left
}

@test "lxc-user-nic: the builtin port driver publishes a server inside; info says dynamicChildIP" {
    echo "rk-lxc" >"$T/index.html"
    chmod 644 "$T/index.html"
    rkl --state-dir="$T/sd" --disable-host-loopback --port-driver=builtin \
        -p 127.0.0.1:19223:80/tcp busybox httpd -f -p 80 -h "$T" >/dev/null 2>&1 &
    wait_for_file "$T/sd/api.sock"
    curl_until http://127.0.0.1:19223/index.html rk-lxc
    assert_output rk-lxc
    run curl -sS --unix-socket "$T/sd/api.sock" http://rootlesskit/v1/info
    kill "$(pgrep -o -f "^$RK .*--state-dir=$T/sd")"
    wait || true
    assert_output --partial '"networkDriver":{"driver":"lxc-user-nic","dynamicChildIP":true}'
}

@test "lxc-user-nic: a missing binary or a bridge we may not use: one clear line, nothing left" {
    run rkl --disable-host-loopback --lxc-user-nic-binary=/nonexistent/lxc-user-nic true
    assert_failure 1
    assert_line --partial 'lxc-user-nic binary "/nonexistent/lxc-user-nic" is not usable'
    assert_no_state_dirs
    run rk --net=lxc-user-nic --lxc-user-nic-bridge=rkbr-none --disable-host-loopback true
    assert_failure 1
    assert_line --partial 'lxc-user-nic failed to create eth0 on bridge rkbr-none'
    assert_line --partial "\"$TEST_USER veth rkbr-none 10\""
    assert_no_state_dirs
    assert_no_veth_left
}
