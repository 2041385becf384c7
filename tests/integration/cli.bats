#!/usr/bin/env bats
# Purpose: bad command lines - one clear line naming the problem, exit 1, nothing left behind.
load helpers

# Runs rootlesskit with a bad command line and checks the common contract.
expect_usage_error() {
    local want=$1
    shift
    run rk "$@"
    assert_failure 1
    assert_equal "${#lines[@]}" 1
    assert_output --partial "[rootlesskit:parent] error: $want"
    assert_errors_carry_fix
    assert_no_state_dirs
}

@test "unknown flag" {
    expect_usage_error 'flag provided but not defined: -foo' --foo true
    expect_usage_error 'flag provided but not defined: -foo' -foo=1 true
}

@test "bad values" {
    expect_usage_error 'invalid boolean value "yes" for -pidns: parse error' --pidns=yes true
    expect_usage_error 'invalid value "x" for flag -mtu: parse error' --mtu=x true
    expect_usage_error 'flag needs an argument: -net' --net
    expect_usage_error 'bad flag syntax: ---pidns' ---pidns true
}

@test "no command" {
    expect_usage_error 'no command specified' --pidns
}

@test "a bool flag takes its value only with =" {
    # "--pidns false" is --pidns plus the command `false`
    run rk --pidns false
    assert_failure 1
    run rk --pidns=false true
    assert_success
}

@test "single-dash long flags and separate values" {
    # /proc/net/dev lists the interfaces of our network namespace: only lo
    run rk -net none -pidns sh -c 'tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d " "'
    assert_success
    assert_output lo
}

@test "validation errors" {
    expect_usage_error 'mtu must be <= 65521, got 70000' --mtu=70000 true
    expect_usage_error 'custom cidr is not supported for --net=host' --cidr=10.0.2.0/24 true
    expect_usage_error 'ifname cannot be specified for --net=none' --net=none --ifname=eth0 true
    expect_usage_error 'unknown network mode: bogus' --net=bogus true
    expect_usage_error 'unknown port driver: bogus' --port-driver=bogus true
    expect_usage_error 'port driver requires non-host network' --port-driver=builtin true
    expect_usage_error 'port driver "none" does not support publishing ports' -p 127.0.0.1:8080:80/tcp true
    expect_usage_error 'reaper requires --pidns' --reaper=true true
    expect_usage_error 'unknown reaper mode: x' --reaper=x true
    expect_usage_error 'evacuate-cgroup2 requires --cgroupns' --evacuate-cgroup2=e true
    expect_usage_error 'evacuate-cgroup2 requires --pidns' --cgroupns --evacuate-cgroup2=e true
    expect_usage_error 'unknown copy-up mode: x' --copy-up-mode=x true
    expect_usage_error 'unknown propagation mode "x"' --propagation=x true
    expect_usage_error 'propagation rshared does not support copy-up driver tmpfs+symlink' --propagation=rshared --copy-up=/etc true
    expect_usage_error '/tmp cannot be copied up' --copy-up=/tmp true
    expect_usage_error 'failed to setup UID/GID map: unknown subid source "x"' --subid-source=x true
    # the default network is the host's: nothing to bypass, and every connect() would be trapped
    expect_usage_error '--socket-bypass has nothing to bypass with --net=host' --socket-bypass true
    expect_usage_error '--socket-bypass has nothing to bypass with --net=host' --net=host --socket-bypass true
}

@test "sctp ports fail with one line naming the protocol" {
    expect_usage_error 'failed to expose port {sctp 127.0.0.1 8080 80 }: unsupported port protocol sctp' --net=none --port-driver=builtin -p 127.0.0.1:8080:80/sctp true
}

@test "copy-up and publish values split on commas" {
    run rk --copy-up=/etc,/run sh -c 'touch /etc/x /run/y && echo ok'
    assert_success
    assert_output ok
    [ ! -e /etc/x ]
}

@test "a --state-dir that is given is used, locked and removed on exit" {
    # child_pid is written once the child is ready, concurrently with the command's start (as
    # upstream): the command waits for it.
    run rk --state-dir="$T/sd" sh -c 'for i in $(seq 100); do [ -e $ROOTLESSKIT_STATE_DIR/child_pid ] && break; sleep 0.02; done
        echo $ROOTLESSKIT_STATE_DIR; ls -A $ROOTLESSKIT_STATE_DIR; stat -c %a $ROOTLESSKIT_STATE_DIR'
    assert_success
    assert_line "$T/sd"
    assert_line lock
    assert_line child_pid
    assert_line 700
    [ ! -e "$T/sd" ]
}

@test "--help names each network driver's default MTU (the embedded network's is 65520, not 1500)" {
    run rk --help
    assert_success
    assert_output --partial "65520 for slirp4netns, pasta and gvisor-tap-vsock, 1500 for vpnkit and lxc-user-nic"
    # and that is what the embedded network's tap0 gets
    run rk --net=gvisor-tap-vsock --disable-host-loopback --copy-up=/etc cat /sys/class/net/tap0/mtu
    assert_success
    assert_output 65520
}
