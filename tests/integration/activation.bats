#!/usr/bin/env bats
# Purpose: systemd socket activation passes through - the daemon sees LISTEN_FDS, its own pid in
# LISTEN_PID, and the sockets at fds 3.. (upstream's integration-systemd-socket.sh).
load helpers

# Starts `systemd-socket-activate` with $1 sockets around rootlesskit $2..., triggers it with a
# connection to the first socket and leaves the command's output in $T/out.
activate() {
    local n=$1 base=$((19000 + RANDOM % 500 * 4)) i
    shift
    local args=()
    for i in $(seq "$n"); do args+=(-l "127.0.0.1:$((base + i))"); done
    as_user timeout 20 systemd-socket-activate "${args[@]}" "$RK" "$@" sh -c \
        'echo fds=$LISTEN_FDS pid=$LISTEN_PID self=$$; for i in $(seq 3 $((2 + LISTEN_FDS))); do readlink /proc/self/fd/$i; done; ls /proc/self/fd | wc -l' \
        >"$T/out" 2>"$T/err" &
    local pid=$!
    for i in $(seq 100); do
        bash -c "exec 3<>/dev/tcp/127.0.0.1/$((base + 1))" 2>/dev/null && break
        sleep 0.05
    done
    wait "$pid"
}

@test "1, 2 and 3 activated sockets reach the command, LISTEN_PID is its own pid" {
    for n in 1 2 3; do
        for mode in "" "--pidns"; do
            activate $n $mode
            run cat "$T/out"
            assert_line --regexp "^fds=$n pid=([0-9]+) self=\\1\$"
            [ "$(grep -c '^socket:' "$T/out")" = "$n" ]
            # stdio, the sockets, and the fd of ls
            assert_line "$((3 + n + 1))"
        done
    done
}

@test "LISTEN_PID naming another process is passed through unchanged" {
    run as_user env LISTEN_PID=1 LISTEN_FDS=1 "$RK" sh -c 'echo $LISTEN_PID'
    assert_success
    assert_output 1
}
