#!/usr/bin/env bats
# Purpose: user namespaces disabled by sysctl - the error names the sysctl and the fix. This
# file flips a machine-wide setting for a moment, so ctest runs it alone (RUN_SERIAL).
load helpers

@test "user.max_user_namespaces = 0" {
    old=$(cat /proc/sys/user/max_user_namespaces)
    echo "$old" 2>/dev/null >/proc/sys/user/max_user_namespaces ||
        skip_env "cannot write user.max_user_namespaces here (no CAP_SYS_RESOURCE); covered by unit tests"
    echo 0 >/proc/sys/user/max_user_namespaces
    run rk true
    echo "$old" >/proc/sys/user/max_user_namespaces
    assert_failure 1
    assert_output --partial 'failed to create the user namespace'
    assert_output --partial 'sysctl -w user.max_user_namespaces=28633'
    assert_no_state_dirs
    assert_equal "$(leftover_pids)" ""
}

# Inside a container whose /proc/sys is read-only (systemd-nspawn without a private network,
# many runtimes), a network namespace keeps that /proc unless --pidns mounts its own: dockerd
# then dies on "Enabling IP forwarding failed". rootlesskit warns naming --pidns, check reports
# it, and --pidns does fix it. A mount namespace of the test's own stands in for the container.
# Runs "$@" as the test user in a mount namespace of its own whose /proc/sys is read-only.
in_ro_proc_sys() {
    unshare -m sh -c 'mount --bind /proc/sys /proc/sys && mount -o remount,bind,ro /proc/sys &&
        exec "$@"' sh runuser -u "$TEST_USER" -- env -i -C "$T" PATH="$USER_PATH" "$MARK" \
        HOME="/home/$TEST_USER" "$@"
}

@test "a read-only /proc/sys: one warning naming the fixes, check reports it, --pidns says why it cannot help here" {
    local set_forward='echo 1 >/proc/sys/net/ipv4/ip_forward && echo set'
    run in_ro_proc_sys "$RK" --net=none sh -c "$set_forward"
    assert_line --partial '/proc/sys is read-only here'
    assert_output --partial 'DOCKERD_ROOTLESS_ROOTLESSKIT_FLAGS=--pidns'
    assert_output --partial 'systempaths=unconfined'
    refute_line set
    # --pidns: no start-up warning; here (a read-only bind over /proc/sys, as a container's) the
    # kernel refuses a new /proc, and the child says why and what does help
    run in_ro_proc_sys "$RK" --net=none --pidns sh -c "$set_forward"
    refute_output --partial '/proc/sys is read-only here'
    assert_output --partial 'failed to mount a new /proc for the PID namespace: Operation not permitted (this /proc has read-only or masked parts'
    refute_line set
    # --net=host: no network namespace of ours, nothing to warn about
    run in_ro_proc_sys "$RK" true
    refute_output --partial '/proc/sys is read-only'
    run in_ro_proc_sys "$RK_TEST_PREFIX/bin/rootless-setuptool" check
    assert_line --regexp '^\[warn\] +proc-sys: /proc/sys is read-only'
    assert_output --partial '--rootlesskit-flags --pidns'
    # the control: with /proc/sys writable the namespace sets its own sysctl, no warning
    run rk --net=none sh -c "$set_forward"
    assert_line set
    refute_output --partial '/proc/sys is read-only'
}
