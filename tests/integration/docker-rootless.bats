#!/usr/bin/env bats
# Purpose: real rootless Docker on our binaries. Debian's docker.io runs its own
# dockerd-rootless.sh as the unprivileged user with our rootlesskit, rootlessctl and
# rootlesskit-docker-proxy first in PATH; a tiny image is imported from busybox-static; then
# `docker run` is uid 0 inside, `docker run -p` is reachable from the host through our port
# driver and proxy, a BuildKit build works, and stopping rootlesskit leaves no process behind.
# One daemon serves the whole file (setup_file); the tests run in order and the last stops it.
# With RK_DOCKER_BYPASS=1 (ctest bats_docker-rootless-bypass) rootlesskit runs with
# --socket-bypass: the same tests must pass, and two more check containers: one on the default
# bridge is bypassed (its connection to a namespace the file makes, over a veth pair, has the
# host's address), one on an --internal network gets no way out.
load helpers

BYPASS_EXT=rk-bypass-dk
BYPASS_PORT=18503

DOCKERD_ROOTLESS=/usr/share/docker.io/contrib/dockerd-rootless.sh
DOCKER=/usr/bin/docker # /usr/local/bin/docker may be a newer CLI without the builder

setup_file() {
    [ -x "$RK" ] || skip "not installed: $RK (run tests/integration/setup.sh)"
    for f in "$DOCKERD_ROOTLESS" /usr/sbin/dockerd "$DOCKER" /usr/sbin/docker-proxy /bin/busybox; do
        [ -e "$f" ] || skip "Docker cannot run here: $f is missing (apt-get install docker.io busybox-static)"
    done
    D=$(mktemp -d /tmp/rk-docker.XXXXXX)
    chmod 0755 "$D"
    mkdir -m 0700 "$D/xdg" "$D/home"
    chown "$TEST_USER:" "$D" "$D/xdg" "$D/home"
    export D
    # A one-binary image: busybox and the applets the tests use.
    mkdir -p "$D/image/bin"
    cp /bin/busybox "$D/image/bin/"
    for a in sh id httpd mkdir echo cat sleep; do ln -s busybox "$D/image/bin/$a"; done
    cp "$RK_TEST_PREFIX/libexec/rootlesskit-cpp-test/rk-test-connect" "$D/image/bin/" # static
    tar -C "$D/image" -cf "$D/image.tar" .
    chmod 0644 "$D/image.tar"
    mkdir "$D/ctx"
    printf 'FROM rk-bb\nRUN echo "built-$(id -u)" >/built\nCMD ["cat", "/built"]\n' >"$D/ctx/Dockerfile"
    chmod -R a+rX "$D/ctx"

    local flags="--state-dir=$D/xdg/dockerd-rootless"
    if [ -n "${RK_DOCKER_BYPASS:-}" ]; then
        flags+=" --socket-bypass"
        bypass_ext_up
    fi
    T=$D MARK="RK_TEST_MARK=$D" RK_PATH="$RK_TEST_PREFIX/bin:$USER_PATH" \
        EXTRA_ENV="XDG_RUNTIME_DIR=$D/xdg HOME=$D/home" \
        EXTRA_ENV_ONE="DOCKERD_ROOTLESS_ROOTLESSKIT_FLAGS=$flags" \
        as_user "$DOCKERD_ROOTLESS" --storage-driver=vfs >"$D/dockerd.log" 2>&1 &
    local i
    for i in $(seq 120); do
        dk version >/dev/null 2>&1 && break
        [ -n "$(marked_pids)" ] || break # rootlesskit is gone: no point in waiting
        sleep 0.5
    done
    dk version >/dev/null || { tail -30 "$D/dockerd.log" >&3; return 1; }
}

# The bypass tests' destination: a namespace with a veth pair to this host (198.51.101.1 here,
# .2 there) and an echo server in it.
bypass_ext_up() {
    ip netns del "$BYPASS_EXT" 2>/dev/null || true
    ip netns add "$BYPASS_EXT"
    ip link add rk-bypass-dk0 type veth peer name eth0 netns "$BYPASS_EXT"
    ip addr add 198.51.101.1/24 dev rk-bypass-dk0
    ip link set rk-bypass-dk0 up
    ip -n "$BYPASS_EXT" addr add 198.51.101.2/24 dev eth0
    ip -n "$BYPASS_EXT" link set eth0 up
    ip -n "$BYPASS_EXT" route add default via 198.51.101.1
    ip netns exec "$BYPASS_EXT" "$RK_TEST_PREFIX/libexec/rootlesskit-cpp-test/rk-test-conns" \
        serve "$BYPASS_PORT" >/dev/null 2>&1 &
}

teardown_file() {
    if [ -n "${RK_DOCKER_BYPASS:-}" ]; then
        ip netns pids "$BYPASS_EXT" 2>/dev/null | xargs -r kill 2>/dev/null || true
        ip link del rk-bypass-dk0 2>/dev/null || true
        ip netns del "$BYPASS_EXT" 2>/dev/null || true
    fi
    [ -n "${D:-}" ] || return 0
    pkill -KILL -f "RK_TEST_MARK=$D" 2>/dev/null || true
    local pid
    for pid in $(marked_pids); do kill -9 "$pid" 2>/dev/null || true; done
    rm -rf "$D"
}

# The docker CLI as the test user, against the rootless daemon.
dk() {
    T=$D MARK="RK_TEST_MARK=$D" RK_PATH="$RK_TEST_PREFIX/bin:$USER_PATH" \
        EXTRA_ENV="XDG_RUNTIME_DIR=$D/xdg HOME=$D/home DOCKER_HOST=unix://$D/xdg/docker.sock ${DK_ENV:-}" \
        as_user "$DOCKER" "$@"
}
marked_pids() { MARK="RK_TEST_MARK=$D" leftover_pids; }
rk_parent() { pgrep -o -f "^rootlesskit .*dockerd-rootless.sh"; }

# Each test runs as the test user in the file's directory, with the file's mark.
setup() {
    T=$D
    MARK="RK_TEST_MARK=$D"
}
teardown() { :; }

@test "dockerd-rootless.sh runs under our rootlesskit" {
    local parent
    parent=$(rk_parent)
    [ -n "$parent" ]
    run readlink "/proc/$parent/exe"
    assert_output "$RK_TEST_PREFIX/bin/rootlesskit"
    run dk info --format '{{.SecurityOptions}}'
    assert_output --partial rootless
}

@test "docker run: uid 0 inside, mapped to the user outside" {
    run dk import "$D/image.tar" rk-bb
    assert_success
    run dk run --rm rk-bb id -u
    assert_success
    assert_output 0
    run dk run --rm rk-bb cat /proc/self/uid_map
    assert_output --regexp "^ +0 +$(id -u "$TEST_USER") +1"
}

@test "docker run -p: reachable from the host through our port driver and proxy" {
    run dk run -d --name web -p 18290:80 rk-bb sh -c \
        'mkdir -p /www && echo hello-rootless >/www/index.html && exec httpd -f -p 80 -h /www'
    assert_success
    curl_until http://127.0.0.1:18290/index.html hello-rootless
    assert_output hello-rootless
    # published by our rootlesskit-docker-proxy, through our API
    run pgrep -f "^$RK_TEST_PREFIX/bin/rootlesskit-docker-proxy -proto tcp -host-ip 0.0.0.0 -host-port 18290"
    assert_success
    run as_user "$RK_TEST_PREFIX/bin/rootlessctl" --socket "$D/xdg/dockerd-rootless/api.sock" list-ports
    assert_line --regexp '^[0-9]+ +tcp4 +0\.0\.0\.0 +18290 +127\.0\.0\.1 +18290 +$'
    run dk rm -f web
    assert_success
    run as_user "$RK_TEST_PREFIX/bin/rootlessctl" --socket "$D/xdg/dockerd-rootless/api.sock" list-ports --json
    refute_output --partial 18290
}

@test "--socket-bypass: a container on the default bridge is bypassed" {
    [ -n "${RK_DOCKER_BYPASS:-}" ] || skip_na "RK_DOCKER_BYPASS is unset (ctest's bats_docker-rootless-bypass runs this file with it)"
    # The first connection to a destination goes the usual way (the container's namespace has
    # to show it may reach it: see the next test), the next ones are bypassed.
    run dk run --rm rk-bb sh -c "rk-test-connect -e 198.51.101.2 $BYPASS_PORT; rk-test-connect -e 198.51.101.2 $BYPASS_PORT"
    assert_success
    assert_line --index 0 --regexp "^ok local=172\.[0-9.]+:[0-9]+ .*echo=ok"
    assert_line --index 1 --regexp "^ok local=198\.51\.101\.1:[0-9]+ .*echo=ok"
    # and its own network stays its own: the bridge's gateway is not bypassed
    run dk run --rm rk-bb rk-test-connect -u 198.51.101.2 "$BYPASS_PORT"
    assert_output --regexp "ok local=172\.[0-9.]+:"
    run as_user "$RK_TEST_PREFIX/bin/rootlessctl" --socket "$D/xdg/dockerd-rootless/api.sock" info --json
    assert_output --partial '"socketBypass"'
    refute_output --regexp '"bypassed": 0[,}]'
}

@test "--socket-bypass: a container on an --internal network gets no way out" {
    [ -n "${RK_DOCKER_BYPASS:-}" ] || skip_na "RK_DOCKER_BYPASS is unset (ctest's bats_docker-rootless-bypass runs this file with it)"
    run dk network create --internal rk-internal
    assert_success
    # Docker >= 25: no default route (ENETUNREACH). Docker < 25 (Debian 12's 20.10): a default
    # route, and iptables in the namespace drops what leaves the network: the connect times out
    # (TCP_SYNCNT 1: after 3 s), the first and every later one.
    run dk run --rm --network rk-internal rk-bb sh -c "rk-test-connect -s 1 198.51.101.2 $BYPASS_PORT; rk-test-connect -s 1 198.51.101.2 $BYPASS_PORT"
    assert_line --index 0 --regexp "^error (ENETUNREACH|ETIMEDOUT)$"
    assert_line --index 1 --regexp "^error (ENETUNREACH|ETIMEDOUT)$"
    run dk network rm rk-internal
    assert_success
}

@test "BuildKit build (DOCKER_BUILDKIT=1) works and its image runs" {
    DK_ENV=DOCKER_BUILDKIT=1 run dk build -t rk-built "$D/ctx"
    assert_success
    run dk run --rm rk-built
    assert_output built-0
}

@test "rootless-setuptool nsenter reaches dockerd's namespaces" {
    EXTRA_ENV="XDG_RUNTIME_DIR=$D/xdg" run as_user "$RK_TEST_PREFIX/bin/rootless-setuptool" \
        nsenter -- ls /sys/class/net
    assert_success
    assert_line tap0
    assert_line docker0
}

@test "stopping rootlesskit leaves no process behind" {
    local parent child userns i
    dk run -d --name sleeper rk-bb sh -c 'exec sleep 600' >/dev/null
    # data owned by a sub-uid, for the uninstall test below
    dk run --name owned rk-bb sh -c 'mkdir -p /owned/sub && busybox chown -R 1234 /owned && busybox chmod 0700 /owned' >/dev/null
    parent=$(rk_parent)
    child=$(cat "$D/xdg/dockerd-rootless/child_pid")
    userns=$(readlink "/proc/$child/ns/user")
    kill -TERM "$parent"
    for i in $(seq 120); do
        kill -0 "$parent" 2>/dev/null || break
        sleep 0.5
    done
    run kill -0 "$parent"
    assert_failure
    # nothing in the instance's user namespace (containers included), nothing carrying our mark;
    # processes that are exiting (a shim after its container) get a few seconds to finish
    local left
    for i in $(seq 50); do
        left=$(for p in /proc/[0-9]*; do [ "$(readlink "$p/ns/user" 2>/dev/null)" = "$userns" ] && echo "${p#/proc/}"; done; true)
        [ -z "$left" ] && break
        sleep 0.2
    done
    [ -z "$left" ] || ps -o pid,ppid,stat,etime,args -p "$(echo $left | tr ' ' ,)" >&3 || true
    run echo "$left"
    assert_output ""
    run marked_pids
    assert_output ""
    [ ! -e "$D/xdg/dockerd-rootless/api.sock" ]
}

@test "the seeds' uninstall step: 'rootlesskit rm -rf' removes data owned by sub-uids" {
    local data=$D/home/.local/share/docker start
    start=$(awk -F: -v u="$TEST_USER" '$1 == u {print $2; exit}' /etc/subuid)
    # the stopped container's layer holds a directory of sub-uid 1234 that the user cannot enter
    run find "$data" -path '*/owned' -user "$((start + 1233))"
    assert_success
    assert_output --partial /owned
    run as_user rm -rf "$data"
    assert_failure
    assert_output --partial "Permission denied"
    run as_user "$RK" rm -rf "$data"
    assert_success
    [ ! -e "$data" ]
}
