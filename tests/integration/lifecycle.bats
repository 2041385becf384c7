#!/usr/bin/env bats
# Purpose: the state directory and the life of the processes - lock, child_pid, clean-up,
# kill -9 of the parent (upstream's integration-pdeathsig.sh and integration-restart.sh).
load helpers

start_sleeper() {
    rk --state-dir="$T/sd" "$@" sleep infinity >/dev/null 2>&1 &
    wait_for_file "$T/sd/child_pid"
    PARENT=$(pgrep -o -f "^$RK --state-dir=$T/sd")
    CHILD=$(cat "$T/sd/child_pid")
    TARGET=$(pgrep -P "$CHILD" | head -1)
}

alive() { [ -e "/proc/$1" ] && [ "$(awk '{print $3}' "/proc/$1/stat")" != Z ]; }

@test "state dir files: lock 0600, child_pid 0444 without newline, dir 0700" {
    start_sleeper
    assert_equal "$(stat -c %a "$T/sd")" 700
    assert_equal "$(stat -c %a "$T/sd/lock")" 600
    assert_equal "$(stat -c %a "$T/sd/child_pid")" 444
    assert_equal "$(od -An -c "$T/sd/child_pid" | tr -d ' \n')" "$CHILD"
    # child_pid is a process in the namespaces: nsenter can use it
    run nsenter -t "$CHILD" -U -m --preserve-credentials cat /proc/self/uid_map
    assert_success
    assert_output --regexp '^ +0 +2001 +1'
    kill "$PARENT"
    wait
    [ ! -e "$T/sd" ]
}

@test "a default state dir is private, under \$TMPDIR, and removed on exit" {
    run rk sh -c 'echo $ROOTLESSKIT_STATE_DIR; stat -c "%a %U" $ROOTLESSKIT_STATE_DIR'
    assert_success
    assert_line --regexp "^$T/rootlesskit"
    assert_line '700 root'
    assert_no_state_dirs
}

@test "a second instance on the same state dir is refused and leaves the first alone" {
    start_sleeper
    run rk --state-dir="$T/sd" true
    assert_failure 1
    assert_output --partial "failed to lock $T/sd/lock, another RootlessKit is running with the same state directory"
    [ -e "$T/sd/child_pid" ]
    alive "$TARGET"
    kill "$PARENT"
    wait
}

@test "kill -9 of the parent takes child and command down within 2 s" {
    for mode in "--pidns --reaper=true" "--reaper=false" ""; do
        start_sleeper $mode
        alive "$CHILD"
        alive "$TARGET"
        kill -9 "$PARENT"
        sleep 2
        ! alive "$CHILD"
        ! alive "$TARGET"
        wait || true
        rm -rf "$T/sd"
    done
}

@test "restart on a state dir left by kill -9 works and wipes the old files" {
    start_sleeper
    kill -9 "$PARENT"
    wait || true
    [ -e "$T/sd/child_pid" ]
    as_user touch "$T/sd/stale"
    run rk --state-dir="$T/sd" sh -c 'ls -A $ROOTLESSKIT_STATE_DIR'
    assert_success
    refute_line stale
    assert_line lock
    [ ! -e "$T/sd" ]
}

@test "an interactive shell keeps its terminal and job control" {
    run as_user script -qec "$RK bash --norc -i -c 'sleep 0.1 & wait; jobs; echo done'" /dev/null
    assert_success
    assert_output --partial done
    refute_output --partial 'no job control'
    refute_output --partial 'cannot set terminal process group'
}

@test "Ctrl-C on the terminal reaches the command once" {
    # The terminal sends SIGINT to the whole foreground process group - rootlesskit's parent,
    # child and the command - so forwarding it as well would deliver it two more times.
    cat >"$T/int.sh" <<'SCRIPT'
n=0
trap 'n=$((n+1))' INT
sleep 2 &
wait
sleep 1
echo "ints=$n"
SCRIPT
    (sleep 1; printf '\003'; sleep 2.5) | as_user script -qfec "$RK sh $T/int.sh" /dev/null >"$T/out" 2>&1 || true
    run cat "$T/out"
    assert_output --partial 'ints=1'
}
