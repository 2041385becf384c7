#!/usr/bin/env bash
# Purpose: the list of skipped tests at the end of .ci/run, and its gate. A skipped test is a
# test CI does not have, so every skip must say which fact of the run made it so, in one of the
# two forms of tests/integration/helpers.bash: skip_env ("environment: ...", a fact of the
# machine or its tools) or skip_na ("not applicable: ...", the run's configuration). Any other
# skip - a tool CI installs, a missing install, a bare GTEST_SKIP - fails CI.
#
# usage: skips.sh CTEST_LOG [SKIP_LINES]
#   CTEST_LOG   ctest's Testing/Temporary/LastTest.log (bats TAP and GoogleTest output of each test)
#   SKIP_LINES  lines "WHERE: ok N NAME # skip REASON" that the lanes wrote ($RK_SKIP_LOG)
# Prints one line per skipped test; exits 1 if a reason is in neither form.
set -euo pipefail
ctest_log=$1
lanes=${2:-/dev/null}

# "WHERE: ok N NAME # skip REASON" for each skip in ctest's log: bats's TAP skip lines, and
# GoogleTest's "FILE:LINE: Skipped" followed by its message line.
from_ctest() {
    awk '
        /^[0-9]+\/[0-9]+ Test: / { test = $3 }
        /^ok [0-9]+ .*# skip/ { print "ctest " test ": " $0 }
        /: Skipped$/ { msg = ""; getline msg; print "ctest " test ": ok 0 " test " # skip " msg }
    ' "$1"
}

all=$( { [ -f "$ctest_log" ] && from_ctest "$ctest_log"; cat "$lanes"; } | sort -u || true)
bad=0
count=0
while IFS= read -r line; do
    [ -n "$line" ] || continue
    count=$((count + 1))
    reason=${line#*# skip}
    reason=${reason# }
    if [[ $reason =~ ^(environment|not\ applicable):\ . ]]; then
        echo "skipped: $line"
    else
        echo "skipped, and no environment fact named (use skip_env or skip_na, or make it run): $line"
        bad=1
    fi
done <<<"$all"
echo "skips: $count"
exit "$bad"
