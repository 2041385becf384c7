#!/usr/bin/env bats
# Purpose: --copy-up in tmpfs+symlink mode - writable, original content reachable, symlinks
# kept, host unchanged.
load helpers

@test "/etc and /run together: writes land in the namespace only" {
    before_etc=$(ls -A /etc | sort | md5sum)
    before_run=$(ls -A /run | sort | md5sum)
    run rk --copy-up=/etc --copy-up=/run sh -c '
        set -e
        echo inside > /etc/rk-new-file
        rm /etc/hostname
        echo rk-host > /etc/hostname
        touch /run/rk-new-file
        cat /etc/rk-new-file /etc/hostname
        test -L /etc/passwd && head -1 /etc/passwd
        ls -ld /run/rk-new-file >/dev/null'
    assert_success
    assert_line inside
    assert_line rk-host
    assert_line --regexp '^root:'
    [ ! -e /etc/rk-new-file ]
    [ ! -e /run/rk-new-file ]
    [ "$(cat /etc/hostname)" != rk-host ]
    assert_equal "$(ls -A /etc | sort | md5sum)" "$before_etc"
    assert_equal "$(ls -A /run | sort | md5sum)" "$before_run"
}

@test "symlinks keep their targets; other entries point into the hidden original" {
    mkdir -p "$T/dir/sub"
    echo data >"$T/dir/file"
    ln -s /etc/hostname "$T/dir/abs-link"
    ln -s file "$T/dir/rel-link"
    chown -R "$TEST_USER" "$T/dir"
    run rk --copy-up="$T/dir" sh -c "cd $T/dir && readlink abs-link rel-link file sub && cat rel-link && ls -A | grep -c '^\.ro' && echo new > new && touch sub/in-sub 2>&1 || echo sub-write-failed"
    assert_success
    assert_line /etc/hostname
    assert_line file
    assert_line --regexp '^\.ro[0-9]+/file$'
    assert_line --regexp '^\.ro[0-9]+/sub$'
    assert_line data
    [ ! -e "$T/dir/new" ]
    # writes through a symlink into the original content reach the original (read-through)
    [ -e "$T/dir/sub/in-sub" ]
}

@test "the copied-up directory keeps its mode" {
    run rk --copy-up=/etc stat -c %a /etc
    assert_success
    assert_output "$(stat -c %a /etc)"
}

@test "a working directory inside the copied-up dir sees the new view" {
    mkdir -p "$T/d"
    chown "$TEST_USER" "$T/d"
    run as_user sh -c "cd $T/d && $RK --copy-up=$T/d sh -c 'touch x && ls -A | grep -c ro'"
    assert_success
    assert_output 1
    [ ! -e "$T/d/x" ]
}

@test "copy-up of a missing directory fails cleanly" {
    run rk --copy-up=/nonexistent-dir true
    assert_failure 1
    assert_output --partial 'failed to copy up /nonexistent-dir: cannot open it: No such file or directory'
    assert_no_state_dirs
}
