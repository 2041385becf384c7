#!/usr/bin/env bash
# Purpose: the layer order, checked: each folder under src/ uses only the folders below it.
# The order has one home, the indented chains under "Folders" in docs/ARCHITECTURE.md
# ("    util <- sys <- ... <- main"; "{a, b}" is a group of folders side by side), read from there.
# A use is an #include of another folder's header ("x/..." or <x/...>, indented or not) or a
# file that opens another folder's namespace (`namespace rk::x`, `namespace x {`: a forward
# declaration of a type from above is as much a dependency as an include). Run by ctest;
# prints each offending use.
# usage: check-layers.sh SRC_DIR [ARCHITECTURE_MD]
set -euo pipefail
src=${1:?usage: check-layers.sh SRC_DIR [ARCHITECTURE_MD]}
doc=${2:-$src/../docs/ARCHITECTURE.md}

# allowed[folder]: the folders below it in any chain it is in.
declare -A allowed
chains=$(grep -E '^    util <- ' "$doc" | sed 's/(.*//')
[ -n "$chains" ] || { echo "no layer chains (\"    util <- ...\") in $doc"; exit 1; }
while IFS= read -r chain; do
    below=""
    chain=${chain//<-/|}
    IFS='|' read -ra groups <<<"$chain"
    for group in "${groups[@]}"; do
        names=$(tr -d '{},' <<<"$group")
        for name in $names; do allowed[$name]="${allowed[$name]:-} $below"; done
        below="$below $names"
    done
done <<<"$chains"

bad=0
folders=" $(cd "$src" && ls -d */ | tr -d / | tr '\n' ' ') "
for dir in "$src"/*/; do
    folder=$(basename "$dir")
    if [ -z "${allowed[$folder]+x}" ]; then
        echo "src/$folder is not in the layer order: add it to the chains in $doc"
        bad=1
        continue
    fi
    while IFS= read -r f; do
        uses=$( {
            # our headers only: <sys/types.h> is the system's, <sys/fdpass.hpp> ours
            sed -nE 's@^[[:space:]]*#[[:space:]]*include[[:space:]]*["<]([a-z_]+/[^">]+)[">].*@\1@p' "$f" |
                while read -r h; do [ -f "$src/$h" ] && echo "${h%%/*}"; done
            sed -nE 's@^[[:space:]]*namespace[[:space:]]+(rk::)?([a-z_]+)([[:space:]]*[{:]|[[:space:]]*$).*@\2@p' "$f"
        } | sort -u)
        for used in $uses; do
            [ "$used" = "$folder" ] && continue
            case $folders in *" $used "*) ;; *) continue ;; esac # <sys/types.h>, namespace rk
            case " ${allowed[$folder]} " in
            *" $used "*) ;;
            *)
                echo "${f#"$src"/}: uses $used/ (an include or its namespace), which is not below $folder/"
                bad=1
                ;;
            esac
        done
    done < <(find "$dir" -name '*.cpp' -o -name '*.hpp')
done
exit "$bad"
