#!/usr/bin/env bats
# Purpose: the documented commands for today's Docker run as written: every shell block of
# README.md and docs/*.md marked `<!-- runnable: unstable ... -->`, in order, by
# tests/docs/run-blocks.sh as the unprivileged user, in this Debian unstable tree (Docker 28)
# with our .deb installed (tests/integration/docs.bats does the Debian 12 blocks).
load lane-helpers

setup() { make_scratch; }
teardown() { scratch_teardown; }

@test "the runnable blocks of README.md and docs/*.md for Debian unstable run as the user, as written" {
    cp -r /lane/docs-copy "$D/d"
    chmod -R a+rX "$D/d"
    run as_user sh -c 'cd d && exec bash run-blocks.sh unstable README.md docs/*.md'
    echo "$output"
    assert_success
    assert_line --regexp '^== all [0-9]+ blocks for unstable ran$'
    [ -z "$(marked_pids)" ]
}
