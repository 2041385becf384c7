#!/usr/bin/env bats
# Purpose: the command's exit status is rootlesskit's, in every process mode (upstream's
# integration-exit-code.sh and integration-run-without-reap.sh).
load helpers

modes=("" "--pidns" "--pidns --reaper=auto" "--pidns --reaper=true" "--pidns --reaper=false" "--reaper=false")

@test "exit 0 and 42 in every process mode" {
    for m in "${modes[@]}"; do
        run rk $m sh -exc "exit 0"
        assert_success
        run rk $m sh -exc "exit 42"
        assert_failure 42
    done
    assert_no_state_dirs
}

@test "a command killed by SIGUSR1 makes rootlesskit exit 255 and name the signal" {
    for m in "" "--pidns" "--pidns --reaper=false"; do
        rk --state-dir="$T/sd" $m sleep infinity 2>"$T/err" &
        pid=$!
        wait_for_file "$T/sd/child_pid"
        cpid=$(cat "$T/sd/child_pid")
        # the target is the child's only child
        target=$(pgrep -P "$cpid" | head -1)
        kill -USR1 "$target"
        status=0; wait "$pid" || status=$?
        assert_equal "$status" 255
        run cat "$T/err"
        assert_output --partial 'user defined signal 1'
        [ ! -e "$T/sd" ]
    done
}

@test "SIGUSR1 sent to child_pid reaches the command (as upstream's test does it)" {
    rk --state-dir="$T/sd" sleep infinity 2>"$T/err" &
    pid=$!
    wait_for_file "$T/sd/child_pid"
    kill -USR1 "$(cat "$T/sd/child_pid")"
    status=0; wait "$pid" || status=$?
    assert_equal "$status" 255
    grep -q 'user defined signal 1' "$T/err"
}

@test "signals sent to rootlesskit reach the command, which may handle them" {
    rk --state-dir="$T/sd" sh -c 'trap "echo got-term; exit 7" TERM; echo trapping; while :; do sleep 0.05; done' >"$T/out" &
    pid=$!
    wait_for_file "$T/sd/child_pid"
    for _ in $(seq 100); do grep -q trapping "$T/out" && break; sleep 0.05; done
    # $pid is runuser's; signal the rootlesskit parent itself (the oldest of the two processes
    # with this command line: the child is a clone of the parent)
    parent=$(pgrep -o -f "^$RK --state-dir=$T/sd")
    assert_equal "$(cat /proc/$parent/status | awk '/^PPid/ {print $2}' | xargs -I{} cat /proc/{}/comm)" runuser
    kill -TERM "$parent"
    status=0; wait "$pid" || status=$?
    assert_equal "$status" 7
    run cat "$T/out"
    assert_output "trapping
got-term"
}

@test "command not found: exit 1 and a clear line" {
    run rk no-such-command-xyz
    assert_failure 1
    assert_output --partial 'exec: "no-such-command-xyz": executable file not found in $PATH'
    assert_no_state_dirs
}

@test "--reaper=false echo works and keeps the terminal (script(1))" {
    run rk --reaper=false echo hello
    assert_success
    assert_output hello
    run as_user script -qec "$RK --reaper=false sh -c 'tty >/dev/null && echo has-tty'" /dev/null
    assert_success
    assert_output --partial has-tty
    refute_output --partial 'cannot set terminal process group'
}
