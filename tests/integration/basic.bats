#!/usr/bin/env bats
# Purpose: the fake root itself - uid 0 with the expected maps and capabilities, and the caller's
# environment, cwd, umask and stdio passed through with nothing internal leaking.
load helpers

@test "uid 0 inside with own uid at 0 and the sub-ID range from 1" {
    run rk sh -c 'id -u; id -g; cat /proc/self/uid_map /proc/self/gid_map'
    assert_success
    uid=$(id -u "$TEST_USER")
    gid=$(id -g "$TEST_USER")
    assert_equal "$(echo "$output" | sed -n 1p)" 0
    assert_equal "$(echo "$output" | sed -n 2p)" 0
    assert_equal "$(echo "$output" | sed -n 3p | awk '{print $1, $2, $3}')" "0 $uid 1"
    assert_equal "$(echo "$output" | sed -n 4p | awk '{print $1, $2, $3}')" "1 200000 65536"
    assert_equal "$(echo "$output" | sed -n 5p | awk '{print $1, $2, $3}')" "0 $gid 1"
    assert_equal "$(echo "$output" | sed -n 6p | awk '{print $1, $2, $3}')" "1 200000 65536"
}

@test "full capabilities in the user namespace" {
    run rk sh -c 'grep -E "^Cap(Prm|Eff|Bnd):" /proc/self/status'
    assert_success
    full=$(printf '%x' $(( (1 << ($(cat /proc/sys/kernel/cap_last_cap) + 1)) - 1 )))
    assert_line --regexp "^CapEff:[[:space:]]+0*${full}$"
    assert_line --regexp "^CapPrm:[[:space:]]+0*${full}$"
}

@test "root inside can chown to a sub-ID and mount a tmpfs" {
    run rk sh -c "touch $T/f && chown 1000:1000 $T/f && stat -c %u $T/f && mount -t tmpfs none /mnt && echo mounted"
    assert_success
    assert_line 1000
    assert_line mounted
    # Seen from the host, sub-ID 1000 is 200000 + 999.
    assert_equal "$(stat -c %u "$T/f")" 200999
}

@test "environment, cwd, umask and stdio are passed through" {
    mkdir "$T/work"
    chown "$TEST_USER" "$T/work"
    run runuser -u "$TEST_USER" -- env -i HOME=/home/$TEST_USER USER=$TEST_USER PATH=$USER_PATH \
        XDG_RUNTIME_DIR=/run/user/2001 FOO='a b' TMPDIR="$T" "$MARK" \
        sh -c "cd $T/work && umask 027 && echo input | $RK sh -c 'echo \$USER \$HOME \$XDG_RUNTIME_DIR \"\$FOO\"; pwd; umask; cat; echo err >&2'"
    assert_success
    assert_line "$TEST_USER /home/$TEST_USER /run/user/2001 a b"
    assert_line "$T/work"
    assert_line 0027
    assert_line input
    assert_line err
}

@test "ROOTLESSKIT_* variables are set and nothing internal leaks" {
    run rk sh -c 'env | sort'
    assert_success
    uid=$(id -u "$TEST_USER")
    gid=$(id -g "$TEST_USER")
    assert_line --regexp "^ROOTLESSKIT_STATE_DIR=$T/rootlesskit"
    assert_line "ROOTLESSKIT_PARENT_EUID=$uid"
    assert_line "ROOTLESSKIT_PARENT_EGID=$gid"
    # Exactly: what as_user passes (HOME USER LOGNAME PATH TMPDIR mark), ROOTLESSKIT_*, and
    # what sh itself adds (PWD, SHLVL?).
    extra=$(echo "$output" | grep -vE '^(HOME|USER|LOGNAME|PATH|TMPDIR|RK_TEST_MARK|ROOTLESSKIT_STATE_DIR|ROOTLESSKIT_PARENT_EUID|ROOTLESSKIT_PARENT_EGID|PWD|SHLVL|_|OLDPWD)=' || true)
    assert_equal "$extra" ""
}

@test "only stdio reaches the command" {
    run rk sh -c 'ls /proc/self/fd'
    assert_success
    # 0 1 2 and the fd ls uses to read the directory
    assert_equal "$(echo "$output" | tr '\n' ' ')" "0 1 2 3 "
    # even when the caller leaks an fd
    run as_user sh -c "exec 7</etc/hostname; $RK sh -c 'ls /proc/self/fd'"
    assert_success
    assert_equal "$(echo "$output" | tr '\n' ' ')" "0 1 2 3 "
}

@test "--version, --print-semver and --help" {
    run rk --version
    assert_success
    assert_output --regexp '^rootlesskit version 3\.[0-9]+\.[0-9]+'
    run rk --print-semver=major
    assert_success
    assert_output 3
    run rk --print-semver=minor
    assert_output 1
    run rk --print-semver=bogus
    assert_failure 1
    assert_output --partial 'expected --print-semver=(major|minor|patch), got "bogus"'
    run rk --help
    assert_success
    assert_line --partial 'rootlesskit [global options] [arguments...]'
    assert_line --regexp '^   Process:'
    assert_line --regexp '^   --pidns +create a PID namespace'
    # --help wins over a command and runs nothing
    run rk --help touch "$T/should-not-exist"
    assert_success
    [ ! -e "$T/should-not-exist" ]
}

@test "arguments after the command are the command's" {
    run rk echo --version -p x
    assert_success
    assert_output '--version -p x'
    run rk -- --pidns 2>/dev/null
    assert_failure 1
    assert_output --partial 'exec: "--pidns": executable file not found in $PATH'
}

@test "a caller with closed stdio: our internal fds never become the command's stdio" {
    run as_user sh -c "exec 0<&-; $RK sh -c 'readlink /proc/self/fd/0'"
    assert_success
    assert_output /dev/null
}
