#!/usr/bin/env bats
# Purpose: --net=vpnkit where vpnkit cannot run: Debian has no vpnkit package. What can be
# checked without it: a missing binary, a binary that dies at start, and a socket that does not
# speak vpnkit's protocol each give one clear line and leave nothing behind. (The protocol
# itself is covered by tests/unit/vmnet_test.cpp and the fuzz_vmnet target.)
load helpers

@test "vpnkit: a missing binary gives one clear line naming the fix, nothing left" {
    run rk --net=vpnkit --disable-host-loopback true
    assert_failure 1
    assert_line --partial 'vpnkit binary "vpnkit" not found in $PATH'
    assert_line --partial 'not packaged by Debian'
    assert_no_state_dirs
}

@test "vpnkit: a binary that dies at start: its last line in the error, nothing left" {
    printf '#!/bin/sh\necho "vpnkit: cannot listen on the ethernet socket" >&2; exit 2\n' >"$T/vpnkit"
    chmod 755 "$T/vpnkit"
    run rk --net=vpnkit --vpnkit-binary="$T/vpnkit" --disable-host-loopback true
    assert_failure 1
    assert_line --partial 'vpnkit failed (exit status 2): vpnkit: cannot listen on the ethernet socket'
    assert_no_state_dirs
    [ -z "$(leftover_pids)" ]
}

@test "vpnkit: a socket that does not speak vmnet fails the handshake cleanly" {
    # listens where vpnkit would ($2 after --ethernet), then greets with garbage
    printf '#!/usr/bin/python3\nimport socket, sys, time\ns = socket.socket(socket.AF_UNIX)\ns.bind(sys.argv[2]); s.listen(1)\nc, _ = s.accept(); c.sendall(b"HTTP/1.1 400 Bad Request\\r\\n" * 3)\ntime.sleep(30)\n' >"$T/vpnkit"
    chmod 755 "$T/vpnkit"
    run rk --net=vpnkit --vpnkit-binary="$T/vpnkit" --disable-host-loopback true
    assert_failure 1
    assert_line --partial 'vpnkit handshake: vpnkit hello lacks the VMN3T magic'
    assert_no_state_dirs
    [ -z "$(leftover_pids)" ]
}

@test "vpnkit: a non-default MTU warns (vpnkit is known to break above 16424)" {
    run rk --net=vpnkit --mtu=65520 --disable-host-loopback true
    assert_failure 1
    assert_line --partial 'vpnkit is known to work only with MTU 1500'
}
