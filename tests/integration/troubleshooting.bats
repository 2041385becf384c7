#!/usr/bin/env bats
# Purpose: every message docs/troubleshooting.md quotes under "Messages of rootlesskit itself" is
# one our programs print. Each quoted message (a row whose first column starts with `...`) is
# provoked here and found in the output, or - where provoking it here is impossible - its
# format string is found in src/ and the quote matches that format; the reason is named. A
# quoted message this file does not know fails the test: a new row needs its way to be checked.
# In a quote, "..." stands for any text and DIR, N, x, penguin, 1000/1001 for example values.
# The second section quotes other programs (Docker, upstream's Go rootlesskit, iptables): each of
# those quotes is found in the program that prints it, as installed here.
load helpers

DOC=$BATS_TEST_DIRNAME/../../docs/troubleshooting.md
SRC=$BATS_TEST_DIRNAME/../../src

# The quoted messages of the section, one per line.
quoted_messages() {
    awk '/^## Messages of rootlesskit itself/ {f = 1; next} /^## / {f = 0} f && /^\| `/' "$DOC" |
        sed -E 's/^\| `([^`]*)`.*/\1/'
}

# The quote as an extended regular expression: literal text, with "..." and the example values
# standing for anything.
quote_regex() {
    local r
    r=$(printf '%s' "$1" | sed -E 's/[][\.*^$(){}+?|/]/\\&/g')
    r=${r//\\.\\.\\./.*}
    local w
    for w in DIR penguin 1001 1000 A:N B:M '\\/x\\/slirp4netns'; do r=${r//$w/.*}; done
    r=${r//\"x\"/\".*\"}
    printf '%s' "$r"
}

# The quote $1 is in the last `run`'s output.
assert_quoted_in_output() {
    grep -Eq -- "$(quote_regex "$1")" <<<"$output" || {
        echo "quoted: $1" >&2
        echo "printed: $output" >&2
        return 1
    }
}

# Provoking is impossible here ($1 says why): the format string $2 (fmt's {} for values, as in
# the source) is in src/, and the quote $3 matches it.
assert_format_in_src() {
    local why=$1 format=$2 quote=$3
    [ -n "$why" ]
    grep -rqF -- "$format" "$SRC" || { echo "not in src/: $format" >&2; return 1; }
    local re
    re=$(printf '%s' "$format" | sed -E 's/[][\.*^$()+?|/]/\\&/g')
    re=${re//\{\}/.*}
    re=${re//%s/.*}
    # either the format covers the quote, or the quote (with its "...") covers the format
    grep -Eq -- "$re" <<<"$quote" || grep -Eq -- "$(quote_regex "$quote")" <<<"${format//\{\}/X}" || {
        echo "the quote does not match the format: $quote ~ $format" >&2
        return 1
    }
}

# Checks one quoted message: provokes it, or finds its format in src/.
check_quote() {
    local q=$1
    case $q in
    "No subuid ranges found"*)
        TEST_USER=rk-nosub run rk true ;;
    "the /etc/subuid range "*"contains the user's own uid"*)
        TEST_USER=rk-overlap run rk true ;;
    "the /etc/subuid ranges "*" overlap")
        assert_format_in_src "setup.sh makes no user with overlapping ranges (subid_test covers it)" \
            "the {} ranges {}:{} and {}:{} of {} overlap" "$q"
        return ;;
    "newuidmap not found in PATH")
        mkdir -p "$T/bin" && ln -sf /bin/sh "$T/bin/sh"
        RK_PATH="$T/bin" run rk true ;;
    *"is neither setuid root nor has file capabilities")
        assert_format_in_src "errors.bats provokes it with a non-setuid copy, under another path" \
            "{} is neither setuid root nor has file capabilities" "$q"
        return ;;
    "failed to setup UID/GID map: newuidmap ... failed: ...")
        assert_format_in_src "errors.bats provokes it with a newuidmap that refuses" \
            "failed to setup UID/GID map: {}" "$q"
        return ;;
    *"(user.max_user_namespaces = 0)"*)
        assert_format_in_src "it needs the sysctl set machine-wide (sysctl.bats does that where it may)" \
            "user namespaces are disabled (user.max_user_namespaces = 0)" "$q"
        return ;;
    *"(kernel.unprivileged_userns_clone = 0)"*)
        assert_format_in_src "this kernel has no such sysctl (Debian's before 5.10 had it)" \
            "kernel.unprivileged_userns_clone = 0" "$q"
        return ;;
    *"AppArmor restricts unprivileged user namespaces"*)
        assert_format_in_src "no AppArmor on this machine (Ubuntu 23.10+ restricts user namespaces)" \
            "AppArmor restricts unprivileged user namespaces" "$q"
        return ;;
    "failed to lock DIR/lock, another RootlessKit is running"*)
        rk --state-dir="$T/sd" sleep 30 >/dev/null 2>&1 3>&- &
        wait_for_file "$T/sd/api.sock"
        run rk --state-dir="$T/sd" true
        kill "$(pgrep -o -f "^$RK --state-dir=$T/sd sleep")"
        wait || true ;;
    "refusing --state-dir=DIR: it is not empty"*)
        mkdir -p "$T/full" && touch "$T/full/mine" && chown -R "$TEST_USER:" "$T/full"
        run rk --state-dir="$T/full" true ;;
    "refusing --state-dir=DIR: others can write to it"*)
        mkdir -p "$T/open" && chown "$TEST_USER:" "$T/open" && chmod 0777 "$T/open"
        run rk --state-dir="$T/open" true ;;
    "warning: left DIR in place"*)
        run rk --state-dir="$T/sd2" sh -c 'touch "$ROOTLESSKIT_STATE_DIR/notes.txt"' ;;
    "--evacuate-cgroup2: ... not delegated")
        assert_format_in_src "this machine's cgroups are v1 or delegated differently (process.bats runs it where it can)" \
            "not delegated" "$q"
        return ;;
    "failed to copy up DIR: cannot open it"*)
        run rk --copy-up=/nonexistent true ;;
    'exec: "x": executable file not found in $PATH')
        run rk nosuchcmd-xyz ;;
    "failed to expose port {tcp 127.0.0.1 80 80 }: cannot expose privileged port 80"*)
        [ "$(cat /proc/sys/net/ipv4/ip_unprivileged_port_start)" -gt 80 ] ||
            skip_env "port 80 is not privileged here (net.ipv4.ip_unprivileged_port_start <= 80)"
        run rk --net=none --port-driver=builtin -p 127.0.0.1:80:80/tcp true ;;
    "Running RootlessKit as the root user is unsupported.")
        run env TMPDIR="$T" "$RK" true ;;
    'slirp4netns binary "slirp4netns" not found in $PATH')
        mkdir -p "$T/bin" && ln -sf /bin/sh "$T/bin/sh"
        ln -sf /usr/bin/newuidmap /usr/bin/newgidmap "$T/bin/"
        RK_PATH="$T/bin" run rk --net=slirp4netns true ;;
    'pasta binary "pasta" not found in $PATH')
        mkdir -p "$T/bin" && ln -sf /bin/sh "$T/bin/sh"
        ln -sf /usr/bin/newuidmap /usr/bin/newgidmap "$T/bin/"
        RK_PATH="$T/bin" run rk --net=pasta true ;;
    'slirp4netns binary "/x/slirp4netns" (given with --slirp4netns-binary)'*)
        run rk --net=slirp4netns --slirp4netns-binary=/nonexistent/slirp4netns true ;;
    'pasta binary "x" (given with --pasta-binary) not found in $PATH')
        run rk --net=pasta --pasta-binary=no-such-pasta true ;;
    "slirp4netns seems older than v0.4.0")
        printf '#!/bin/sh\necho "Usage: slirp4netns [OPTION]... PID TAPNAME"\n' >"$T/old-slirp4netns"
        chmod 755 "$T/old-slirp4netns"
        run rk --net=slirp4netns --slirp4netns-binary="$T/old-slirp4netns" true ;;
    "slirp4netns failed (exit status 1): ..." | "pasta failed (exit status 1): ...")
        local tool=${q%% *}
        printf '#!/bin/sh\n[ "$1" = --help ] && exec %s --help\n[ "$1" = --version ] && exec %s "$@"\necho "%s: cannot open /dev/net/tun" >&2; exit 1\n' \
            "$(command -v "$tool")" "$(command -v "$tool")" "$tool" >"$T/bad-$tool"
        chmod 755 "$T/bad-$tool"
        run rk --net="$tool" --"$tool"-binary="$T/bad-$tool" --disable-host-loopback true ;;
    "slirp4netns exited unexpectedly (...); the namespace has no network any more")
        rk --state-dir="$T/sd3" --net=slirp4netns --disable-host-loopback sleep 30 >"$T/s4.log" 2>&1 3>&- &
        wait_for_file "$T/sd3/api.sock"
        pkill -KILL -P "$(pgrep -o -f "^$RK --state-dir=$T/sd3")" -x slirp4netns
        wait || true
        output=$(cat "$T/s4.log") ;;
    "mounting /etc/resolv.conf without --copy-up=/etc")
        run rk --net=slirp4netns --disable-host-loopback true ;;
    "/proc/sys is read-only here"*)
        assert_format_in_src "sysctl.bats provokes it in a mount namespace with a read-only /proc/sys" \
            "/proc/sys is read-only here, and without --pidns the namespace keeps" "$q"
        return ;;
    "failed to mount a new /proc for the PID namespace"*)
        assert_format_in_src "sysctl.bats provokes it in a mount namespace with a read-only /proc/sys" \
            "failed to mount a new /proc for the PID namespace" "$q"
        assert_format_in_src "(its fix)" "this /proc has read-only or masked parts" "$q"
        return ;;
    "--propagation=rslave has no effect because / on the host is not a shared mount")
        run unshare -m --propagation private runuser -u "$TEST_USER" -- env -i PATH="$USER_PATH" \
            "$MARK" "$RK" --propagation=rslave true ;;
    "lxc-user-nic failed to create eth0 on bridge lxcbr0: ... Quota reached")
        assert_format_in_src "it needs lxc-net's bridge and a missing lxc-usernet line (net-lxc-user-nic.bats sets lxc up)" \
            "lxc-user-nic failed to create {} on bridge {}: {}" "$q"
        return ;;
    "lxc-user-nic not found ...")
        assert_format_in_src "lxc is installed here: the default lxc-user-nic is found" \
            "lxc-user-nic not found in /usr/libexec/lxc" "$q"
        return ;;
    'lxc-user-nic binary "x" is not usable: ...')
        run rk --net=lxc-user-nic --lxc-user-nic-binary=/nonexistent/lxc-user-nic true ;;
    "cannot get an address for eth0 by DHCP: no DHCP offer on eth0")
        assert_format_in_src "it needs a bridge without a DHCP server" "no DHCP {} on {}" "$q" ;
        assert_format_in_src "(the context)" "cannot get an address for " "$q"
        return ;;
    "rootlesskit-netd not found next to rootlesskit or in ../libexec/rootlesskit")
        mkdir -p "$T/lonely" && cp "$RK" "$T/lonely/rootlesskit" && chmod -R a+rx "$T/lonely"
        run as_user "$T/lonely/rootlesskit" --net=gvisor-tap-vsock --disable-host-loopback true ;;
    "slirp4netns did not answer on its API socket within 3 s")
        assert_format_in_src "net-slirp4netns.bats provokes it by holding the API socket" \
            "{} did not answer on its API socket within {} s" "$q"
        return ;;
    "rootlesskit-netd exited unexpectedly (signal: bad system call)")
        assert_format_in_src "a seccomp violation of netd is a bug; none is known to provoke" \
            "{} exited unexpectedly ({})" "$q"
        return ;;
    "rootlesskit-netd: cannot enter the sandbox: the kernel has no Landlock")
        assert_format_in_src "this kernel has Landlock (net-embedded.bats refuses it with strace)" \
            "cannot enter the sandbox: " "$q"
        assert_format_in_src "(the cause)" "the kernel has no Landlock" "$q"
        return ;;
    'rootlesskit-docker-proxy: $ROOTLESSKIT_STATE_DIR is not set')
        run as_user "$RK_TEST_PREFIX/bin/rootlesskit-docker-proxy" -proto tcp -host-ip 127.0.0.1 \
            -host-port 18999 -container-ip 10.0.2.100 -container-port 80 3>/dev/null ;;
    "rootlesskit-docker-proxy: cannot run docker-proxy")
        assert_format_in_src "docker-proxy.bats provokes it with PATH lacking Docker's proxy" \
            "cannot run {}" "$q"
        return ;;
    "rootlesskit-docker-proxy: port driver slirp4netns does not support tcp6")
        assert_format_in_src "docker-proxy.bats provokes it under slirp4netns" \
            "rootlesskit-docker-proxy: port driver %s does not support %s" "$q"
        return ;;
    "rootless-setuptool nsenter: the rootlesskit instance of DIR is not running")
        mkdir -p "$T/gone" && echo 999999 >"$T/gone/child_pid" && chown -R "$TEST_USER:" "$T/gone"
        run as_user "$RK_TEST_PREFIX/bin/rootless-setuptool" nsenter --state-dir="$T/gone" -- true ;;
    *)
        echo "troubleshooting.md quotes a message this test does not know: $q" >&2
        echo "add how to provoke it (or, where that is impossible here, its format in src/ and why)" >&2
        return 1 ;;
    esac
    assert_quoted_in_output "$q"
}

@test "every message troubleshooting.md quotes is one we print (provoked, or its format in src/)" {
    local q n=0
    while IFS= read -r q; do
        n=$((n + 1))
        check_quote "$q" || { echo "failed: $q" >&2; return 1; }
        assert_no_state_dirs
    done < <(quoted_messages)
    [ "$n" -ge 30 ]
}

# The quoted messages of the daemons' section ("Errors from the daemons' rootless guides").
daemon_quotes() {
    awk '/^## Errors from the daemons/ {f = 1; next} /^## / {f = 0} f && /^\| `/' "$DOC" |
        sed -E 's/^\| `([^`]*)`.*/\1/'
}

# The fragments $2... (the quote's fixed text) are in program $1 as installed here.
assert_in_program() {
    local prog=$1 f
    shift
    [ -e "$prog" ] || { echo "$prog is not installed (install-deps.sh installs it)" >&2; return 1; }
    for f in "$@"; do
        grep -aqF -- "$f" "$prog" || { echo "not in $prog: $f" >&2; return 1; }
    done
}

@test "the messages troubleshooting.md quotes from Docker, upstream's rootlesskit and iptables are theirs" {
    local q n=0 go=/usr/bin/rootlesskit dockerd=/usr/sbin/dockerd
    while IFS= read -r q; do
        n=$((n + 1))
        case $q in
        "[rootlesskit:parent] error: failed to start the child: fork/exec"*)
            assert_in_program "$go" "failed to start the child" "fork/exec"
            assert_format_in_src "(ours, quoted beside it)" "failed to create the user namespace" \
                "failed to create the user namespace: Operation not permitted" ;;
        "fork/exec /proc/self/exe: no space left on device")
            assert_in_program "$go" "fork/exec" "max_user_namespaces needs to be set to non-zero" ;;
        "fork/exec /proc/self/exe: permission denied")
            assert_in_program "$go" "fork/exec" ;;
        "failed to setup UID/GID map: failed to compute uid/gid map: No subuid ranges found"*)
            assert_in_program "$go" "failed to compute uid/gid map" "No subuid ranges found for user" ;;
        "docker: failed to register layer: Error processing tar file"*)
            assert_in_program "$dockerd" "failed to register layer" "Error processing tar file" ;;
        "docker: failed to register layer: ApplyLayer"*)
            assert_in_program "$dockerd" "failed to register layer" "ApplyLayer" ;;
        "could not get XDG_RUNTIME_DIR")
            assert_in_program "$dockerd" "could not get XDG_RUNTIME_DIR" ;;
        "iptables failed: iptables -t nat -N DOCKER: Fatal: can't open lock file"*)
            assert_in_program "$dockerd" "iptables failed"
            assert_in_program /usr/sbin/xtables-legacy-multi "can't open lock file" ;;
        "docker: Error response from daemon: OCI runtime create failed"*)
            assert_in_program "$dockerd" "OCI runtime create failed" ;;
        "Enabling IP forwarding failed"*)
            assert_in_program "$dockerd" "Enabling IP forwarding failed" ;;
        # rows that start with a command or a flag: symptoms, not quoted messages
        "systemctl --user" | "--cpus" | "docker run -p 80:80 ..." | ping | "docker run --net=host" | \
            "docker run -p") ;;
        *)
            echo "troubleshooting.md quotes a message this test does not know: $q" >&2
            return 1 ;;
        esac
    done < <(daemon_quotes)
    [ "$n" -ge 10 ]
}
