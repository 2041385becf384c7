#!/usr/bin/env bats
# Purpose: the port suite's behaviours with --net=pasta --port-driver=implicit, where pasta
# forwards every port a process listens on inside (it rescans about once a second) and there
# is no ports API: v4 and v6 servers reached from the host, UDP, 1000 concurrent connections
# without an fd leak in our processes, half-close, and a port that stops being listened on.
load helpers

setup() {
    common_setup
    command -v pasta >/dev/null || skip "pasta is not installed (apt-get install passt)"
}

NET_FLAGS="--net=pasta --port-driver=implicit --disable-host-loopback --copy-up=/etc"

start_rk() { # extra flags...; the server is $SERVER
    echo "rk-port-test" >"$T/index.html"
    chmod 644 "$T/index.html"
    rk --state-dir="$T/sd" $NET_FLAGS "$@" sh -c "$SERVER" >/dev/null 2>"$T/rk.err" &
    wait_for_file "$T/sd/api.sock"
    PARENT=$(pgrep -o -f "^$RK --state-dir=$T/sd")
}
stop_rk() {
    kill "$PARENT" 2>/dev/null || true
    wait || true
}
# Retries for up to 5 s: pasta picks new listeners up on its next scan.
get() {
    local i
    for i in $(seq 50); do
        output=$(curl -sS -m 2 -g "http://$1/index.html" 2>&1) && [ "$output" = rk-port-test ] &&
            return 0
        sleep 0.1
    done
    echo "$output"
    return 1
}

@test "implicit: a v4 server inside is reached on the host's 127.0.0.1" {
    SERVER="exec busybox httpd -f -p 0.0.0.0:18280 -h $T" start_rk
    run get 127.0.0.1:18280
    assert_success
    stop_rk
}

@test "implicit --ipv6: a v6 server inside is reached on the host's ::1" {
    SERVER="exec busybox httpd -f -p [::]:18281 -h $T" start_rk --ipv6
    run get '[::1]:18281'
    assert_success
    stop_rk
}

@test "implicit: UDP round trip" {
    SERVER="(for i in \$(seq 200); do [ -s $T/got ] && break; sleep 0.05; done; echo reply-from-inside) | timeout 10 nc -4 -u -l 18282 > $T/got" start_rk --pidns
    local i
    for i in $(seq 30); do
        ss -uln | grep -q ':18282 ' && break
        sleep 0.1
    done
    if ! ss -uln | grep -q ':18282 '; then
        stop_rk
        # passt 2023-03-09 (Debian 12) forwards TCP ports automatically but not UDP ones
        skip_env "this pasta does not forward UDP ports automatically (passt 2023-03-09, Debian 12)"
    fi
    run bash -c "(echo hello-udp; sleep 2) | timeout 3 nc -u 127.0.0.1 18282"
    assert_output reply-from-inside
    assert_equal "$(cat "$T/got")" hello-udp
    stop_rk
}

@test "implicit: 1000 concurrent connections complete, no fd leak in our processes" {
    SERVER="exec busybox httpd -f -p 18283 -h $T" start_rk
    run get 127.0.0.1:18283
    assert_success
    local child fds_parent fds_child
    child=$(cat "$T/sd/child_pid")
    fds_parent=$(ls /proc/"$PARENT"/fd | wc -l)
    fds_child=$(ls /proc/"$child"/fd | wc -l)
    run bash -c "seq 1000 | xargs -P 200 -I{} curl -s -m 20 -o /dev/null -w '%{http_code}\n' http://127.0.0.1:18283/index.html | sort | uniq -c"
    assert_output --regexp '^ *1000 200$'
    assert_equal "$(ls /proc/"$PARENT"/fd | wc -l)" "$fds_parent"
    assert_equal "$(ls /proc/"$child"/fd | wc -l)" "$fds_child"
    stop_rk
}

@test "implicit: half-close - the server sees EOF and can still answer" {
    # a server that answers every connection; --pidns so that it ends with the namespace
    SERVER="while :; do busybox nc -l -p 18284 -e sh -c 'n=\$(wc -c); echo \"got \$n bytes\"'; done" start_rk --pidns
    local i
    for i in $(seq 30); do
        ss -ltn | grep -q ':18284 ' && break
        sleep 0.1
    done
    # A connection that pasta closes before it reaches the server (pasta binds the host port
    # as soon as its scan sees the listener; under load the path inside can lag) is answered
    # with nothing at all: that is retried for up to 5 s. A half-close that loses the request or
    # the reply still fails: "got 0 bytes", a timeout, or nothing on every try.
    for i in $(seq 50); do
        run bash -c "printf 'hello world' | timeout 5 nc -N 127.0.0.1 18284"
        [ -z "$output" ] || break
        sleep 0.1
    done
    assert_success
    assert_output 'got 11 bytes'
    stop_rk
}

@test "implicit: once the server inside stops listening, the host port goes away" {
    SERVER="timeout 5 busybox httpd -f -p 18285 -h $T; sleep 30" start_rk --pidns
    run get 127.0.0.1:18285
    assert_success
    # httpd stops after 5 s; pasta drops the host port on its next scan (one a second)
    for _ in $(seq 100); do listening 18285 || break; sleep 0.1; done
    run curl -sS -m 2 http://127.0.0.1:18285/index.html
    assert_failure
    stop_rk
}
