# Purpose: shared set-up for the bats files. bats runs as root; every rootlesskit invocation
# runs as the unprivileged user $TEST_USER through as_user/rk.
load '/usr/lib/bats/bats-support/load'
load '/usr/lib/bats/bats-assert/load'

RK_TEST_PREFIX=${RK_TEST_PREFIX:-/usr/local/libexec/rootlesskit-cpp-test}
RK=$RK_TEST_PREFIX/bin/rootlesskit
TEST_USER=${TEST_USER:-rk-test}
USER_PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

common_setup() {
    [ -x "$RK" ] || skip "not installed: $RK (run tests/integration/setup.sh)"
    # A private, world-traversable scratch dir: the test user works below it.
    T=$(mktemp -d /tmp/rk-bats.XXXXXX)
    chmod 0755 "$T"
    chown "$TEST_USER" "$T"
    # Every process started for this test carries the mark, so leftovers can be found even
    # when other test files run at the same time.
    MARK="RK_TEST_MARK=$T"
}

# Processes still carrying this test's mark.
leftover_pids() {
    local f pid
    for f in /proc/[0-9]*/environ; do
        pid=${f#/proc/}
        pid=${pid%/environ}
        [ "$pid" = $$ ] && continue
        if tr "\\0" "\\n" 2>/dev/null <"$f" | grep -qxF "$MARK"; then
            # zombies are dead already; their parent just has not reaped them
            [ "$(awk '{print $3}' /proc/$pid/stat 2>/dev/null)" = Z ] || echo "$pid"
        fi
    done
}

common_teardown() {
    [ -n "${T:-}" ] || return 0
    local left
    left=$(leftover_pids)
    if [ -n "$left" ]; then
        ps -o pid,ppid,user,stat,args -p $(echo $left | tr ' ' ',') >&3 || true
        kill -9 $left 2>/dev/null || true
        rm -rf "$T"
        echo "leftover processes: $left" >&2
        return 1
    fi
    rm -rf "$T"
}

setup() { common_setup; }
teardown() { common_teardown; }

# Runs a command as the test user, in $T, with TMPDIR=$T and the leftover mark.
as_user() {
    runuser -u "$TEST_USER" -- env -i HOME="/home/$TEST_USER" USER="$TEST_USER" \
        LOGNAME="$TEST_USER" PATH="${RK_PATH:-$USER_PATH}" TMPDIR="$T" "$MARK" \
        ${EXTRA_ENV:-} sh -c 'cd "$1" && shift && exec "$@"' sh "$T" "$@"
}

rk() { as_user "$RK" "$@"; }

# Waits (up to 5 s) for a file to appear (with -s: to appear and not be empty).
wait_for_file() {
    local check=-e i
    if [ "$1" = -s ]; then
        check=-s
        shift
    fi
    for i in $(seq 100); do
        [ "$check" "$1" ] && return 0
        sleep 0.05
    done
    echo "timed out waiting for $1" >&2
    return 1
}

# GETs $1 until the body is $2 (up to 5 s: a listener may take a moment to appear); sets
# $output/$status like `run`.
curl_until() {
    local i
    for i in $(seq 50); do
        run curl -sS -m 1 -g "$1"
        [ "$output" = "$2" ] && return 0
        sleep 0.1
    done
}

# Asserts that no state directory was left in $T.
# (Does not use `run`, so $output of the caller's last run stays intact.)
assert_no_state_dirs() {
    local left
    left=$(find "$T" -mindepth 1 -maxdepth 1 -name 'rootlesskit*')
    assert_equal "$left" ''
}

# Looks up rk-dns-test.example inside rootlesskit (run with the flags "$@") through the network
# driver's DNS forwarder. A dnsmasq on host loopback address $DNS_ADDR answers it with
# 192.0.2.123; the forwarder reads the host's /etc/resolv.conf, which a private mount
# namespace points at that dnsmasq. Sets $output/$status like `run`.
lookup_via_driver_dns() {
    command -v dnsmasq >/dev/null || skip "dnsmasq is not installed"
    echo "nameserver $DNS_ADDR" >"$T/resolv.host"
    chmod 644 "$T/resolv.host"
    dnsmasq --no-daemon --listen-address="$DNS_ADDR" --bind-interfaces --port=53 --no-resolv \
        --no-hosts --address=/rk-dns-test.example/192.0.2.123 --user=root 2>"$T/dnsmasq.log" &
    local dns=$!
    sleep 0.3
    run unshare -m sh -c "mount --bind '$T/resolv.host' /etc/resolv.conf && \
        runuser -u $TEST_USER -- env $MARK PATH=$USER_PATH $RK $* getent hosts rk-dns-test.example"
    kill "$dns"
    wait "$dns" || true
}
