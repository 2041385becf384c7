#!/usr/bin/env bats
# Purpose: --net=host (default) and --net=none (a network namespace with loopback only, brought
# up by us over netlink).
load helpers

@test "--net=host shares the host's network namespace" {
    run rk readlink /proc/self/ns/net
    assert_success
    assert_output "$(readlink /proc/self/ns/net)"
}

@test "--net=none: a new namespace whose only interface is lo, up, with 127.0.0.1 and ::1" {
    run rk --net=none sh -c 'readlink /proc/self/ns/net; tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d " "; cat /proc/net/if_inet6 | awk "{print \$1, \$6}"; ip -o -4 addr show dev lo | awk "{print \$4}"'
    assert_success
    [ "${lines[0]}" != "$(readlink /proc/self/ns/net)" ]
    assert_equal "${lines[1]}" lo
    assert_line '00000000000000000000000000000001 lo'
    assert_line 127.0.0.1/8
}

@test "--net=none: loopback carries traffic inside, the host's loopback is unreachable" {
    busybox=$(command -v busybox || true)
    [ -n "$busybox" ] || skip "busybox (busybox-static) not installed"
    # a host-side listener that the namespace must not reach
    port=$((20000 + RANDOM % 10000))
    timeout 10 "$busybox" nc -l -p "$port" >/dev/null 2>&1 &
    host_nc=$!
    wait_listen "$port"
    run rk --net=none bash -c "
        $busybox nc -l -p 7777 > $T/got &
        for i in \$(seq 100); do ss -Hltn 'sport = :7777' | grep -q . && break; sleep 0.05; done
        echo hello-lo > /dev/tcp/127.0.0.1/7777; wait
        cat $T/got
        if (echo x > /dev/tcp/127.0.0.1/$port) 2>/dev/null; then echo host-reachable; else echo host-unreachable; fi"
    kill "$host_nc" 2>/dev/null || true
    assert_success
    assert_line hello-lo
    assert_line host-unreachable
}
