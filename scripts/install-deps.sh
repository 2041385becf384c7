#!/usr/bin/env bash
# Purpose: install (as root, from Debian's archive) whatever this machine lacks to build, test
# and benchmark rootlesskit-cpp. Installs nothing that is already there.
#   package: dpkg-dev (dpkg-shlibdeps, for the .deb's Depends)
#   lane:    mmdebstrap (the Debian 12 and unstable root filesystems of tests/lane)
#   kernel lane: qemu-system-x86 (boots Debian's kernels under TCG), e2fsprogs (mkfs.ext4 -d),
#            golang-go (a Go client whose connects come from threads, as Go daemons' do)
#   build:   cmake g++ make libfmt-dev libexpected-dev nlohmann-json3-dev libboost-dev libcli11-dev
#            libslirp-dev libseccomp-dev (the embedded network, rootlesskit-netd)
#   run:     uidmap (newuidmap/newgidmap, getsubids); slirp4netns, passt (pasta), lxc
#            (lxc-user-nic) for those nets
#   tests:   googletest bats bats-assert bats-support busybox-static systemd (socket activation)
#            docker.io (real rootless Docker on our binaries; its docker-proxy for the proxy tests)
#            jq (checks rootless-setuptool's JSON) strace (fault injection: the bypass's ADDFD
#            error path, a lost dial reply, netd without Landlock)
#            bsdutils (script) procps util-linux iproute2 curl netcat-openbsd dnsmasq-base (a
#            DNS server on host loopback for the network tests)
#   fuzzing: clang libclang-rt-14-dev
#   bench:   hyperfine iperf3 wrk nginx-light slirp4netns rootlesskit (Debian's Go build: the
#            baseline, never used at run time)
set -euo pipefail
if [ "$(id -u)" != 0 ]; then
    echo "install-deps.sh: run as root (or with sudo)" >&2
    exit 1
fi
want=(dpkg-dev mmdebstrap qemu-system-x86 e2fsprogs golang-go strace
      cmake g++ make pkg-config libfmt-dev libexpected-dev nlohmann-json3-dev libboost-dev libcli11-dev
      libslirp-dev libseccomp-dev
      uidmap lxc
      googletest libgtest-dev bats bats-assert bats-support busybox-static systemd bsdutils procps
      util-linux iproute2 curl netcat-openbsd dnsmasq-base docker.io jq
      clang libclang-rt-14-dev
      hyperfine iperf3 wrk nginx-light slirp4netns passt rootlesskit)
missing=()
for p in "${want[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "installing: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
