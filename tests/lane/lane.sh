#!/usr/bin/env bash
# Purpose: the current-distribution lane (as root): our .deb, installed with dpkg into a Debian
# 12 and a Debian unstable root filesystem, tested there against today's clients - Docker's own
# dockerd-rootless.sh for every network x port driver pair, with and without --detach-netns -
# with Go rootlesskit as the control in the same run. Prints the table of results.
#
# Usage: lane.sh BUILD_DIR [SUITE...] (default suites: bookworm unstable); LANE_CELLS=REGEX
# runs only the matching cells (inside.sh). Builds the .deb in
# BUILD_DIR (cpack) if it is not there. A root filesystem that cannot be built (no archive, no
# mmdebstrap) is reported in one line and skipped; a test of ours that fails makes the exit
# status 1.
#
# Each suite runs on a throw-away overlay of the cached tree (rootfs.sh), in new mount, network
# and PID namespaces (enter.sh): when the lane ends, every process it started ends with its PID
# namespace, and the overlay is unmounted and removed.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=$(cd "${1:?usage: lane.sh BUILD_DIR [SUITE...]}" && pwd)
shift
suites=("$@")
[ ${#suites[@]} -gt 0 ] || suites=(bookworm unstable)

if [ "$(id -u)" != 0 ]; then
    echo "lane.sh: run as root (it mounts overlays and enters namespaces)" >&2
    exit 1
fi
deb=$(ls "$build"/rootlesskit-cpp_*.deb 2>/dev/null | head -1 || true)
if [ -z "$deb" ]; then
    (cd "$build" && cpack >/dev/null)
    deb=$(ls "$build"/rootlesskit-cpp_*.deb | head -1)
fi

rc=0
table=()
work=
cleanup() {
    [ -n "$work" ] || return 0
    mountpoint -q "$work/root" && umount -l "$work/root"
    rm -rf "$work"
}
trap cleanup EXIT
for suite in "${suites[@]}"; do
    start=$(date +%s)
    if ! tree=$(bash "$here/rootfs.sh" "$suite"); then
        echo "lane($suite): skipped - its root filesystem could not be built (see above)"
        continue
    fi
    work=$(mktemp -d /var/tmp/rk-lane.XXXXXX)
    mkdir "$work/upper" "$work/work" "$work/root"
    mount -t overlay overlay \
        -o "lowerdir=$tree,upperdir=$work/upper,workdir=$work/work" "$work/root"
    mkdir "$work/root/lane"
    cp "$deb" "$here"/*.bats "$here"/lane-helpers.bash "$here"/inside.sh "$work/root/lane/"
    # the docs and their block runner, for docs.bats
    mkdir "$work/root/lane/docs-copy"
    cp -r "$here/../../README.md" "$here/../../docs" "$here/../docs/run-blocks.sh" \
        "$work/root/lane/docs-copy/"
    # the containers' UDP server: the image holds only static binaries
    gcc -static -O2 -o "$work/root/lane/udp-echo" "$here/udp-echo.c"
    suite_rc=0
    unshare --mount --net --pid --fork --propagation private \
        bash "$here/enter.sh" "$work/root" env LANE_CELLS="${LANE_CELLS:-.}" \
        bash /lane/inside.sh "$suite" || suite_rc=$?
    [ $suite_rc = 0 ] || rc=1
    versions=$(grep -E '^(docker.io|containerd|passt|rootlesskit|runc|slirp4netns) ' \
        "$tree/.versions" | tr '\n' ' ')
    while IFS='|' read -r client cell ours go; do
        table+=("$(printf '| %s | %s | %s | %s | %s |' "$suite" "$client" "$cell" "$ours" "$go")")
    done <"$work/root/lane/results"
    # the skips, for .ci/run's list (tests/tools/skips.sh); printed here when run alone
    if [ -s "$work/root/lane/skips" ]; then
        if [ -n "${RK_SKIP_LOG:-}" ]; then cat "$work/root/lane/skips" >>"$RK_SKIP_LOG"
        else sed 's/^/skipped: /' "$work/root/lane/skips"; fi
    fi
    cleanup
    work=
    echo "lane($suite): $(($(date +%s) - start)) s; $versions"
done

echo "== lane results (passed/run; skips not counted)"
echo "| suite | client | drivers | ours | Go rootlesskit |"
echo "|---|---|---|---|---|"
printf '%s\n' "${table[@]}"
exit $rc
