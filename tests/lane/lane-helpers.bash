# Purpose: shared set-up for the lane's bats files, which run inside the lane's root filesystem
# (enter.sh) as root; every rootlesskit runs as the unprivileged $TEST_USER. $LANE_BIN is the
# directory whose rootlesskit and rootlessctl are under test: /usr/bin (our .deb) or
# /opt/rootlesskit-go/bin (Go rootlesskit, the control).
load '/usr/lib/bats/bats-support/load'
load '/usr/lib/bats/bats-assert/load'

TEST_USER=rk-test
LANE_BIN=${LANE_BIN:-/usr/bin}
USER_PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

# A test that cannot run says why in one of the two forms CI accepts (tests/tools/skips.sh
# lists every skip at the end of .ci/run and fails on any other): skip_env for a fact of this
# machine (the kernel, a tool's version, an address it lacks), skip_na for a test that does not
# apply to this run's configuration (a driver, the Go peer). A plain skip - a tool CI installs,
# our own install - fails CI: a test CI does not run is a test CI does not have.
skip_env() { skip "environment: $*"; }
skip_na() { skip "not applicable: $*"; }

# Runs a command as the test user with $LANE_BIN first in PATH, in $D, carrying the mark
# RK_LANE_MARK=$D (leftover checks) and $EXTRA_ENV.
as_user() {
    runuser -u "$TEST_USER" -- env -i HOME="$D/home" USER="$TEST_USER" LOGNAME="$TEST_USER" \
        PATH="$LANE_BIN:$USER_PATH" XDG_RUNTIME_DIR="$D/xdg" "RK_LANE_MARK=$D" \
        ${EXTRA_ENV:-} sh -c 'cd "$1" && shift && exec "$@"' sh "$D" "$@"
}

# A scratch directory the test user owns parts of: $D, $D/xdg (0700), $D/home.
make_scratch() {
    D=$(mktemp -d /tmp/rk-lane.XXXXXX)
    chmod 0755 "$D"
    mkdir -m 0700 "$D/xdg" "$D/home"
    chown "$TEST_USER:" "$D" "$D/xdg" "$D/home"
    export D
}

# The usual teardown: every process carrying $D's mark killed, $D removed.
scratch_teardown() {
    local pid
    for pid in $(marked_pids); do kill -9 "$pid" 2>/dev/null || true; done
    rm -rf "$D"
}

# Processes carrying $D's mark (zombies excluded).
marked_pids() {
    local f pid
    for f in /proc/[0-9]*/environ; do
        pid=${f#/proc/}
        pid=${pid%/environ}
        [ "$pid" = $$ ] && continue
        if tr '\0' '\n' 2>/dev/null <"$f" | grep -qxF "RK_LANE_MARK=$D"; then
            [ "$(awk '{print $3}' /proc/$pid/stat 2>/dev/null)" = Z ] || echo "$pid"
        fi
    done
}

# A one-binary image as a plain tar: busybox and the applets the tests use.
make_busybox_rootfs_tar() { # OUT
    local dir
    dir=$(mktemp -d)
    mkdir -p "$dir/bin" "$dir/tmp" "$dir/etc"
    cp /bin/busybox "$dir/bin/"
    local a
    for a in sh id httpd mkdir echo cat sleep wget nc ip ls true; do ln -s busybox "$dir/bin/$a"; done
    cp /lane/udp-echo "$dir/bin/"
    echo 'root:x:0:0:root:/:/bin/sh' >"$dir/etc/passwd"
    tar -C "$dir" -cf "$1" .
    chmod 0644 "$1"
    rm -rf "$dir"
}

# GETs $1 until the body is $2 (up to 10 s); sets $output/$status like `run`.
curl_until() {
    local i
    for i in $(seq 50); do
        run curl -sS -m 2 -g "$1"
        [ "$output" = "$2" ] && return 0
        sleep 0.2
    done
}

# Waits up to 5 s until something listens on port $1 on the host (the lane's namespace): TCP,
# or UDP with $2 = u. A "nothing may arrive" check is only worth something once it is true.
wait_listen_here() {
    local i
    for i in $(seq 100); do
        ss -Hl"${2:-t}"n "sport = :$1" | grep -q . && return 0
        sleep 0.05
    done
    echo "nothing listens on port $1 (${2:-t})" >&3
    return 1
}

# Waits up to 10 s until nothing listens on TCP port $1 on the host (the lane's namespace).
wait_port_closed() {
    local i
    for i in $(seq 50); do
        ss -Htln "sport = :$1" | grep -q . || return 0
        sleep 0.2
    done
    ss -Htlnp "sport = :$1" >&3
    return 1
}

# An OCI image archive (for `ctr images import`) of the busybox tree, named NAME (e.g.
# docker.io/library/rk-bb:latest): one uncompressed layer, a config, a manifest and an index.
make_oci_archive() { # NAME OUT
    local name=$1 out=$2 dir
    dir=$(mktemp -d)
    mkdir -p "$dir/oci/blobs/sha256"
    make_busybox_rootfs_tar "$dir/layer.tar"
    local layer lsize config csize manifest msize
    layer=$(sha256sum "$dir/layer.tar" | cut -d' ' -f1)
    lsize=$(stat -c %s "$dir/layer.tar")
    mv "$dir/layer.tar" "$dir/oci/blobs/sha256/$layer"
    printf '{"architecture":"amd64","os":"linux","config":{"Cmd":["/bin/sh"]},"rootfs":{"type":"layers","diff_ids":["sha256:%s"]}}' \
        "$layer" >"$dir/config"
    config=$(sha256sum "$dir/config" | cut -d' ' -f1)
    csize=$(stat -c %s "$dir/config")
    mv "$dir/config" "$dir/oci/blobs/sha256/$config"
    printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:%s","size":%s},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"sha256:%s","size":%s}]}' \
        "$config" "$csize" "$layer" "$lsize" >"$dir/manifest"
    manifest=$(sha256sum "$dir/manifest" | cut -d' ' -f1)
    msize=$(stat -c %s "$dir/manifest")
    mv "$dir/manifest" "$dir/oci/blobs/sha256/$manifest"
    printf '{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:%s","size":%s,"annotations":{"io.containerd.image.name":"%s","org.opencontainers.image.ref.name":"%s"}}]}' \
        "$manifest" "$msize" "$name" "$name" >"$dir/oci/index.json"
    echo '{"imageLayoutVersion":"1.0.0"}' >"$dir/oci/oci-layout"
    tar -C "$dir/oci" -cf "$out" .
    chmod 0644 "$out"
    rm -rf "$dir"
}

# Sends SIGTERM to rootlesskit (PID $1, state dir $2) and asserts that it exits within 60 s,
# that nothing is left in its user namespace (processes that are exiting get 10 s), that no
# process carries $D's mark and that api.sock is gone.
stop_leaves_nothing() {
    local parent=$1 state_dir=$2 child userns i left
    child=$(cat "$state_dir/child_pid")
    userns=$(readlink "/proc/$child/ns/user")
    kill -TERM "$parent"
    for i in $(seq 120); do
        kill -0 "$parent" 2>/dev/null || break
        sleep 0.5
    done
    run kill -0 "$parent"
    assert_failure
    for i in $(seq 50); do
        left=$(for p in /proc/[0-9]*; do
            [ "$(readlink "$p/ns/user" 2>/dev/null)" = "$userns" ] && echo "${p#/proc/}"
        done; true)
        [ -z "$left" ] && break
        sleep 0.2
    done
    assert_equal "$left" ""
    run marked_pids
    assert_output ""
    [ ! -e "$state_dir/api.sock" ]
}
