#!/usr/bin/env bats
# Purpose: the set-up failures the rootless guides document, each with one line that names the
# cause and the fix, a non-zero exit, and nothing left behind.
load helpers

# Checks the failure contract for the last `run`: exit 1, an error line containing $1, and no
# state dir, no process left.
assert_clean_failure() {
    assert_failure 1
    assert_output --partial "$1"
    assert_errors_carry_fix
    assert_no_state_dirs
    assert_equal "$(leftover_pids)" ""
}

# The range "USER:START:65536" that the last output suggests (its last one) for $1 takes no one's ids: it
# overlaps no line of /etc/subuid or /etc/subgid. (Following a fix must not make two users
# share IDs.)
assert_suggests_free_range() {
    local start f line s c
    start=$(grep -oE "\"?$1:[0-9]+:65536" <<<"$output" | tail -1 | cut -d: -f2)
    [ -n "$start" ] || { echo "no range suggested for $1" >&2; return 1; }
    for f in /etc/subuid /etc/subgid; do
        while IFS=: read -r _ s c; do
            [[ $s =~ ^[0-9]+$ && $c =~ ^[0-9]+$ ]] || continue
            if [ $((start + 65536)) -gt "$s" ] && [ "$start" -lt $((s + c)) ]; then
                echo "the suggested $1:$start:65536 overlaps $s:$c in $f" >&2
                return 1
            fi
        done <"$f"
    done
}

@test "a user without sub-IDs: names user and uid and shows the line to add" {
    T2=$T
    TEST_USER=rk-nosub
    chown rk-nosub "$T"
    run rk true
    uid=$(id -u rk-nosub)
    assert_clean_failure "No subuid ranges found for user $uid (\"rk-nosub\") in /etc/subuid"
    assert_output --partial 'usermod --add-subuids'
    assert_suggests_free_range rk-nosub
    run rk --subid-source=dynamic true
    assert_clean_failure 'No subuid ranges found'
}

@test "a sub-ID range that contains the user's own uid" {
    TEST_USER=rk-overlap
    chown rk-overlap "$T"
    run rk true
    assert_clean_failure 'the /etc/subuid range rk-overlap:300000:65536 contains the user'"'"'s own uid 300100'
    assert_suggests_free_range rk-overlap
}

@test "a kernel without open_tree or pidfd_open: one line naming the feature and its version" {
    # (strace without -f: the probe runs before anything is started, newuidmap included)
    run as_user strace -o /dev/null -e trace=open_tree -e inject=open_tree:error=ENOSYS \
        "$RK" --state-dir="$T/sd" true
    assert_clean_failure "this kernel lacks open_tree (Linux 5.2)"
    assert_output --partial "run on Linux 5.14 or newer"
    [ ! -e "$T/sd" ]
    run as_user strace -o /dev/null -e trace=pidfd_open -e inject=pidfd_open:error=ENOSYS \
        "$RK" --state-dir="$T/sd" true
    assert_clean_failure "this kernel lacks pidfd_open (Linux 5.3)"
    [ ! -e "$T/sd" ]
}

@test "a helper binary: the default missing, a name or a path given with --*-binary - each its own fix" {
    # the default name, not in $PATH: install it
    mkdir "$T/bin"
    ln -s /bin/sh "$T/bin/sh"
    ln -s /usr/bin/newuidmap /usr/bin/newgidmap "$T/bin/"
    RK_PATH="$T/bin" run rk --net=slirp4netns --disable-host-loopback true
    assert_clean_failure 'slirp4netns binary "slirp4netns" not found in $PATH'
    assert_output --partial 'apt-get install slirp4netns'
    # a path given with the flag: no "set --slirp4netns-binary" to someone who set it
    run rk --net=slirp4netns --slirp4netns-binary=/nonexistent/slirp4netns --disable-host-loopback true
    assert_clean_failure 'slirp4netns binary "/nonexistent/slirp4netns" (given with --slirp4netns-binary) is not an executable file'
    refute_output --partial 'set --slirp4netns-binary'
    # a name given with the flag, not in $PATH
    run rk --net=pasta --pasta-binary=no-such-pasta --disable-host-loopback true
    assert_clean_failure 'pasta binary "no-such-pasta" (given with --pasta-binary) not found in $PATH'
    assert_output --partial 'give --pasta-binary a full path'
    run rk --net=vpnkit --vpnkit-binary="$T" --disable-host-loopback true
    assert_clean_failure "vpnkit binary \"$T\" (given with --vpnkit-binary) is not an executable file"
}

@test "newuidmap missing from PATH" {
    mkdir "$T/bin"
    ln -s /bin/sh "$T/bin/sh"
    RK_PATH="$T/bin" run rk true
    assert_clean_failure 'newuidmap not found in PATH'
    assert_output --partial 'apt-get install uidmap'
}

@test "newuidmap that is not setuid" {
    mkdir "$T/bin"
    cp /usr/bin/newuidmap /usr/bin/newgidmap "$T/bin/"
    chmod 0755 "$T/bin/newuidmap" "$T/bin/newgidmap"
    RK_PATH="$T/bin:$USER_PATH" run rk true
    assert_clean_failure "$T/bin/newuidmap is neither setuid root nor has file capabilities"
    assert_output --partial 'chmod u+s'
}

@test "newuidmap that rejects the map: its message is shown" {
    # A getsubids that reports a range the user does not own: the real, setuid newuidmap
    # checks /etc/subuid itself and refuses; its own message must reach the user.
    mkdir "$T/bin"
    printf '#!/bin/sh\necho "0: rk-test 300000 65536"\n' >"$T/bin/getsubids"
    chmod 0755 "$T/bin/getsubids"
    RK_PATH="$T/bin:$USER_PATH" run rk --subid-source=dynamic true
    assert_clean_failure 'failed to setup UID/GID map: newuidmap'
    assert_output --partial 'exit status 1'
}

@test "running as real root prints the warning, and the fix is to run as the user, not to give root sub-IDs" {
    run env TMPDIR="$T" "$RK" true
    assert_output --partial 'Running RootlessKit as the root user is unsupported.'
    assert_no_state_dirs
    if ! grep -q '^root:' /etc/subuid; then
        assert_failure 1
        assert_errors_carry_fix
        assert_output --partial 'run rootlesskit as the user who will run the daemon'
        refute_output --partial 'usermod --add-subuids'
    fi
    # rootless-setuptool check as root: one failure, "run it as that user"; root's sub-IDs are
    # not what is checked
    run env HOME=/root "$RK_TEST_PREFIX/bin/rootless-setuptool" check
    assert_line --regexp '^\[fail\] +user: running as root'
    assert_line --regexp '^\[info\] +subuid: not checked for root'
    refute_output --partial 'usermod --add-subuids'
}

@test "a command or a copy-up directory that does not exist: the error names the fix" {
    run rk --state-dir="$T/sd" nosuchcmd-xyz
    assert_clean_failure 'exec: "nosuchcmd-xyz": executable file not found in $PATH (give the command'"'"'s full path'
    run rk --state-dir="$T/sd" /nonexistent/cmd
    assert_clean_failure 'exec: "/nonexistent/cmd": No such file or directory (no such file'
    run rk --state-dir="$T/sd" --copy-up=/nonexistent true
    assert_clean_failure 'failed to copy up /nonexistent: cannot open it: No such file or directory (--copy-up takes existing directories'
}
