#!/usr/bin/env bats
# Purpose: our .deb as a user gets it - installed with dpkg over Debian's own `rootlesskit`
# package (Conflicts/Replaces/Provides) - then used: the binaries in /usr/bin, the embedded
# network's helper found in /usr/libexec, man pages, bash completion, and rootlesskit running
# as the unprivileged user with each network driver this distribution has. Runs in each of the
# lane's root filesystems (Debian 12 and unstable).
load lane-helpers

setup() { make_scratch; }
teardown() { scratch_teardown; }

@test "the .deb replaced Debian's rootlesskit package and provides it" {
    run dpkg-query -W -f '${Status}' rootlesskit
    refute_output --partial 'install ok installed'
    run dpkg-query -W -f '${Status} ${Version}\n' rootlesskit-cpp
    assert_output --regexp '^install ok installed '
    run dpkg-query -W -f '${Provides}\n' rootlesskit-cpp
    assert_output --partial 'rootlesskit'
    run /usr/bin/rootlesskit --version
    assert_output --partial '+cpp'
    for b in rootlessctl rootless-setuptool rootlesskit-docker-proxy; do
        run "/usr/bin/$b" --help
        assert_success
    done
    [ -x /usr/libexec/rootlesskit/rootlesskit-netd ]
    # nothing of the Go build is left in the user's PATH
    run sh -c 'command -v rootlesskit'
    assert_output /usr/bin/rootlesskit
}

@test "man pages and bash completion are installed and work" {
    for m in rootlesskit rootlessctl rootless-setuptool rootlesskit-docker-proxy; do
        run man -P cat "$m"
        assert_success
        assert_output --partial "$m"
    done
    run man -P cat rootlesskit
    assert_output --partial -- '--port-driver'
    [ -f /usr/share/bash-completion/bash_completion ] || skip "bash-completion is not installed"
    run bash -c '. /usr/share/bash-completion/bash_completion
        COMP_WORDS=(rootlesskit --net=); COMP_CWORD=1; COMP_LINE="rootlesskit --net="; COMP_POINT=${#COMP_LINE}
        _completion_loader rootlesskit; _rootlesskit rootlesskit "" rootlesskit; printf "%s\n" "${COMPREPLY[@]}"'
    assert_line slirp4netns
    assert_line gvisor-tap-vsock
    run bash -c '. /usr/share/bash-completion/bash_completion
        COMP_WORDS=(rootlessctl a); COMP_CWORD=1; COMP_LINE="rootlessctl a"; COMP_POINT=${#COMP_LINE}
        _completion_loader rootlessctl; _rootlessctl rootlessctl a rootlessctl; printf "%s\n" "${COMPREPLY[@]}"'
    assert_output add-ports
}

@test "the installed rootlesskit runs the user as uid 0 with each network driver" {
    local net
    for net in none slirp4netns pasta gvisor-tap-vsock; do
        run as_user rootlesskit --net=$net --disable-host-loopback --copy-up=/etc sh -c \
            'id -u; ip -o link show | grep -c "^[0-9]"'
        assert_success
        assert_line --index 0 0
    done
}

@test "the installed rootlesskit publishes a port with the builtin driver" {
    echo deb-port-ok >"$D/index.html"
    chmod 644 "$D/index.html"
    as_user rootlesskit --state-dir="$D/sd" --net=gvisor-tap-vsock --disable-host-loopback \
        --copy-up=/etc --port-driver=builtin -p 127.0.0.1:18401:80/tcp \
        busybox httpd -f -p 80 -h "$D" >"$D/rk.log" 2>&1 &
    curl_until http://127.0.0.1:18401/index.html deb-port-ok
    assert_output deb-port-ok
    run as_user rootlessctl --socket "$D/sd/api.sock" list-ports
    assert_line --regexp '^1 +tcp +127\.0\.0\.1 +18401 +80 +$'
    kill "$(pgrep -o -f "rootlesskit --state-dir=$D/sd")"
    wait || true
    [ ! -e "$D/sd" ]
}
