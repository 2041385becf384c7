# Purpose: shared set-up for the bats files. bats runs as root; every rootlesskit invocation
# runs as the unprivileged user $TEST_USER through as_user/rk.
load '/usr/lib/bats/bats-support/load'
load '/usr/lib/bats/bats-assert/load'

RK_TEST_PREFIX=${RK_TEST_PREFIX:-/usr/local/libexec/rootlesskit-cpp-test}
RK=$RK_TEST_PREFIX/bin/rootlesskit
TEST_USER=${TEST_USER:-rk-test}
USER_PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

# Every error line of the last `run` ("... error: ...", as rootlesskit, rootlessctl and
# rootless-setuptool print them) carries its fix: it ends with "(FIX)". At least one must be
# there; a " [more: ...]" pointer may follow the fix. (troubleshooting.md promises a fix with
# every error.)
assert_errors_carry_fix() {
    local line n=0
    while IFS= read -r line; do
        [[ $line == *"error: "* || $line == "[ERROR]"* ]] || continue
        n=$((n + 1))
        line=${line% \[more: *\]}
        if [[ $line != *" ("*")" ]]; then
            echo "an error line without its fix: $line" >&2
            return 1
        fi
    done <<<"$output"
    [ "$n" -gt 0 ] || { echo "no error line in: $output" >&2; return 1; }
}

# A test that cannot run says why in one of the two forms CI accepts (tests/tools/skips.sh
# lists every skip at the end of .ci/run and fails on any other): skip_env for a fact of this
# machine (the kernel, a tool's version, an address it lacks), skip_na for a test that does not
# apply to this run's configuration (a driver, the Go peer). A plain skip - a tool CI installs,
# our own install - fails CI: a test CI does not run is a test CI does not have.
skip_env() { skip "environment: $*"; }
skip_na() { skip "not applicable: $*"; }

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

# Runs a command as the test user, in $T, with TMPDIR=$T and the leftover mark; EXTRA_ENV adds
# space-separated NAME=VALUE words, EXTRA_ENV_ONE one whose value may hold spaces.
as_user() {
    runuser -u "$TEST_USER" -- env -i HOME="/home/$TEST_USER" USER="$TEST_USER" \
        LOGNAME="$TEST_USER" PATH="${RK_PATH:-$USER_PATH}" TMPDIR="$T" "$MARK" \
        ${EXTRA_ENV:-} ${EXTRA_ENV_ONE:+"$EXTRA_ENV_ONE"} sh -c 'cd "$1" && shift && exec "$@"' sh "$T" "$@"
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
    poll_until sh -c "ss -Hlun 'src $DNS_ADDR and sport = :53' | grep -q ." ||
        { cat "$T/dnsmasq.log" >&2; return 1; }
    run unshare -m sh -c "mount --bind '$T/resolv.host' /etc/resolv.conf && \
        runuser -u $TEST_USER -- env $MARK PATH=$USER_PATH $RK $* getent hosts rk-dns-test.example"
    kill "$dns"
    wait "$dns" || true
}

# Asserts that rootlesskit run with the flags "$@" (a --net driver and --disable-host-loopback)
# gives the namespace no way to the host's loopback (127.0.0.0/8, ::1): not by 127.0.0.1 or ::1
# inside, the gateway, the DNS address or the host's own address, over TCP or UDP. The "host" is
# a network namespace of the test's own (lo, and 203.0.113.1 on a veth with nothing behind it)
# whose resolv.conf names a loopback resolver, so a DNS forwarder that passed other ports on
# would lead there too. Servers listen on loopback only; every probe must fail and no server
# may receive a byte. $GW and $DNS name the driver's gateway and DNS addresses, $GW6 its IPv6
# gateway if the flags give the namespace IPv6; $IN_NS is a command prefix that runs the probes
# in the driver's namespace (for --detach-netns). A control run with $CONTROL_FLAGS instead
# (the same driver without --disable-host-loopback) must reach the gateway: the probes can fail.
assert_host_loopback_unreachable() {
    command -v ip >/dev/null || skip "iproute2 is not installed"
    local gw=${GW:-10.0.2.2} dns=${DNS:-10.0.2.3}
    echo "nameserver 127.0.0.1" >"$T/resolv.lo"
    # With GW6 the namespace must have its IPv6 address (SLAAC, DAD done) before probing, or
    # the IPv6 probes could not fail.
    local wait6=''
    [ -n "${GW6:-}" ] && wait6='for i in $(seq 100); do ip -6 addr show scope global -tentative | grep -q inet6 && break; sleep 0.1; done'
    cat >"$T/probes.sh" <<PROBES
$wait6
nc -z -w 2 127.0.0.1 19801 && echo LEAK tcp 127.0.0.1
nc -z -w 2 ::1 19802 && echo LEAK tcp ::1
nc -z -w 2 $gw 19801 && echo LEAK tcp gateway
nc -z -w 2 $dns 19801 && echo LEAK tcp dns
${GW6:+nc -z -w 2 $GW6 19802 && echo LEAK tcp gateway6}
nc -z -w 2 203.0.113.1 19801 && echo LEAK tcp host address
echo udp-lo | nc -u -w 1 127.0.0.1 19803
echo udp-gw | nc -u -w 1 $gw 19803
echo udp-dns | nc -u -w 1 $dns 19803
echo probes-done
PROBES
    printf '%s\n' "$wait6" "nc -z -w 3 $gw 19801 && echo control-reached" \
        ${GW6:+"nc -z -w 3 $GW6 19802 && echo control6-reached"} >"$T/control.sh"
    chmod 644 "$T/resolv.lo" "$T/probes.sh" "$T/control.sh"
    local rkcmd="runuser -u $TEST_USER -- env $MARK PATH=$USER_PATH $RK --copy-up=/etc"
    run unshare -n -m sh -c "mount --bind '$T/resolv.lo' /etc/resolv.conf &&
        ip link set lo up && ip link add rkv0 type veth peer name rkv1 &&
        ip addr add 203.0.113.1/24 dev rkv0 && ip link set rkv0 up && ip link set rkv1 up &&
        ip route add default via 203.0.113.254 || exit 99
        timeout 30 nc -k -l 127.0.0.1 19801 >$T/got-tcp4 2>/dev/null & l4=\$!
        timeout 30 nc -k -6 -l ::1 19802 >$T/got-tcp6 2>/dev/null & l6=\$!
        timeout 30 nc -k -u -l 127.0.0.1 19803 >$T/got-udp 2>/dev/null & lu=\$!
        for i in \$(seq 50); do ss -Htln | grep -q ':19802' && break; sleep 0.1; done
        $rkcmd ${CONTROL_FLAGS:-} ${IN_NS:-} sh $T/control.sh </dev/null
        $rkcmd $* ${IN_NS:-} sh $T/probes.sh </dev/null
        rc=\$?
        kill \$l4 \$l6 \$lu
        wait
        exit \$rc"
    assert_line control-reached
    [ -z "${GW6:-}" ] || assert_line control6-reached
    assert_line probes-done
    refute_line --partial LEAK
    # The control's zero-I/O probe sends no data; nothing else may have arrived.
    assert_equal "$(cat "$T/got-tcp4" "$T/got-tcp6" "$T/got-udp")" ''
}

# Issue 18 item 6: with the network helper ($1, a process name: slirp4netns or
# rootlesskit-netd) stopped, add-ports fails within 1 s naming it, info still answers at
# once, and after SIGCONT ports can be added again. The rest: rootlesskit's flags.
assert_stopped_helper_fails_fast() {
    local helper=$1
    shift
    rk --state-dir="$T/sd" "$@" sleep 60 >/dev/null 2>&1 3>&- &
    wait_for_file "$T/sd/api.sock"
    local parent hpid ctl="$RK_TEST_PREFIX/bin/rootlessctl"
    parent=$(pgrep -o -f "^$RK --state-dir=$T/sd")
    hpid=$(pgrep -P "$parent" -f "^[^ ]*/$helper( |$)")
    kill -STOP "$hpid"
    local t0=$EPOCHREALTIME
    run timeout 5 runuser -u "$TEST_USER" -- "$ctl" --socket "$T/sd/api.sock" add-ports 127.0.0.1:19631:80/tcp
    local ms=$(( (${EPOCHREALTIME/./} - ${t0/./}) / 1000 ))
    assert_failure 1
    assert_output --partial "$helper (pid $hpid) is stopped"
    assert_output --partial "kill -CONT $hpid"
    [ "$ms" -lt 1000 ]
    run timeout 1 runuser -u "$TEST_USER" -- "$ctl" --socket "$T/sd/api.sock" info
    assert_success
    kill -CONT "$hpid"
    run runuser -u "$TEST_USER" -- "$ctl" --socket "$T/sd/api.sock" add-ports 127.0.0.1:19631:80/tcp
    assert_success
    kill "$parent"
    wait || true
}

# Runs "$@" every 50 ms until it succeeds, for up to 5 s; fails if it never does.
poll_until() {
    for _ in $(seq 100); do
        "$@" && return 0
        sleep 0.05
    done
    return 1
}

# wait_listen (below) as shell text for scripts that run elsewhere (another namespace, sh -c):
# "$SH_WAIT_LISTEN; wait_listen PORT" waits up to 5 s for a TCP listener on PORT there.
SH_WAIT_LISTEN='wait_listen() { for _ in $(seq 100); do ss -Hltn "sport = :$1" | grep -q . && return 0; sleep 0.05; done; return 1; }'

# Something listens on port $1 - TCP, or UDP with $2 = u - in this network namespace, or in
# that of process $3 if given.
listening() {
    local ns=()
    [ -n "${3:-}" ] && ns=(nsenter -t "$3" -n)
    "${ns[@]}" ss -Hl"${2:-t}"n "sport = :$1" | grep -q .
}
wait_listen() { poll_until listening "$@" || { echo "nothing listens on port $1" >&2; return 1; }; }

# Process $1's network namespace has an established TCP connection to port $2 (e.g. our end
# of a forwarded flow, inside).
connected_to() { nsenter -t "$1" -n ss -Htn state established "dport = :$2" | grep -q .; }
wait_established_to() { poll_until connected_to "$@"; }
