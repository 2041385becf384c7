#!/usr/bin/env bash
# Purpose: run the shell blocks of the docs that are marked runnable for one environment, in
# order, in one shell, as the user who runs this script - what a reader following the guide
# would type. A block is marked by an HTML comment on the line before it (a blank line may
# separate them), followed by a block indented by four spaces:
#
#   <!-- runnable: ENV [background] [retry=SECONDS] -->
#
# ENV names where the block is true: debian12 (Debian 12's own packages, e.g. docker.io 20.10)
# or unstable (the lane's Debian unstable tree, e.g. Docker 28). `background`: a command that
# keeps running (a daemon); it is started in a session of its own and stopped (SIGTERM, then
# SIGKILL after 10 s) when the script ends. `retry=N`: tried once a second for up to N seconds
# (a client waiting for that daemon). Any other block must succeed at once. Each block runs
# once (a retried one until it succeeds) with `set -e`; what it exports, the next ones see.
#
# usage: run-blocks.sh ENV FILE...    (exit 0: every block ran; 1: one failed, named; 2: none)
set -uo pipefail
env_name=$1
shift
work=$(mktemp -d)
bg_groups=()

stop_background() {
    local g i alive
    for g in "${bg_groups[@]}"; do kill -TERM -- "-$g" 2>/dev/null; done
    for i in $(seq 100); do
        alive=0
        for g in "${bg_groups[@]}"; do kill -0 -- "-$g" 2>/dev/null && alive=1; done
        [ "$alive" = 0 ] && break
        sleep 0.1
    done
    for g in "${bg_groups[@]}"; do kill -KILL -- "-$g" 2>/dev/null; done
    rm -rf "$work"
}
trap stop_background EXIT

# Writes each block marked for $env_name to $work/N.sh and lists "N FILE:LINE OPTIONS".
extract() {
    awk -v want="$env_name" -v dir="$work" '
        function flush() { if (n_lines > 0) close(out); n_lines = 0; inblock = 0 }
        match($0, /^<!-- runnable: [^>]* -->$/) {
            flush()
            split(substr($0, 16, length($0) - 19), a, " ")
            if (a[1] != want) { pending = 0; next }
            opts = ""
            for (i = 2; i in a; i++) opts = opts " " a[i]
            pending = 1; mark = FNR
            next
        }
        pending && /^$/ && !inblock { next }
        pending && /^    / {
            if (!inblock) { count++; out = dir "/" count ".sh"; inblock = 1
                print count, FILENAME ":" mark, opts }
            print substr($0, 5) > out; n_lines++
            next
        }
        inblock && /^$/ { print "" > out; next }
        { if (inblock) { flush(); pending = 0 } }
        END { flush() }
    ' "$@"
}

blocks=$(extract "$@")
[ -n "$blocks" ] || { echo "no block is marked runnable for $env_name in: $*"; exit 2; }
while read -r n where opts; do
    echo "== $where ($env_name${opts:+,$opts})"
    sed 's/^/    /' "$work/$n.sh"
    retry=0
    case " $opts " in
    *" background "*)
        setsid bash -e "$work/$n.sh" >"$work/$n.log" 2>&1 </dev/null &
        bg_groups+=("$!")
        continue
        ;;
    *" retry="*)
        retry=${opts##*retry=}
        retry=${retry%% *}
        ;;
    esac
    ok=0
    for i in $(seq "$((retry > 0 ? retry : 1))"); do
        # (not in an `if`: bash ignores set -e inside a tested subshell)
        (set -e; . "$work/$n.sh"; export -p >"$work/$n.env") >"$work/$n.out" 2>&1
        if [ $? = 0 ]; then
            ok=1
            break
        fi
        [ "$retry" -gt 0 ] && sleep 1
    done
    sed 's/^/  | /' "$work/$n.out"
    if [ "$ok" != 1 ]; then
        echo "FAILED: the block at $where"
        for log in "$work"/*.log; do
            [ -e "$log" ] && { echo "-- a background block's output:"; tail -20 "$log"; }
        done
        exit 1
    fi
    # what the block exported, for the next ones
    # shellcheck disable=SC1090
    . "$work/$n.env"
done <<<"$blocks"
echo "== all $(wc -l <<<"$blocks") blocks for $env_name ran"
