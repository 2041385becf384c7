#!/usr/bin/env bats
# Purpose: --propagation, seen with a mount made on the "host" after rootlesskit started (as
# upstream's integration-propagation.sh). The host here is a mount namespace that root creates
# for the test with a shared /, so the test does not depend on the machine's own / propagation.
load helpers

# Runs rootlesskit with $1 as propagation inside a root-owned mount namespace whose / is
# shared; mounts a tmpfs on $T/mnt after child_pid appears; prints what the command sees.
observe_host_mount() {
    mkdir -p "$T/mnt"
    echo before >"$T/mnt/before"
    cat >"$T/host.sh" <<SCRIPT
set -e
$(declare -f as_user)
T=$T MARK=$MARK TEST_USER=$TEST_USER USER_PATH=$USER_PATH
as_user $RK --state-dir=$T/sd --propagation=$1 sh -c 'for i in \$(seq 200); do [ -e $T/go ] && break; sleep 0.05; done; ls $T/mnt' &
pid=\$!
for i in \$(seq 100); do [ -e $T/sd/child_pid ] && break; sleep 0.05; done
mount -t tmpfs none $T/mnt
echo after >$T/mnt/after
touch $T/go
wait \$pid
SCRIPT
    run unshare -m --propagation shared bash "$T/host.sh"
}

@test "rprivate and private: later host mounts are not seen" {
    for p in rprivate private; do
        rm -f "$T/go"
        observe_host_mount $p
        assert_success
        assert_output before
    done
}

@test "rslave, slave, rshared and shared: later host mounts are seen" {
    for p in rslave slave rshared shared; do
        rm -f "$T/go"
        observe_host_mount $p
        assert_success
        assert_output after
    done
}

@test "--copy-up=/run works with private and slave propagation" {
    for p in rprivate rslave; do
        run rk --propagation=$p --copy-up=/run echo test
        assert_success
        assert_line test
    done
}

@test "a warning when / on the host is not shared, none when it is" {
    # The host's / is shared on systemd machines and private in many containers: a mount
    # namespace of the test's own gives each case here (rootlesskit reads its own mountinfo).
    local cmd=(runuser -u "$TEST_USER" -- env -i PATH="$USER_PATH" "$MARK" "$RK" --propagation=rslave true)
    run unshare -m --propagation private "${cmd[@]}"
    assert_success
    assert_output --partial 'has no effect because / on the host is not a shared mount'
    run unshare -m --propagation shared "${cmd[@]}"
    assert_success
    refute_output --partial 'not a shared mount'
}
