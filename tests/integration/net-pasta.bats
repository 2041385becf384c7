#!/usr/bin/env bats
# Purpose: --net=pasta (Debian 12's passt, "unknown version": features are probed) as the
# unprivileged user: pasta configures the interface, DNS through its forwarder, TCP to the
# host, --disable-host-loopback, the implicit port driver, and a helper that dies or is missing.
load helpers

setup() {
    common_setup
    command -v pasta >/dev/null || skip "pasta is not installed (apt-get install passt)"
}

@test "pasta: tap0 with 10.0.2.100/24, default route via 10.0.2.2, MTU 65520, DNS files" {
    run rk --net=pasta --disable-host-loopback --copy-up=/etc \
        sh -c 'ip -o -4 addr show dev tap0; ip route; cat /sys/class/net/tap0/mtu; cat /etc/resolv.conf'
    assert_success
    assert_line --regexp 'inet 10\.0\.2\.100/24 '
    assert_line --regexp '^default via 10\.0\.2\.2 dev tap0'
    assert_line 65520
    assert_line 'nameserver 10.0.2.3'
    assert_no_state_dirs
}

@test "pasta: --mtu, --cidr and --ifname" {
    run rk --net=pasta --disable-host-loopback --mtu=1500 --cidr=10.0.7.0/24 --ifname=eth7 \
        --copy-up=/etc sh -c 'ip -o -4 addr show dev eth7; ip route; cat /sys/class/net/eth7/mtu'
    assert_success
    assert_line --regexp 'inet 10\.0\.7\.100/24 '
    assert_line --regexp '^default via 10\.0\.7\.2 dev eth7'
    assert_line 1500
}

@test "pasta: DNS lookups are answered through pasta's forwarder (10.0.2.3)" {
    DNS_ADDR=127.0.0.78 lookup_via_driver_dns --net=pasta --disable-host-loopback --copy-up=/etc
    assert_success
    assert_output --regexp '^192\.0\.2\.123 +rk-dns-test\.example$'
}

# pasta reaches the outside through the host's network: to keep every packet on this machine,
# these run in a network namespace the test creates, whose only route leads into one end of
# a veth pair with nothing behind it (a black hole). Its loopback is the "host loopback" here.
in_test_netns() { # script
    unshare -n sh -c "ip link set lo up && ip link add rkv0 type veth peer name rkv1 &&
        ip addr add 203.0.113.1/24 dev rkv0 && ip link set rkv0 up && ip link set rkv1 up &&
        ip route add default via 203.0.113.254 || exit 99
        $1"
}

@test "pasta: TCP to the host's loopback via 10.0.2.2; --disable-host-loopback blocks it" {
    command -v ip >/dev/null || skip "iproute2 is not installed"
    local rkcmd="runuser -u $TEST_USER -- env $MARK PATH=$USER_PATH $RK --copy-up=/etc --net=pasta"
    run in_test_netns "$SH_WAIT_LISTEN; (timeout 10 nc -l 127.0.0.1 19401 >$T/got &) ; wait_listen 19401;
        $rkcmd sh -c 'echo via-gateway | nc -N -w 5 10.0.2.2 19401'"
    assert_success
    wait_for_file -s "$T/got"
    assert_equal "$(cat "$T/got")" via-gateway

    run in_test_netns "$SH_WAIT_LISTEN; (timeout 10 nc -l 127.0.0.1 19402 >$T/got2 &) ; wait_listen 19402;
        $rkcmd --disable-host-loopback sh -c 'echo blocked | nc -N -w 3 10.0.2.2 19402'"
    assert_failure
    assert_equal "$(cat "$T/got2")" ''
    pkill -f "nc -l 127.0.0.1 1940[12]" || true
}

@test "pasta --disable-host-loopback: no way to the host's loopback (127.0.0.1 inside, gateway, DNS, UDP)" {
    # pasta forwards the namespace's own loopback ports to the host's by default (-T/-U auto):
    # --no-map-gw alone left 127.0.0.1 open (upstream #612)
    CONTROL_FLAGS=--net=pasta assert_host_loopback_unreachable --net=pasta --disable-host-loopback
}

@test "an old pasta with --port-driver=implicit --disable-host-loopback: one warning naming the fix" {
    # Pastas without --host-lo-to-ns-lo (Debian 12's) stop forwarding -t auto ports once any -T
    # is given, so the namespace-to-host path stays open there; the user is told.
    ! pasta --host-lo-to-ns-lo --version >/dev/null 2>&1 || skip_env "this pasta closes the path itself (--host-lo-to-ns-lo exists)"
    run rk --net=pasta --port-driver=implicit --disable-host-loopback --copy-up=/etc true
    assert_success
    assert_output --partial 'is too old to close its path from the namespace'
    assert_output --partial 'install passt 2024_10_30 or newer, or use --port-driver=builtin'
    run rk --net=pasta --port-driver=builtin --disable-host-loopback --copy-up=/etc true
    refute_output --partial 'too old'
}

@test "pasta --port-driver=implicit: a port listened on inside is reachable on the host" {
    echo "rk-pasta" >"$T/index.html"
    chmod 644 "$T/index.html"
    rk --state-dir="$T/sd" --net=pasta --port-driver=implicit --disable-host-loopback \
        --copy-up=/etc busybox httpd -f -p 19403 -h "$T" >/dev/null 2>&1 &
    wait_for_file "$T/sd/api.sock"
    curl_until http://127.0.0.1:19403/index.html rk-pasta
    assert_output rk-pasta
    # no port driver object: the ports API says so, as upstream
    run curl -sS --unix-socket "$T/sd/api.sock" http://rootlesskit/v1/ports
    assert_output '{"message":"no PortDriver is available"}'
    # info: the driver, its DNS and child IP; no port driver object for implicit (spec 3.1)
    run curl -sS --unix-socket "$T/sd/api.sock" http://rootlesskit/v1/info
    assert_output --partial '"networkDriver":{"driver":"pasta","dns":["10.0.2.3"],"childIP":"10.0.2.100"}}'
    run as_user "$RK_TEST_PREFIX/bin/rootlessctl" --socket "$T/sd/api.sock" info
    assert_line -- '- Network Driver: pasta'
    assert_line -- '  - DNS: [10.0.2.3]'
    assert_line -- '  - IP: 10.0.2.100'
    refute_line --partial 'Port Driver'
    kill "$(pgrep -o -f "^$RK --state-dir=$T/sd")"
    wait || true
}

@test "pasta killed mid-run: clear error, non-zero exit, nothing left behind" {
    rk --state-dir="$T/sd" --net=pasta --disable-host-loopback --copy-up=/etc sleep 60 \
        >"$T/out" 2>&1 &
    local rk_pid=$!
    wait_for_file "$T/sd/child_pid"
    # (pasta may re-exec itself as pasta.avx2)
    pkill -9 -P "$(pgrep -o -f "^$RK --state-dir=$T/sd")" -f "^/usr/bin/pasta"
    local st=0
    wait "$rk_pid" || st=$?
    assert_equal "$st" 1
    run cat "$T/out"
    assert_line --partial 'pasta exited unexpectedly (signal: killed)'
    [ ! -e "$T/sd" ]
}

@test "pasta: a normal exit is clean (pasta quitting with the namespace is no error)" {
    for i in 1 2 3 4 5; do
        run rk --net=pasta --disable-host-loopback --copy-up=/etc true
        assert_success
        refute_output --partial 'exited unexpectedly'
    done
}

@test "pasta: a missing or unsuitable binary gives one clear line and leaves nothing" {
    run rk --net=pasta --disable-host-loopback --pasta-binary=/nonexistent/pasta true
    assert_failure 1
    assert_line --partial 'pasta binary "/nonexistent/pasta" (given with --pasta-binary) is not an executable file'
    # (an old pasta: no --config-net in its help, and refused when asked for it)
    printf '#!/bin/sh\ncase "$*" in *--config-net*) echo "unrecognized option" >&2; exit 1;; esac\necho "Usage: passt [OPTION]..."\n' >"$T/old-pasta"
    chmod 755 "$T/old-pasta"
    run rk --net=pasta --disable-host-loopback --pasta-binary="$T/old-pasta" true
    assert_failure 1
    assert_line --partial 'does not support --config-net'
    printf '#!/bin/sh\nif [ "$1" = --help ]; then echo --config-net --ipv4-only --no-map-gw --dns-forward; exit 0; fi\necho "No routable interface for IPv4: IPv4 is disabled" >&2; exit 1\n' >"$T/bad-pasta"
    chmod 755 "$T/bad-pasta"
    run rk --net=pasta --disable-host-loopback --pasta-binary="$T/bad-pasta" true
    assert_failure 1
    assert_line --partial 'pasta failed (exit status 1): No routable interface for IPv4'
    assert_no_state_dirs
}

@test "pasta whose --help is cut at 4 KiB (Debian 13's passt through a pipe): its flags are asked for, it works" {
    # Debian 13's passt 2025_05_03 exits without flushing stdout: through a pipe its help
    # ends at 4096 bytes, before --config-net.
    cat >"$T/cut-pasta" <<'EOF'
#!/bin/sh
if [ "$1" = --help ]; then pasta --help 2>&1 | head -c 4096; exit 0; fi
exec pasta "$@"
EOF
    chmod 755 "$T/cut-pasta"
    run sh -c "$T/cut-pasta --help 2>&1 | wc -c; $T/cut-pasta --help 2>&1 | grep -c -- --config-net"
    assert_output "4096
0"
    run rk --net=pasta --pasta-binary="$T/cut-pasta" ip -o -4 addr show dev tap0
    assert_success
    assert_output --regexp 'tap0 +inet 10\.0\.2\.100/24'
}

# --port-driver=pesto needs pasta's control socket (-c, passt 2026): Debian 12's pasta has
# none. The lane (tests/lane/pesto.bats) runs the driver itself against passt 2026.
@test "pasta --port-driver=pesto with a pasta without a control socket: one line naming the fix, nothing left" {
    pasta --help 2>&1 | grep -q -- --conf-path && skip_env "this pasta has a control socket (--conf-path)"
    run rk --state-dir="$T/sd" --net=pasta --port-driver=pesto --disable-host-loopback true
    assert_failure 1
    assert_output --partial 'has no control socket (-c), which --port-driver=pesto needs'
    assert_output --partial 'install passt 2026_05_07 or newer, or use --port-driver=implicit'
    [ "$(grep -c 'error:' <<<"$output")" = 1 ]
    [ ! -e "$T/sd" ]
    [ -z "$(leftover_pids)" ]
    # and pesto belongs to pasta
    run rk --net=slirp4netns --port-driver=pesto true
    assert_failure 1
    assert_output --partial 'port driver requires pasta network'
}
