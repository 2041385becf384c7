#!/usr/bin/env bats
# Purpose: the documented commands run as written. Every shell block of README.md and docs/*.md
# marked `<!-- runnable: debian12 ... -->` is run in order by tests/docs/run-blocks.sh as the
# unprivileged test user, on this Debian 12 machine with its own docker.io 20.10 and our
# binaries first in PATH (the lane's docs.bats does the same for the `unstable` blocks: Docker
# 28). Blocks that cannot run here are not marked: the two README commands (they are CI itself),
# systemd user units (CI has no user session), uninstalling, Docker 29 (not in the archive).
load helpers

setup() {
    common_setup
    # what the user runs must be readable by them: a copy of the docs and the runner
    cp -r "$BATS_TEST_DIRNAME/../docs" "$T/tools"
    cp -r "$BATS_TEST_DIRNAME/../../docs" "$T/docs"
    cp "$BATS_TEST_DIRNAME/../../README.md" "$T/"
    mkdir -m 0700 "$T/home"
    chown "$TEST_USER:" "$T/home"
    chmod -R a+rX "$T/tools" "$T/docs" "$T/README.md"
    XDG=/run/user/$(id -u "$TEST_USER")
    mkdir -p "$XDG"
    chown "$TEST_USER:" "$XDG"
    chmod 0700 "$XDG"
}

teardown() {
    rm -rf "$XDG/docker" "$XDG/dockerd-rootless" "$XDG/docker.sock" "$XDG/docker.pid"
    common_teardown
}

@test "the runnable blocks of README.md and docs/*.md for Debian 12 run as the user, as written" {
    run runuser -u "$TEST_USER" -- env -i HOME="$T/home" USER="$TEST_USER" "$MARK" \
        PATH="$RK_TEST_PREFIX/bin:$USER_PATH" XDG_RUNTIME_DIR="$XDG" \
        sh -c 'cd "$1" && exec bash tools/run-blocks.sh debian12 README.md docs/*.md' sh "$T"
    echo "$output"
    assert_success
    assert_line --regexp '^== all [0-9]+ blocks for debian12 ran$'
    # the daemon a block started is gone with the script
    assert_equal "$(leftover_pids)" ""
}
