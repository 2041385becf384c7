#!/usr/bin/env bats
# Purpose: the kernel lane's suite, run inside a QEMU guest booted on a Debian kernel (run.sh,
# guest-init.sh): what a user of that kernel meets, with our .deb installed by dpkg and our
# binaries run as the unprivileged user rk-test. Small on purpose (TCG is slow): the fake root,
# each network driver the guest's Debian has, the builtin port driver, --detach-netns,
# rootless-setuptool check, and the socket bypass's kernel-dependent parts (threads, a caller
# that dies mid-connect, rootlesskit's own exit and SIGTERM).
#
# Network: the guest's 192.0.2.1/24 (rkv0, default route to nowhere: what pasta copies) and a
# namespace "ext" behind a veth (the guest 198.51.100.1, ext .2 with an echo server, and .3
# whose replies are dropped, so a connect to it stays pending) - the outside world.
# Our binaries: the .deb's in the guest; RK_GUEST_PREFIX runs the same suite on the host against
# the integration tests' install (its column of the kernel table).
RK_TEST_PREFIX=${RK_GUEST_PREFIX:-/usr}
load helpers

# Every rootlesskit run ends within 90 s: a hung one (SIGTERM ignored, as before the fix for
# 6.1) is killed and its test fails, instead of stalling the lane.
rk() { as_user timeout -k 5 90 "$RK" "$@"; }

TOOLS=${RK_GUEST_TOOLS:-/payload/tools}
CONNECT=$TOOLS/rk-test-connect
CONNS=$TOOLS/rk-test-conns
GODIAL=$TOOLS/go-dial
CTL=$RK_TEST_PREFIX/bin/rootlessctl
PORT=18502
EXT=ext

setup_file() {
    ip netns add "$EXT"
    ip link add rk-ext0 type veth peer name eth0 netns "$EXT"
    ip addr add 198.51.100.1/24 dev rk-ext0
    ip link set rk-ext0 up
    ip -n "$EXT" link set lo up
    ip -n "$EXT" addr add 198.51.100.2/24 dev eth0
    ip -n "$EXT" addr add 198.51.100.3/24 dev eth0
    ip -n "$EXT" link set eth0 up
    ip -n "$EXT" route add default via 198.51.100.1
    ip -n "$EXT" rule add from 198.51.100.3 lookup 99
    ip -n "$EXT" route add blackhole default table 99
    ip netns exec "$EXT" "$CONNS" serve "$PORT" >/dev/null 2>&1 &
    echo $! >"$BATS_FILE_TMPDIR/server"
    # the same echo server on the guest's own addresses, for the drivers' outbound checks
    "$CONNS" serve $((PORT + 1)) >/dev/null 2>&1 &
    echo $! >"$BATS_FILE_TMPDIR/server2"
    for _ in $(seq 200); do
        ip netns exec "$EXT" ss -Hltn "sport = :$PORT" | grep -q . &&
            ss -Hltn "sport = :$((PORT + 1))" | grep -q . && return 0
        sleep 0.05
    done
    echo "the echo servers did not start" >&2
    return 1
}

teardown_file() {
    kill "$(cat "$BATS_FILE_TMPDIR/server")" "$(cat "$BATS_FILE_TMPDIR/server2")" 2>/dev/null || true
    ip link del rk-ext0 2>/dev/null || true
    ip netns del "$EXT" 2>/dev/null || true
}

# Starts rootlesskit as the test user in the background; RK_PID is rootlesskit's own pid (not
# runuser's, which would answer a signal itself), RK_JOB the job to `wait` for.
rk_bg() {
    as_user "$RK" "$@" &
    RK_JOB=$!
    local i p
    RK_PID=
    for i in $(seq 200); do
        # this test's rootlesskit (its mark) whose parent is not a rootlesskit (the child is one)
        for p in $(pgrep -x rootlesskit); do
            tr '\0' '\n' <"/proc/$p/environ" 2>/dev/null | grep -qxF "$MARK" || continue
            [ "$(cat "/proc/$(awk '{print $4}' "/proc/$p/stat")/comm" 2>/dev/null)" = rootlesskit ] && continue
            RK_PID=$p
            return 0
        done
        sleep 0.05
    done
    echo "rootlesskit did not start" >&2
    return 1
}

# Waits up to $1 seconds for process $2 to end; fails if it does not.
wait_gone() {
    local i
    for i in $(seq $(($1 * 20))); do
        kill -0 "$2" 2>/dev/null || return 0
        sleep 0.05
    done
    return 1
}

@test "fake root: uid 0 with our uid_map, a copied-up /etc the host never sees, --pidns" {
    run rk --copy-up=/etc --pidns sh -c 'id -u; cat /proc/self/uid_map; echo mine >/etc/rk-guest-probe && cat /etc/rk-guest-probe; echo "pid $$"; readlink /proc/self/ns/pid'
    assert_success
    refute_line "$(readlink /proc/self/ns/pid)"
    assert_line --index 0 0
    assert_line --regexp '^ +0 +2001 +1$'
    assert_line --regexp '^ +1 +200000 +65536$'
    assert_line mine
    assert_line "pid 2" # after the child, the namespace's init
    [ ! -e /etc/rk-guest-probe ]
}

@test "exit code and SIGTERM are forwarded" {
    run rk sh -c 'exit 42'
    assert_equal "$status" 42
    rk_bg sh -c 'trap "echo got-term >'"$T"'/term; exit 7" TERM; echo >'"$T"'/ready; while :; do sleep 0.1; done'
    wait_for_file "$T/ready"
    kill -TERM "$RK_PID"
    local rc=0
    wait "$RK_JOB" || rc=$?
    assert_equal "$rc" 7
    run cat "$T/term"
    assert_output got-term
}

# $@: rootlesskit's network flags. The namespace reaches the guest's echo server through the
# driver, and the ext namespace's (the outside world) too.
reaches_outside() {
    run rk --copy-up=/etc "$@" sh -c "$CONNECT -e 198.51.100.2 $PORT; ip -o -4 addr show dev tap0"
    assert_success
    assert_line --regexp '^ok local=.* echo=ok$'
    assert_line --regexp 'tap0 +inet '
}

@test "slirp4netns: outbound TCP from the namespace" {
    reaches_outside --net=slirp4netns
    run rk --net=slirp4netns "$CONNECT" -e 10.0.2.2 $((PORT + 1))
    assert_success
    assert_line --regexp '^ok local=10\.0\.2\.100:'
}

@test "pasta: outbound TCP from the namespace" {
    reaches_outside --net=pasta
}

@test "embedded network (gvisor-tap-vsock): outbound TCP, its helper sandboxed by Landlock" {
    # netd refuses to start without Landlock (unless ROOTLESSKIT_NETD_WITHOUT_LANDLOCK=1, not
    # set here): that it carries the traffic says the kernel gave it the sandbox
    grep -qw landlock /sys/kernel/security/lsm || echo "# landlock is not in this kernel's LSM list" >&3
    reaches_outside --net=gvisor-tap-vsock
}

@test "builtin port driver: -p at start-up, then add and remove through the API" {
    local sd=$T/sd
    rk_bg --state-dir="$sd" --net=slirp4netns --port-driver=builtin \
        -p 127.0.0.1:18080:8080/tcp "$CONNS" serve 8080
    for _ in $(seq 400); do
        ss -Hltn "sport = :18080" | grep -q . && [ -S "$sd/api.sock" ] && break
        sleep 0.05
    done
    # the command's echo server may take a moment after the port is published
    for _ in $(seq 200); do
        as_user "$CONNECT" -e 127.0.0.1 18080 >/dev/null 2>&1 && break
        sleep 0.05
    done
    run as_user "$CONNECT" -e 127.0.0.1 18080
    assert_success
    assert_output --partial "echo=ok"
    run as_user "$CTL" --socket "$sd/api.sock" add-ports 127.0.0.1:18081:8080/tcp
    assert_success
    local id=$output
    run as_user "$CONNECT" -e 127.0.0.1 18081
    assert_success
    run as_user "$CTL" --socket "$sd/api.sock" remove-ports "$id"
    assert_success
    run as_user "$CONNECT" 127.0.0.1 18081
    assert_output "error ECONNREFUSED"
    kill -TERM "$RK_PID"
    wait_gone 10 "$RK_PID"
}

@test "--detach-netns: the command stays in the host's network namespace, tap0 in the detached one" {
    run rk --net=slirp4netns --detach-netns sh -c 'readlink /proc/self/ns/net; nsenter --net="$ROOTLESSKIT_STATE_DIR/netns" ip -o -4 addr show dev tap0'
    assert_success
    assert_line "$(readlink /proc/self/ns/net)"
    assert_line --regexp 'tap0 +inet 10\.0\.2\.100/24 '
}

@test "rootless-setuptool check: rootless mode will work for this user" {
    install -d -m 0700 -o "$TEST_USER" "$T/xdg"
    EXTRA_ENV="XDG_RUNTIME_DIR=$T/xdg" run as_user "$RK_TEST_PREFIX/bin/rootless-setuptool" check
    assert_success
    assert_line "Rootless mode will work for this user."
}

# --- the socket bypass ------------------------------------------------------------------

rkb() { rk --net=slirp4netns --copy-up=/etc --socket-bypass "$@"; }

@test "bypass: the kernel probe passes, and a connect from the main thread is bypassed" {
    run rkb "$CONNECT" -e 198.51.100.2 "$PORT"
    assert_success
    assert_line --regexp '^ok local=198\.51\.100\.1:.* echo=ok$'
}

@test "bypass: a connect from a second thread is bypassed" {
    run rkb "$CONNECT" -T -e 198.51.100.2 "$PORT"
    assert_success
    assert_line --regexp '^ok local=198\.51\.100\.1:.* echo=ok$'
}

@test "bypass: a Go program's connects from its main thread and 6 other threads are all bypassed" {
    [ -x "$GODIAL" ] || skip "go-dial was not built: the host that ran run.sh has no Go compiler (golang-go)"
    run rkb "$GODIAL" 198.51.100.2 "$PORT" 6
    assert_success
    assert_equal "$(grep -c '^conn main=1 local=198\.51\.100\.1:.* echo=ok$' <<<"$output")" 1
    assert_equal "$(grep -c '^conn main=0 local=198\.51\.100\.1:.* echo=ok$' <<<"$output")" 6
    # and without the flag every one goes through slirp4netns
    run rk --net=slirp4netns "$GODIAL" 198.51.100.2 "$PORT" 2
    assert_success
    assert_equal "$(grep -c 'local=10\.0\.2\.100:' <<<"$output")" 3
}

@test "bypass: rootlesskit exits within 3 s of its command" {
    # The command's last act is to note the time; rootlesskit's end is noted after.
    rk_bg --net=slirp4netns --socket-bypass sh -c "$CONNECT -e 198.51.100.2 $PORT >$T/out; date +%s%N >$T/cmd-end"
    local pid=$RK_PID
    wait_gone 60 "$pid" || {
        kill -9 "$pid"
        echo "rootlesskit was still running 60 s after start" >&2
        return 1
    }
    local end
    end=$(date +%s%N)
    run cat "$T/out"
    assert_output --partial "local=198.51.100.1:"
    local ms=$(((end - $(cat "$T/cmd-end")) / 1000000))
    echo "# rootlesskit ended ${ms} ms after its command" >&3
    [ "$ms" -lt 3000 ]
}

@test "bypass: SIGTERM ends rootlesskit while a bypassed connect is pending" {
    # 198.51.100.3 never answers: the command sits in connect() (bypassed) when TERM comes.
    rk_bg --net=slirp4netns --socket-bypass sh -c "echo >$T/started; $CONNECT -s 6 198.51.100.3 $PORT"
    local pid=$RK_PID
    wait_for_file "$T/started"
    sleep 0.5 # (a window, not a wait: the connect is under way in it)
    kill -TERM "$pid"
    wait_gone 10 "$pid"
}

@test "bypass: a caller killed while its connect is in flight; the next connect and the exit still work" {
    run rkb sh -c "$CONNECT -s 6 198.51.100.3 $PORT & p=\$!; sleep 0.5; kill -9 \$p; wait \$p; $CONNECT -T -e 198.51.100.2 $PORT"
    assert_success
    assert_line --regexp '^ok local=198\.51\.100\.1:.* echo=ok$'
}
