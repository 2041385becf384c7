#!/usr/bin/env bats
# Purpose: --pidns, the reaper, and the other namespace flags.
load helpers

@test "--pidns: the command sees a fresh /proc" {
    run rk --pidns sh -c 'echo $$; ls /proc | grep -cE "^[0-9]+$"'
    assert_success
    # rootlesskit's child is PID 1, the command PID 2
    assert_equal "${lines[0]}" 2
    [ "${lines[1]}" -le 5 ]
}

@test "the reaper reaps a zombie left by the command" {
    # sh forks a child that forks a grandchild and exits at once: the grandchild is
    # reparented to PID 1 (our child) and must not stay a zombie.
    # Once the grandchild has exited: with the reaper its zombie goes (polled for up to 2 s),
    # without it one stays.
    local gone='while ps -eo stat,comm | grep -q "^[^Z][^ ]* *sleep$"; do sleep 0.05; done'
    local zombies='ps -eo stat | grep -c "^Z"'
    run rk --pidns sh -c "(sleep 0.2 & exec true); $gone
        for i in \$(seq 40); do [ \$($zombies) = 0 ] && break; sleep 0.05; done; $zombies || true"
    assert_success
    assert_output 0
    run rk --pidns --reaper=false sh -c "(sleep 0.2 & exec true); $gone; $zombies || true"
    assert_success
    assert_output 1
}

@test "with the reaper the command gets its own session; without, it keeps the caller's" {
    run rk --pidns sh -c 'ps -o sid= -p $$; echo $$'
    assert_success
    assert_equal "$(echo ${lines[0]})" "${lines[1]}"
    run rk --pidns --reaper=false sh -c 'ps -o sid= -p $$; echo $$'
    assert_success
    [ "$(echo ${lines[0]})" != "${lines[1]}" ]
}

@test "--pidns: background processes die with the command" {
    run rk --pidns sh -c "sleep 30 & echo started"
    assert_success
    # nothing of this test is left (teardown checks it as well)
    assert_equal "$(leftover_pids)" ""
}

# Issue 18 item 10 (upstream and Go 1.1.0 leave them running in a namespace whose network
# helper is gone): without --pidns too, what the command leaves behind ends with it -
# background jobs and daemons that forked away get SIGTERM, and SIGKILL 5 s later if they
# ignore it; the exit code stays the command's.
@test "without --pidns: what the command leaves running ends when it exits" {
    run rk --net=slirp4netns --disable-host-loopback --copy-up=/etc sh -c '
        exec >/dev/null 2>&1
        busybox httpd -f -p 18401 &
        sh -c "sleep 600 &" &
        setsid sh -c "trap \"\" TERM; while :; do sleep 1; done" &
        exit 7'
    assert_failure 7
    assert_equal "$(leftover_pids)" ""
}

@test "without --pidns: SIGTERM to rootlesskit ends the command and what it left running" {
    rk --state-dir="$T/sd" --net=slirp4netns --disable-host-loopback --copy-up=/etc sh -c '
        busybox httpd -f -p 18402 & sh -c "sleep 600 &"; exec sleep 600' >/dev/null 2>&1 3>&- &
    local rk_pid=$!
    wait_for_file "$T/sd/api.sock"
    kill "$(pgrep -o -f "^$RK --state-dir=$T/sd")"
    wait "$rk_pid" || true
    assert_equal "$(leftover_pids)" ""
    [ ! -e "$T/sd" ]
}

@test "--utsns and --ipcns isolate hostname and IPC" {
    run rk --utsns sh -c 'hostname rk-inside && hostname'
    assert_success
    assert_output rk-inside
    [ "$(hostname)" != rk-inside ]
    before=$(readlink /proc/self/ns/ipc)
    run rk --ipcns readlink /proc/self/ns/ipc
    assert_success
    [ "$output" != "$before" ]
    run rk readlink /proc/self/ns/ipc
    assert_output "$before"
}

@test "--cgroupns: the command's cgroup is the root of its view" {
    run rk --cgroupns sh -c 'grep "^0::" /proc/self/cgroup'
    assert_success
    assert_output '0::/'
    ns_host=$(readlink /proc/self/ns/cgroup)
    run rk --cgroupns readlink /proc/self/ns/cgroup
    [ "$output" != "$ns_host" ]
}

@test "--evacuate-cgroup2 moves us into the sub-group (delegated cgroup)" {
    mnt=$(findmnt -n -t cgroup2 -o TARGET | head -1)
    [ -n "$mnt" ] || skip_env "no cgroup v2 mount"
    grp="$mnt/rk-test-$$"
    mkdir "$grp"
    # delegate the group to the test user as systemd's Delegate=yes would
    chown "$TEST_USER" "$grp" "$grp/cgroup.procs" "$grp/cgroup.subtree_control"
    # as root, move this subshell into the group; runuser and rootlesskit inherit it
    run bash -c "echo \$BASHPID > $grp/cgroup.procs && $(declare -f as_user); T=$T MARK=$MARK TEST_USER=$TEST_USER USER_PATH=$USER_PATH as_user $RK --cgroupns --pidns --evacuate-cgroup2=evac sh -c 'grep ^0:: /proc/self/cgroup'"
    for p in $(cat "$grp/evac/cgroup.procs" "$grp/cgroup.procs" 2>/dev/null); do echo "$p" >"$mnt/cgroup.procs" || true; done
    rmdir "$grp/evac" "$grp" 2>/dev/null || true
    assert_success
    assert_output '0::/evac'
}

@test "--evacuate-cgroup2 without delegation: a clear error and no leftovers" {
    run rk --cgroupns --pidns --evacuate-cgroup2=evac true
    assert_failure 1
    assert_output --partial 'error: --evacuate-cgroup2'
    assert_output --partial 'not delegated'
    assert_no_state_dirs
}
