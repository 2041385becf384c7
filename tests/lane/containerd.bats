#!/usr/bin/env bats
# Purpose: containerd 2 rootless under the rootlesskit in $LANE_BIN, started with the
# foreground command `rootless-setuptool install containerd` prints where there is no systemd
# user session: `ctr` (through `rootless-setuptool nsenter`) imports a busybox image and runs
# it as uid 0, a port published through api.sock reaches a container on the host network, and
# stopping rootlesskit leaves nothing behind. On this cgroup v1 host `ctr run` gets
# --cgroup "" and --cpu-shares 0 (no cgroup of its own, no CPU shares to set in one).
load lane-helpers

IMAGE=docker.io/library/rk-bb:latest

setup_file() {
    make_scratch
    make_oci_archive "$IMAGE" "$D/image.tar"
    run as_user rootless-setuptool install containerd
    [ "$status" = 0 ] || { echo "$output" >&3; return 1; }
    # the line after "Run the daemon in the foreground instead:" and a blank one
    local cmd
    cmd=$(echo "$output" | grep -m1 '^PATH=')
    [ -n "$cmd" ] || { echo "$output" >&3; return 1; }
    # the control runs the same command with Go's rootlesskit
    cmd=${cmd//\/usr\/bin\/rootlesskit /$LANE_BIN/rootlesskit }
    echo "$cmd" >"$D/command"
    as_user sh -c "$cmd" >"$D/containerd.log" 2>&1 &
    local i
    # up to 60 s: seen taking over 20 s once under CI's load (the Go control after it did not)
    for i in $(seq 300); do
        [ -S "$D/xdg/containerd/containerd.sock" ] && break
        [ -n "$(marked_pids)" ] || break
        sleep 0.2
    done
    [ -S "$D/xdg/containerd/containerd.sock" ] || { tail -20 "$D/containerd.log" >&3; return 1; }
}

teardown_file() {
    [ -n "${D:-}" ] || return 0
    local pid
    for pid in $(marked_pids); do kill -9 "$pid" 2>/dev/null || true; done
    rm -rf "$D" 2>/dev/null || true
}

sd() { echo "$D/xdg/containerd-rootless"; }
# ctr inside the instance's namespaces, as rootless-setuptool nsenter runs it.
ctr_in() { as_user rootless-setuptool nsenter --state-dir="$(sd)" -- ctr "$@"; }
rk_parent() { pgrep -o -f "^$LANE_BIN/rootlesskit --state-dir=$(sd)"; }

@test "containerd runs under the rootlesskit in \$LANE_BIN" {
    run rk_parent
    assert_success
    run readlink "/proc/$output/exe"
    assert_output "$LANE_BIN/rootlesskit"
    run ctr_in version
    assert_success
    assert_output --partial 'Server:'
}

@test "ctr imports a busybox image and runs it as uid 0" {
    run ctr_in images import "$D/image.tar"
    assert_success
    run ctr_in images ls -q
    assert_line "$IMAGE"
    run ctr_in run --rm --cgroup "" --cpu-shares 0 "$IMAGE" t-id id -u
    assert_success
    assert_output 0
}

@test "a port published through api.sock reaches a container on the host network" {
    mkdir -p "$D/www"
    echo ctr-port-ok >"$D/www/index.html"
    chmod -R a+rX "$D/www"
    run ctr_in run -d --cgroup "" --cpu-shares 0 --net-host --mount "type=bind,src=$D/www,dst=/www,options=rbind:ro" \
        "$IMAGE" web httpd -f -p 8080 -h /www
    assert_success
    run as_user rootlessctl --socket="$(sd)/api.sock" add-ports 127.0.0.1:18501:8080/tcp
    assert_success
    curl_until http://127.0.0.1:18501/index.html ctr-port-ok
    assert_output ctr-port-ok
}

@test "stopping rootlesskit leaves no process behind" {
    # containerd's shims outlive containerd by design (a restarted daemon re-attaches): a
    # container still running when rootlesskit stops would stay. Stopped first, as a user would.
    run ctr_in task delete --force web
    assert_success
    run ctr_in container delete web
    assert_success
    stop_leaves_nothing "$(rk_parent)" "$(sd)"
}
