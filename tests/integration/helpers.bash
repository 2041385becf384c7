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

# Waits (up to 5 s) for a file to appear.
wait_for_file() {
    local i
    for i in $(seq 100); do
        [ -e "$1" ] && return 0
        sleep 0.05
    done
    echo "timed out waiting for $1" >&2
    return 1
}

# Asserts that no state directory was left in $T.
# (Does not use `run`, so $output of the caller's last run stays intact.)
assert_no_state_dirs() {
    local left
    left=$(find "$T" -mindepth 1 -maxdepth 1 -name 'rootlesskit*')
    assert_equal "$left" ''
}
