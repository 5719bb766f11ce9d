#!/bin/sh
# run.sh BUILD - runs every benchmark program in BUILD/bench/. Each prints lines
#   <figure>: <value> <unit>  vs  <peer>: <value> <unit>  ratio <x>
# with the peer (or limit) measured in the same run on the same machine.
# Benchmarks are never pass/fail: the machines are shared and noisy.
set -u
BUILD=${1:-build}
found=0
for b in "$BUILD"/bench/*; do
    [ -x "$b" ] || continue
    found=1
    echo "=== $(basename "$b")"
    "$b" || echo "(benchmark $(basename "$b") exited $?)"
done
[ $found = 1 ] || echo "no benchmarks built"
