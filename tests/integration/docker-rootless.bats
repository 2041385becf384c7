#!/usr/bin/env bats
# Purpose: real rootless Docker on our binaries. Debian's docker.io runs its own
# dockerd-rootless.sh as the unprivileged user with our rootlesskit, rootlessctl and
# rootlesskit-docker-proxy first in PATH; a tiny image is imported from busybox-static; then
# `docker run` is uid 0 inside, `docker run -p` is reachable from the host through our port
# driver and proxy, a BuildKit build works, and stopping rootlesskit leaves no process behind.
# One daemon serves the whole file (setup_file); the tests run in order and the last stops it.
load helpers

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
    tar -C "$D/image" -cf "$D/image.tar" .
    chmod 0644 "$D/image.tar"
    mkdir "$D/ctx"
    printf 'FROM rk-bb\nRUN echo "built-$(id -u)" >/built\nCMD ["cat", "/built"]\n' >"$D/ctx/Dockerfile"
    chmod -R a+rX "$D/ctx"

    T=$D MARK="RK_TEST_MARK=$D" RK_PATH="$RK_TEST_PREFIX/bin:$USER_PATH" \
        EXTRA_ENV="XDG_RUNTIME_DIR=$D/xdg HOME=$D/home DOCKERD_ROOTLESS_ROOTLESSKIT_FLAGS=--state-dir=$D/xdg/dockerd-rootless" \
        as_user "$DOCKERD_ROOTLESS" --storage-driver=vfs >"$D/dockerd.log" 2>&1 &
    local i
    for i in $(seq 120); do
        dk version >/dev/null 2>&1 && break
        [ -n "$(marked_pids)" ] || break # rootlesskit is gone: no point in waiting
        sleep 0.5
    done
    dk version >/dev/null || { tail -30 "$D/dockerd.log" >&3; return 1; }
}

teardown_file() {
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
    dk run -d --name sleeper rk-bb sh -c 'exec sleep 600' >/dev/null || true
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
