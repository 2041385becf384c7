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
