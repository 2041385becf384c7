#!/usr/bin/env bash
# Purpose: the kernel lane (as root): boot Debian's own kernels under QEMU and run guest.bats
# inside, on our .deb as a user installs it. Prints one line per test and kernel, and a table.
#
# Usage: run.sh BUILD_DIR [SUITE...]   (default: bookworm, i.e. Linux 6.1; trixie is 6.12)
#
# Each guest is the cached image of guest-image.sh, booted with snapshot=on (never written) and
# a second, read-only disk made here: the .deb (cpack in BUILD_DIR if missing), the test tools
# built in BUILD_DIR, a Go client (built here when a Go compiler is installed), helpers.bash,
# guest.bats and guest-init.sh. TCG only: /dev/kvm opens on this VM but a nested guest hangs.
# The guest's serial console is the only way back: TAP lines and "RK-GUEST-END rc=N".
# A guest that cannot be built or booted (no QEMU, no archive) is one line and is skipped; a
# test that fails, or a guest that never reports, makes the exit status 1.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=$(cd "${1:?usage: run.sh BUILD_DIR [SUITE...]}" && pwd)
shift
suites=("$@")
[ ${#suites[@]} -gt 0 ] || suites=(bookworm)
timeout_s=${RK_KERNEL_TIMEOUT:-900}

if [ "$(id -u)" != 0 ]; then
    echo "kernel lane: run as root (mmdebstrap, and the kernels in /boot are root's)" >&2
    exit 1
fi
if ! command -v qemu-system-x86_64 >/dev/null; then
    echo "kernel lane: skipped - qemu-system-x86_64 is not installed (apt-get install qemu-system-x86)"
    exit 0
fi

deb=$(ls "$build"/rootlesskit-cpp_*.deb 2>/dev/null | head -1 || true)
if [ -z "$deb" ]; then
    (cd "$build" && cpack >/dev/null)
    deb=$(ls "$build"/rootlesskit-cpp_*.deb | head -1)
fi
work=$(mktemp -d /var/tmp/rk-kernel.XXXXXX)
trap 'rm -rf "$work"' EXIT
payload=$work/payload
mkdir -p "$payload/tools"
cp "$deb" "$payload/rootlesskit-cpp.deb"
cp "$build"/tests/rk-test-connect "$build"/tests/rk-test-conns "$payload/tools/"
cp "$here/guest.bats" "$here/guest-init.sh" "$here/../integration/helpers.bash" "$payload/"
mv "$payload/guest-init.sh" "$payload/init.sh"
if command -v go >/dev/null; then
    (cd "$here" && CGO_ENABLED=0 GOFLAGS= GOCACHE="$work/go-cache" GOPATH="$work/go-path" \
        go build -o "$payload/tools/go-dial" go-dial.go)
else
    echo "kernel lane: no Go compiler (golang-go): the Go client's test will skip"
fi
chmod -R a+rX "$payload"
mkfs.ext4 -q -L rk-tests -d "$payload" "$work/payload.img" 64M

rc=0
declare -A result kernels
tests=()
for suite in "${suites[@]}"; do
    start=$(date +%s)
    if ! read -r img vmlinuz initrd < <(bash "$here/guest-image.sh" "$suite"); then
        echo "kernel lane($suite): skipped - its guest image could not be built (see above)"
        continue
    fi
    log=$work/console-$suite.log
    # -smp 2: TCG runs one host thread per vCPU. panic=-1 and -no-reboot: a kernel panic ends
    # QEMU instead of hanging until the timeout.
    timeout "$timeout_s" qemu-system-x86_64 -accel tcg -cpu max -smp 2 -m 2048 -nographic -no-reboot \
        -kernel "$vmlinuz" -initrd "$initrd" \
        -append "root=/dev/vda rw console=ttyS0 init=/sbin/rk-guest-init panic=-1 quiet" \
        -drive "file=$img,if=virtio,format=raw,snapshot=on" \
        -drive "file=$work/payload.img,if=virtio,format=raw,readonly=on" \
        -net none </dev/null >"$log" 2>&1 || true
    tr -d '\r' <"$log" >"$log.txt"
    kernel=$(sed -n 's/^RK-GUEST .*kernel \([^ ]*\).*/\1/p' "$log.txt" | head -1)
    kernels[$suite]=${kernel:-?}
    grep -E '^(RK-GUEST|ok |not ok |#|1\.\.)' "$log.txt" | sed "s/^/[$suite] /" || true
    end=$(sed -n 's/^RK-GUEST-END rc=\([0-9]*\)/\1/p' "$log.txt" | tail -1)
    if [ -z "$end" ]; then
        echo "kernel lane($suite): the guest never reported its end (timeout ${timeout_s} s or a crash); its console's last lines:"
        tail -30 "$log.txt"
        rc=1
    elif [ "$end" != 0 ]; then
        rc=1
        if ! grep -qE '^(not )?ok [0-9]+ ' "$log.txt"; then
            echo "kernel lane($suite): no test ran; the console's last lines:"
            grep -v '^\[ *[0-9.]*\]' "$log.txt" | tail -30
        fi
    fi
    while IFS= read -r line; do
        name=$(sed -E 's/^(not )?ok [0-9]+ //; s/ # skip.*//' <<<"$line")
        case $line in
        "not ok "*) verdict=fail ;;
        *"# skip"*) verdict=skip ;;
        *) verdict=pass ;;
        esac
        [ -n "${result[$name]+x}" ] || tests+=("$name")
        result[$name|$suite]=$verdict
        result[$name]=1
    done < <(grep -E '^(not )?ok [0-9]+ ' "$log.txt" || true)
    # the skips, for .ci/run's list (tests/tools/skips.sh)
    grep -E '^ok [0-9]+ .*# skip' "$log.txt" | sed "s|^|kernel($suite): |" \
        >>"${RK_SKIP_LOG:-/dev/null}" || true
    echo "kernel lane($suite): Linux ${kernel:-?}, $(($(date +%s) - start)) s, guest exit ${end:-none}"
done

echo "== kernel lane results"
header="| test |"
sep="|---|"
for suite in "${suites[@]}"; do
    header+=" ${kernels[$suite]:-$suite} |"
    sep+="---|"
done
echo "$header"
echo "$sep"
for name in "${tests[@]}"; do
    row="| $name |"
    for suite in "${suites[@]}"; do row+=" ${result[$name|$suite]:--} |"; done
    echo "$row"
done
exit $rc
