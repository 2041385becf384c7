#!/usr/bin/env bats
# Purpose: rootlesskit-docker-proxy run the way dockerd (< v28) runs it - inside the namespaces,
# status pipe on fd 3 - with Docker's real docker-proxy (package docker.io) doing the last hop
# to a real server: the status line, the port it publishes through the API and its removal on
# SIGINT, the tcp6-on-slirp4netns skip, the exec of the real proxy when there is no port driver
# to use (Debian's Go 1.1.0 proxy crashes there), and failures that reach dockerd as "1\n...".
load helpers

PROXY=$RK_TEST_PREFIX/bin/rootlesskit-docker-proxy
CTL=$RK_TEST_PREFIX/bin/rootlessctl

setup() {
    common_setup
    [ -x /usr/sbin/docker-proxy ] || skip "Docker's docker-proxy is missing (apt-get install docker.io)"
    echo "rk-proxy-test" >"$T/index.html"
    chmod 644 "$T/index.html"
}
teardown() {
    [ -z "${PARENT:-}" ] || kill "$PARENT" 2>/dev/null || true
    wait || true
    common_teardown
}

# Starts rootlesskit ($1 = network and port flags) running a web server on 127.0.0.1:8080 inside
# and, as dockerd would, the proxy with the remaining arguments and fd 3 on $T/status. The
# proxy's exit code lands in $T/exit; the namespace lives on until the test stops it.
start_proxy() {
    local flags=$1
    shift
    # The command starts while the parent may still be publishing; dockerd runs the proxy
    # only once it is up, so the proxy here waits for api.sock, rootlesskit's readiness signal.
    rk --state-dir="$T/sd" $flags --pidns sh -c '
        busybox httpd -f -p 127.0.0.1:8080 -h "$0" &
        for i in $(seq 200); do [ -S "$0/sd/api.sock" ] && break; sleep 0.05; done
        "$@" 3>"$0/status"
        echo $? >"$0/exit"
        exec sleep 60' "$T" "$PROXY" "$@" >"$T/rk.out" 2>"$T/rk.err" &
    wait_for_file "$T/sd/api.sock"
    PARENT=$(pgrep -o -f "^$RK --state-dir=$T/sd")
}
ctl() { as_user "$CTL" --socket "$T/sd/api.sock" "$@"; }
proxy_pid() { pgrep -f "^$PROXY .*-host-port $1" | head -1; }
wait_status() {
    wait_for_file -s "$T/status" || { cat "$T/rk.err" >&2; return 1; }
}

@test "-h, -help and --help list the flags and exit 0 (as Go's flag package)" {
    local h
    for h in -h -help --help; do
        run as_user "$PROXY" "$h" 3>&-
        assert_success
        assert_line --regexp '^  -host-port int$'
        assert_line --partial '(default "tcp")'
    done
    # (fd 3 is where dockerd reads the proxy's status line; here it is bats' own)
    run as_user "$PROXY" -bogus 3>&-
    assert_failure
    assert_output --partial 'flag provided but not defined: -bogus'
}

@test "builtin driver: status 0, published on the host, removed again on SIGINT" {
    start_proxy "--net=slirp4netns --disable-host-loopback --copy-up=/etc --port-driver=builtin" \
        -proto tcp -host-ip 0.0.0.0 -host-port 18200 -container-ip 127.0.0.1 -container-port 8080
    wait_status
    run cat "$T/status"
    assert_output "0"
    curl_until http://127.0.0.1:18200/index.html rk-proxy-test
    assert_output rk-proxy-test
    run ctl list-ports
    assert_line --regexp '^[0-9]+ +tcp4 +0\.0\.0\.0 +18200 +127\.0\.0\.1 +18200 +$'
    # the real docker-proxy does the last hop inside the namespace
    run pgrep -f "^docker-proxy -container-ip 127.0.0.1 -container-port 8080 -host-ip 127.0.0.1 -host-port 18200"
    assert_success

    kill -INT "$(proxy_pid 18200)"
    wait_for_file "$T/exit"
    run ctl list-ports --json
    assert_output ""
    run pgrep -f "^docker-proxy .*-host-port 18200"
    assert_failure
    run curl -sS -m 2 http://127.0.0.1:18200/index.html
    assert_failure
}

@test "tcp6 with a driver that has no tcp6 (slirp4netns): status 0, nothing published" {
    start_proxy "--net=slirp4netns --disable-host-loopback --copy-up=/etc --port-driver=slirp4netns" \
        -proto tcp -host-ip :: -host-port 18201 -container-ip 127.0.0.1 -container-port 8080
    wait_status
    wait_for_file "$T/exit"
    run cat "$T/status" "$T/exit"
    assert_output $'0\n0'
    run grep -F "does not support tcp6" "$T/rk.err"
    assert_success
    run ctl list-ports --json
    assert_output ""
}

@test "no port driver (--net=host): the real docker-proxy runs in its place" {
    start_proxy "--net=host" \
        -proto tcp -host-ip 127.0.0.1 -host-port 18202 -container-ip 127.0.0.1 -container-port 8080
    wait_status
    run cat "$T/status"
    assert_output "0"
    curl_until http://127.0.0.1:18202/index.html rk-proxy-test
    assert_output rk-proxy-test
    # exec'd: the real docker-proxy holds the port and no rootlesskit-docker-proxy is left in
    # between (matched by port: docker-rootless.bats may run its own proxies meanwhile)
    run pgrep -f "^docker-proxy .*-host-port 18202"
    assert_success
    run pgrep -f "^$PROXY .*-host-port 18202"
    assert_failure
}

@test "port driver none: the real docker-proxy runs in its place (Go 1.1.0's proxy crashes)" {
    start_proxy "--net=slirp4netns --disable-host-loopback --copy-up=/etc --port-driver=none" \
        -proto tcp -host-ip 0.0.0.0 -host-port 18203 -container-ip 127.0.0.1 -container-port 8080
    wait_status
    run cat "$T/status"
    assert_output "0"
    run pgrep -f "^docker-proxy -proto tcp -host-ip 0.0.0.0 -host-port 18203"
    assert_success
}

@test "a port already published: status 1 with the API's reason, exit 1, nothing left" {
    start_proxy "--net=slirp4netns --disable-host-loopback --copy-up=/etc --port-driver=builtin" \
        -proto tcp -host-ip 0.0.0.0 -host-port 18204 -container-ip 127.0.0.1 -container-port 8080
    wait_status
    rm "$T/status"
    run ctl add-ports 127.0.0.1:18205:8080/tcp
    assert_success
    # a second proxy for a port that conflicts, with its own status pipe
    run as_user sh -c "nsenter -U --preserve-credentials -n -m -t \$(cat '$T/sd/child_pid') \
        env ROOTLESSKIT_STATE_DIR='$T/sd' '$PROXY' -proto tcp -host-ip 127.0.0.1 \
        -host-port 18205 -container-ip 127.0.0.1 -container-port 8080 3>'$T/status2'"
    assert_failure
    run cat "$T/status2"
    assert_line --index 0 "1"
    assert_output --partial "AddPort()"
    assert_output --partial "18205"
    run ctl list-ports --json
    assert_equal "$(echo "$output" | wc -l)" 2
}

@test "outside rootlesskit: status 1 naming ROOTLESSKIT_STATE_DIR" {
    run as_user sh -c "'$PROXY' -proto tcp -host-ip 0.0.0.0 -host-port 18206 \
        -container-ip 127.0.0.1 -container-port 8080 3>'$T/status'"
    assert_failure
    assert_output --partial "ROOTLESSKIT_STATE_DIR"
    run head -1 "$T/status"
    assert_output "1"
}

@test "bad flags: one line, status 1" {
    run as_user sh -c "'$PROXY' -proto tcp -host-port nope 3>'$T/status'"
    assert_failure
    assert_output --partial "nope"
    run head -1 "$T/status"
    assert_output "1"
}
