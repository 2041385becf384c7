#!/usr/bin/env bats
# Purpose: rootless-setuptool as the unprivileged user: `check` on this machine and on
# deliberately broken set-ups (no sub-IDs, overlapping sub-IDs, newuidmap missing or not setuid,
# XDG_RUNTIME_DIR unset / under /tmp / not ours), `--json`; install/uninstall against a
# temporary HOME (unit content, idempotence, foreign units, data left alone); nsenter into a
# running instance.
load helpers

SETUPTOOL=$RK_TEST_PREFIX/bin/rootless-setuptool

setup() {
    common_setup
    XDG=/run/user/$(id -u "$TEST_USER")
    mkdir -p "$XDG"
    chown "$TEST_USER:" "$XDG"
    chmod 0700 "$XDG"
    mkdir -p "$T/home"
    chown "$TEST_USER:" "$T/home"
}
teardown() {
    [ -z "${PARENT:-}" ] || kill "$PARENT" 2>/dev/null || true
    wait || true
    common_teardown
}

st() { EXTRA_ENV="XDG_RUNTIME_DIR=$XDG ${EXTRA_ENV:-}" as_user "$SETUPTOOL" "$@"; }
st_home() { EXTRA_ENV="XDG_RUNTIME_DIR=$XDG HOME=$T/home ${EXTRA_ENV:-}" as_user "$SETUPTOOL" "$@"; }

@test "check on this machine: every check reported, rootless mode will work" {
    run st check
    assert_success
    for name in user newuidmap subuid subgid userns xdg-runtime-dir tun fuse kernel slirp4netns \
        pasta cgroup ping privileged-ports proc-sys data-dir systemd dbus; do
        assert_line --regexp "^\[(ok|info|warn)\] +$name: "
    done
    assert_line --regexp '^\[ok\] +subuid: 65536 IDs for rk-test in /etc/subuid \(200000-265535\)$'
    assert_line "Rootless mode will work for this user."
}

@test "check --json is one valid JSON document with the same verdict" {
    run st check --json
    assert_success
    echo "$output" | jq -e '.ok == true and (.checks | length) == 18' >/dev/null
    echo "$output" | jq -e '[.checks[] | select(.name == "userns")][0].status == "ok"' >/dev/null
    echo "$output" | jq -e 'all(.checks[]; has("name") and has("status") and has("found") and has("fix"))' >/dev/null
}

@test "check: a user without sub-IDs fails with the usermod fix" {
    TEST_USER=rk-nosub run as_user env XDG_RUNTIME_DIR=/nonexistent "$SETUPTOOL" check --json
    assert_failure 1
    echo "$output" | jq -e '.ok == false' >/dev/null
    run jq -r '.checks[] | select(.name == "subuid") | .status + " " + .found + " | " + .fix' <<<"$output"
    assert_output --regexp '^fail no range for rk-nosub \(uid 2002\) in /etc/subuid \| as root: `usermod --add-subuids [0-9]+-[0-9]+ rk-nosub`'
}

@test "check: sub-IDs that contain the user's own uid fail" {
    TEST_USER=rk-overlap run as_user "$SETUPTOOL" check
    assert_failure 1
    assert_line --regexp '^\[fail\] +subuid: the range rk-overlap:300000:65536 in /etc/subuid contains rk-overlap.s own uid 300100'
    assert_line --partial "will NOT work"
}

@test "check: newuidmap missing from PATH fails with the package to install" {
    mkdir "$T/bin"
    ln -s /bin/sh "$T/bin/sh"
    RK_PATH="$T/bin" run st check
    assert_failure 1
    assert_line --regexp '^\[fail\] +newuidmap: newuidmap not found in PATH$'
    assert_line --partial "fix: install it: \`apt-get install uidmap\`"
    assert_line --regexp '^\[warn\] +slirp4netns: slirp4netns not found'
}

@test "check: a newuidmap that is not setuid fails with chmod/setcap fixes" {
    mkdir "$T/bin"
    cp /usr/bin/newuidmap /usr/bin/newgidmap "$T/bin/"
    chmod 0755 "$T/bin/newuidmap" "$T/bin/newgidmap"
    RK_PATH="$T/bin:$USER_PATH" run st check
    assert_failure 1
    assert_line --regexp "^\[fail\] +newuidmap: $T/bin/newuidmap is neither setuid root nor has file capabilities"
    assert_line --partial "chmod u+s $T/bin/newuidmap"
}

@test "check: XDG_RUNTIME_DIR unset fails; under /tmp warns; someone else's fails" {
    run as_user "$SETUPTOOL" check
    assert_failure 1
    assert_line --regexp '^\[fail\] +xdg-runtime-dir: XDG_RUNTIME_DIR is not set'
    assert_line --partial "fix: log in through pam_systemd"

    mkdir -m 0700 "$T/xdg"
    chown "$TEST_USER:" "$T/xdg"
    EXTRA_ENV="XDG_RUNTIME_DIR=$T/xdg" run as_user "$SETUPTOOL" check
    assert_success
    assert_line --regexp "^\[warn\] +xdg-runtime-dir: XDG_RUNTIME_DIR=$T/xdg is under /tmp"

    mkdir -m 0700 "$T/rootxdg"
    EXTRA_ENV="XDG_RUNTIME_DIR=$T/rootxdg" run as_user "$SETUPTOOL" check
    assert_failure 1
    assert_line --regexp "^\[fail\] +xdg-runtime-dir: XDG_RUNTIME_DIR=$T/rootxdg is owned by uid 0"
}

@test "check as root refuses to vouch for anyone" {
    run env XDG_RUNTIME_DIR=/run "$SETUPTOOL" check
    assert_failure 1
    assert_line --regexp '^\[fail\] +user: running as root'
}

@test "install --write-unit-only: the unit runs dockerd under our rootlesskit, idempotently" {
    run st_home install --write-unit-only dockerd -- --storage-driver=vfs
    assert_success
    unit=$T/home/.config/systemd/user/docker.service
    assert_line "[INFO] Created $unit"
    assert_line "export DOCKER_HOST=unix://$XDG/docker.sock"
    assert_line --partial "loginctl enable-linger $TEST_USER"
    run cat "$unit"
    assert_line --index 0 --partial "Written by rootless-setuptool"
    assert_line "Environment=PATH=$RK_TEST_PREFIX/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
    assert_line --regexp "^ExecStart=$RK_TEST_PREFIX/bin/rootlesskit --state-dir=%t/dockerd-rootless --net=slirp4netns --mtu=65520 .*--disable-host-loopback --port-driver=builtin --copy-up=/etc --copy-up=/run --propagation=rslave /bin/sh -c .* /usr/sbin/dockerd --storage-driver=vfs$"
    assert_line "Delegate=yes"
    [ "$(stat -c %a "$unit")" = 644 ]

    # nanosecond mtime and inode: any rewrite shows, no need to wait for the next second
    before=$(stat -c %y.%i "$unit")
    run st_home install --write-unit-only dockerd -- --storage-driver=vfs
    assert_success
    assert_line "[INFO] $unit is already installed and up to date"
    [ "$(stat -c %y.%i "$unit")" = "$before" ]

    run st_home install --write-unit-only dockerd
    assert_line "[INFO] Updated $unit"
    run grep -c -- --storage-driver=vfs "$unit"
    assert_output 0
}

@test "install leaves a unit it did not write alone unless --force" {
    mkdir -p "$T/home/.config/systemd/user"
    echo "[Service]" >"$T/home/.config/systemd/user/docker.service"
    chown -R "$TEST_USER:" "$T/home/.config"
    run st_home install --write-unit-only dockerd
    assert_failure 1
    assert_output --partial "was not written by rootless-setuptool"
    run cat "$T/home/.config/systemd/user/docker.service"
    assert_output "[Service]"
    run st_home uninstall --write-unit-only dockerd
    assert_failure 1
    run st_home install --write-unit-only --force dockerd
    assert_success
    run head -1 "$T/home/.config/systemd/user/docker.service"
    assert_output --partial "Written by rootless-setuptool"
}

@test "uninstall removes the unit, keeps the data, and is idempotent" {
    mkdir -p "$T/home/.local/share/docker"
    echo keep >"$T/home/.local/share/docker/marker"
    chown -R "$TEST_USER:" "$T/home/.local"
    run st_home install --write-unit-only containerd
    assert_success
    assert_line "export CONTAINERD_ADDRESS=$XDG/containerd/containerd.sock"
    run st_home install --write-unit-only dockerd
    assert_success
    run st_home uninstall --write-unit-only dockerd
    assert_success
    assert_line "[INFO] Removed $T/home/.config/systemd/user/docker.service"
    assert_line --partial "rm -rf $T/home/.local/share/docker"
    [ ! -e "$T/home/.config/systemd/user/docker.service" ]
    [ -e "$T/home/.config/systemd/user/containerd.service" ]
    run cat "$T/home/.local/share/docker/marker"
    assert_output keep
    run st_home uninstall --write-unit-only dockerd
    assert_success
    assert_output --partial "docker.service is not installed"
}

@test "install without a systemd session prints the command and writes nothing" {
    run st_home install dockerd
    assert_success
    assert_line --partial "No systemd user session"
    assert_line --regexp "^PATH=$RK_TEST_PREFIX/bin:\\\$PATH $RK_TEST_PREFIX/bin/rootlesskit --state-dir=$XDG/dockerd-rootless .* /usr/sbin/dockerd$"
    [ ! -e "$T/home/.config/systemd" ]
}

@test "install --exec and the errors: unknown daemon, missing binary, root, usage" {
    run st_home install --write-unit-only --exec "busybox httpd -f -p 8080" --name web \
        --rootlesskit-flags "-p 127.0.0.1:18080:8080/tcp"
    assert_success
    run grep ^ExecStart= "$T/home/.config/systemd/user/web.service"
    assert_output --regexp '^ExecStart=.*/rootlesskit --state-dir=%t/web-rootless .* -p 127.0.0.1:18080:8080/tcp /(usr/)?bin/busybox httpd -f -p 8080$'

    run st_home install --write-unit-only podman
    assert_failure 1
    assert_output --partial 'unknown daemon "podman"'
    mkdir "$T/bin"
    ln -s /bin/sh "$T/bin/sh"
    RK_PATH="$T/bin" run st_home install --write-unit-only --exec "no-such-daemon-xyz"
    assert_failure 1
    assert_output --partial "no-such-daemon-xyz not found in PATH"
    assert_errors_carry_fix
    [ ! -e "$T/home/.config/systemd/user/no-such-daemon-xyz.service" ]
    # a missing buildkitd is not fixed by Docker's package
    RK_PATH="$T/bin" run st_home install --write-unit-only buildkitd
    assert_failure 1
    assert_output --partial "buildkitd not found in PATH"
    assert_output --partial "moby/buildkit release"
    refute_output --partial "docker.io"
    run env HOME="$T/home" "$SETUPTOOL" install --write-unit-only dockerd
    assert_failure 1
    assert_output --partial "not as root"
    run st_home install
    assert_failure 2
    assert_output --partial "which daemon?"
    run st_home frobnicate
    assert_failure 2
    [ "${#lines[@]}" -eq 1 ]
    run st_home --version
    assert_success
    assert_output --regexp '^rootless-setuptool version [0-9]+\.[0-9]+\.[0-9]+\+cpp$'
}

@test "nsenter joins the instance's user, mount, net and pid namespaces; passes the exit code on" {
    rk --state-dir="$T/sd" --net=slirp4netns --disable-host-loopback --copy-up=/etc --pidns \
        sh -c 'echo inside >/etc/rk-nsenter-mark; exec sleep 60' &
    wait_for_file "$T/sd/api.sock"
    PARENT=$(pgrep -o -f "^$RK --state-dir=$T/sd")
    child=$(cat "$T/sd/child_pid")
    run st nsenter --state-dir "$T/sd" -- sh -c \
        'id -u; cat /etc/rk-nsenter-mark; readlink /proc/self/ns/net; ls /sys/class/net | sort | tr "\n" " "'
    assert_success
    assert_line --index 0 0
    assert_line --index 1 inside
    assert_line --index 2 "$(readlink /proc/$child/ns/net)"
    assert_line --index 3 "lo tap0 "
    run st nsenter --state-dir "$T/sd" sh -c 'exit 7'
    assert_failure 7
    # $ROOTLESSKIT_STATE_DIR is the default
    EXTRA_ENV="ROOTLESSKIT_STATE_DIR=$T/sd" run st nsenter cat /etc/rk-nsenter-mark
    assert_output inside
    kill "$PARENT"
    wait || true
    PARENT=
    run st nsenter --state-dir "$T/sd" true
    assert_failure 1
    assert_output --partial "rootless-setuptool nsenter:"
    run st nsenter --state-dir "$T/nothing-here" true
    assert_failure 1
    assert_output --partial "$T/nothing-here/child_pid cannot be read"
}
