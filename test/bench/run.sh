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

# benchmarks that need network namespaces live in the integration runner
if [ "$(id -u)" = 0 ] && [ -x "$BUILD/test-integration" ]; then
    echo "=== netproxy (nftables, 10,000 Services x 10 endpoints, in a test netns: syncs, new-connection rate)"
    KT_VERBOSE=1 "$BUILD/test-integration" bench.netproxy bench.proxier | sed -n 's/^    //p'
    echo "=== kubelet (knode kubelet + knode server in a testbed node: pod startup vs bare CRI, RSS, idle CPU)"
    KT_VERBOSE=1 "$BUILD/test-integration" bench.kubelet | sed -n 's/^    BENCH/BENCH/p'
fi

if [ "$(id -u)" = 0 ] && [ -f test/bench/bench-dns.sh ]; then
    echo "=== dns (knode dns vs knotd, nsd, unbound; 10,000 Services x 5 endpoints, in a test netns)"
    bash test/bench/bench-dns.sh "$BUILD"
fi
