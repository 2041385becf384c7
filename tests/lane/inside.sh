#!/usr/bin/env bash
# Purpose: the lane's driver inside a root filesystem (run by lane.sh through enter.sh, as root):
# make the test user, install our .deb with dpkg over Debian's rootlesskit, then run each
# bats file - the Docker file once per network x port driver pair x detach, for our .deb and
# for Go rootlesskit - and write one line per cell to $RESULTS:
#   client|cell|ours: passed/total|go: passed/total
# Each failing file's TAP output is printed. Exit 1 if any of our tests failed.
set -uo pipefail
suite=${1:?usage: inside.sh SUITE}
cd /lane
RESULTS=/lane/results
: >"$RESULTS"

useradd -m -u 2001 -s /bin/bash rk-test
echo rk-test:200000:65536 >/etc/subuid
echo rk-test:200000:65536 >/etc/subgid
chmod 0666 /dev/net/tun /dev/fuse 2>/dev/null || true

if ! dpkg -i /lane/rootlesskit-cpp_*.deb >/lane/dpkg.log 2>&1; then
    cat /lane/dpkg.log
    echo "lane($suite): our .deb did not install"
    exit 1
fi

ours_failed=0
# run_bats LABEL FILE [VAR=VALUE...]: runs FILE with the variables; prints "passed/total".
run_bats() {
    local label=$1 file=$2 log
    shift 2
    log=$(mktemp /lane/tap.XXXXXX)
    env "$@" timeout 900 bats --tap "$file" >"$log" 2>&1
    local total passed skipped
    total=$(grep -cE '^(ok|not ok) ' "$log")
    passed=$(grep -E '^ok ' "$log" | grep -vc '# skip')
    skipped=$(grep -cE '^ok .*# skip' "$log")
    # every skip, for the list at the end of .ci/run (tests/tools/skips.sh)
    grep -E '^ok .*# skip' "$log" | sed "s|^|lane($suite) $label: |" >>/lane/skips || true
    if grep -qE '^not ok ' "$log" || [ "$total" = 0 ]; then
        echo "---- $label: $file $* ----" >&2
        cat "$log" >&2
    fi
    echo "$passed/$((total - skipped))"
}

cell() { # CLIENT CELL FILE VAR=VALUE...: ours, then Go rootlesskit
    local client=$1 name=$2 file=$3
    shift 3
    local ours go=-
    ours=$(run_bats "$client $name (ours)" "$file" LANE_BIN=/usr/bin "$@")
    [ "${ours%/*}" = "${ours#*/}" ] && [ "${ours#*/}" != 0 ] || ours_failed=1
    if [ -x /opt/rootlesskit-go/bin/rootlesskit ] && [ "${LANE_GO:-1}" = 1 ]; then
        go=$(run_bats "$client $name (Go)" "$file" LANE_BIN=/opt/rootlesskit-go/bin "$@")
    fi
    echo "$client|$name|$ours|$go" >>"$RESULTS"
    echo "lane($suite): $client $name: ours $ours, Go $go"
}

# LANE_CELLS: a regular expression; only cells whose "client cell" matches run (default all).
wanted() { [[ "$1 ${2:-}" =~ ${LANE_CELLS:-.} ]]; }

wanted deb install && LANE_GO=0 cell deb "install over Debian's rootlesskit, run" deb.bats
if [ "$suite" = unstable ]; then
    docker_version=$(dpkg-query -W -f '${Version}' docker.io | sed 's/+.*//')
    containerd_version=$(dpkg-query -W -f '${Version}' containerd | sed 's/[+~].*//')
    passt_version=$(dpkg-query -W -f '${Version}' passt | sed 's/.*git\([0-9]*\).*/\1/')
    wanted containerd && cell "containerd $containerd_version" "rootless-setuptool install, ctr, port" \
        containerd.bats
    wanted pasta && cell "pasta $passt_version" "net, implicit ports, auto, host loopback" pasta.bats
    # Go rootlesskit 2.x has no pesto port driver: ours only (its rootlessctl is a client there)
    wanted pesto && LANE_GO=0 cell "pesto $passt_version" "port driver: API, TCP/UDP, refusals, stopped pasta" \
        pesto.bats
    wanted peer && LANE_GO=0 cell "rootlessctl" "Go 2.x <-> ours, every verb" peer.bats
    wanted docs && LANE_GO=0 cell "docs" "the runnable blocks for Docker $docker_version" docs.bats
    for pair in slirp4netns:builtin slirp4netns:slirp4netns gvisor-tap-vsock:builtin \
        gvisor-tap-vsock:gvisor-tap-vsock pasta:implicit pasta:pesto; do
        # Go rootlesskit 2.x has no pesto: ours only there
        go=1
        [ "${pair#*:}" = pesto ] && go=0
        wanted docker "${pair%:*}+${pair#*:}" &&
            LANE_GO=$go cell "docker $docker_version" "${pair%:*}+${pair#*:}" docker.bats \
            LANE_NET="${pair%:*}" LANE_PORT="${pair#*:}" LANE_DETACH=0
        # dockerd < 29 has no --detach-netns support: it would stay in the host's network
        # namespace and its iptables calls are refused (Go rootlesskit: the same).
        if ! wanted docker "${pair%:*}+${pair#*:} detach"; then
            :
        elif dpkg --compare-versions "$docker_version" ge 29; then
            LANE_GO=$go cell "docker $docker_version" "${pair%:*}+${pair#*:} detach" docker.bats \
                LANE_NET="${pair%:*}" LANE_PORT="${pair#*:}" LANE_DETACH=1
        else
            echo "docker $docker_version|${pair%:*}+${pair#*:} detach|n/a: dockerd < 29 cannot use --detach-netns|n/a" >>"$RESULTS"
        fi
    done
    # --socket-bypass (ours only): the whole Docker suite with the bypass on
    wanted docker "slirp4netns+builtin bypass" &&
        LANE_GO=0 cell "docker $docker_version" "slirp4netns+builtin bypass" docker.bats \
            LANE_NET=slirp4netns LANE_PORT=builtin LANE_DETACH=0 LANE_BYPASS=1
fi
exit $ours_failed
