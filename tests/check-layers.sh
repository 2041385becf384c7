#!/bin/sh
# Purpose: the layer order of docs/ARCHITECTURE.md ("Folders"), checked: each folder under src/
# includes headers only from the folders below it. Run by ctest; prints each offending include.
#   util <- sys <- proto <- {net, port, bypass} <- api <- {parent, child, cli} <- {setuptool, ctl}
#   <- main; netd (its own program) uses util and sys only.
set -eu
src=${1:?usage: check-layers.sh SRC_DIR}
allowed() {
    case $1 in
    util) echo "" ;;
    sys) echo "util" ;;
    proto) echo "sys util" ;;
    net | port | bypass) echo "proto sys util" ;;
    api) echo "net port proto sys util" ;;
    parent | child | cli) echo "api net port bypass proto sys util" ;;
    setuptool | ctl) echo "parent child cli api net port bypass proto sys util" ;;
    netd) echo "sys util" ;;
    main) echo "setuptool ctl parent child cli api net port bypass proto sys util netd" ;;
    *) echo "?" ;;
    esac
}
bad=0
for dir in "$src"/*/; do
    folder=$(basename "$dir")
    ok=$(allowed "$folder")
    if [ "$ok" = "?" ]; then
        echo "src/$folder is not in the layer order: add it to docs/ARCHITECTURE.md and here"
        bad=1
        continue
    fi
    for f in $(find "$dir" -name '*.cpp' -o -name '*.hpp'); do
        for used in $(sed -n 's|^#include "\([a-z_]*\)/.*|\1|p' "$f" | sort -u); do
            [ "$used" = "$folder" ] && continue
            case " $ok " in
            *" $used "*) ;;
            *)
                echo "${f#"$src"/}: includes $used/, which is not below $folder/"
                bad=1
                ;;
            esac
        done
    done
done
exit "$bad"
