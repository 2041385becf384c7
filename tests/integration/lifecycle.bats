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
        for _ in $(seq 40); do alive "$CHILD" || alive "$TARGET" || break; sleep 0.05; done
        # (not `! alive`: bats does not fail a test on a negated command)
        run alive "$CHILD"
        assert_failure
        run alive "$TARGET"
        assert_failure
        wait || true
        rm -rf "$T/sd"
    done
}

@test "restart on a state dir left by kill -9 works: the old state goes, nothing else does" {
    start_sleeper
    kill -9 "$PARENT"
    wait || true
    [ -e "$T/sd/child_pid" ]
    [ -S "$T/sd/api.sock" ] || [ -e "$T/sd/lock" ]
    as_user sh -c "echo mine >'$T/sd/notes.txt'"
    local old_pid
    old_pid=$(cat "$T/sd/child_pid")
    run rk --state-dir="$T/sd" sh -c 'ls -A $ROOTLESSKIT_STATE_DIR; echo "pid $(cat $ROOTLESSKIT_STATE_DIR/child_pid)"'
    assert_success
    refute_line "pid $old_pid"
    assert_line lock
    assert_line notes.txt
    # at exit our names go; the user's file stays, and so does the directory holding it
    assert_output --partial "left $T/sd in place: it holds files that are not RootlessKit's"
    run ls -A "$T/sd"
    assert_output notes.txt
    assert_equal "$(cat "$T/sd/notes.txt")" mine
    # a killed instance's directory that holds only our state is removed as usual
    rm "$T/sd/notes.txt"
    start_sleeper
    kill -9 "$PARENT"
    wait || true
    run rk --state-dir="$T/sd" true
    assert_success
    [ ! -e "$T/sd" ]
}

@test "a --state-dir holding someone's files is refused, and not one of them is touched" {
    as_user sh -c "mkdir -p '$T/p/sub' && echo keep >'$T/p/a.txt' && echo keep >'$T/p/sub/b'"
    run rk --state-dir="$T/p" true
    assert_failure
    assert_output --partial "refusing --state-dir=$T/p: it is not empty and holds no RootlessKit state"
    assert_output --partial "nothing in this one was touched"
    [ "${#lines[@]}" = 1 ]
    run sh -c "find '$T/p' -mindepth 1 | sort"
    assert_output "$(printf '%s\n' "$T/p/a.txt" "$T/p/sub" "$T/p/sub/b" | sort)"
    assert_equal "$(cat "$T/p/a.txt" "$T/p/sub/b")" "$(printf 'keep\nkeep')"
    # `--state-dir=.` in a home directory: the same refusal
    run as_user sh -c "cd '$T/p' && exec $RK --state-dir=. true"
    assert_failure
    assert_output --partial 'holds no RootlessKit state'
    [ -e "$T/p/a.txt" ] && [ -e "$T/p/sub/b" ]
    assert_equal "$(find "$T" -mindepth 1 -maxdepth 1 -name 'rootlesskit*')" ''
}

@test "a --state-dir others can write to, or that is not the user's, is refused" {
    as_user mkdir -m 0777 "$T/shared"
    as_user chmod 0777 "$T/shared"
    run rk --state-dir="$T/shared" true
    assert_failure
    assert_output --partial "refusing --state-dir=$T/shared: others can write to it (mode 0777)"
    assert_output --partial "chmod go-w $T/shared"
    [ -d "$T/shared" ]
    mkdir -m 0700 "$T/roots"
    run rk --state-dir="$T/roots" true
    assert_failure
    assert_output --regexp "cannot open state directory|refusing --state-dir=$T/roots: it belongs to uid 0"
    [ -d "$T/roots" ]
}

@test "an empty --state-dir of the user's is used and left in place; made parents are removed" {
    as_user mkdir -m 0700 "$T/empty"
    run rk --state-dir="$T/empty" sh -c 'ls -A $ROOTLESSKIT_STATE_DIR'
    assert_success
    assert_line lock
    [ -d "$T/empty" ]
    assert_equal "$(ls -A "$T/empty")" ''
    run rk --state-dir="$T/a/b/c" true
    assert_success
    [ ! -e "$T/a" ]
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
echo armed
sleep 2 &
wait
sleep 1
echo "ints=$n"
SCRIPT
    # ^C once the trap is set; the terminal stays open until the script has reported.
    (poll_until grep -q armed "$T/out"
        printf '\003'
        for _ in $(seq 100); do grep -q ints= "$T/out" && break; sleep 0.05; done) |
        as_user script -qfec "$RK sh $T/int.sh" /dev/null >"$T/out" 2>&1 || true
    run cat "$T/out"
    assert_output --partial 'ints=1'
}
