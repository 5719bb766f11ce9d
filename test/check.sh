#!/bin/bash
# check.sh BUILD ASAN_BUILD - run every suite and print one total line.
#   1. unit tests (normal build)
#   2. unit tests under ASan+UBSan, and under TSan
#   3. every fuzz target's corpus replayed under ASan+UBSan
#   4. source formatting (clang-format, as `make format` writes it)
#   5. integration tests: real containerd, CNI, nftables in test network namespaces
# Each runner ends with "N passed, N failed[, N skipped]"; this sums them.
set -u
BUILD=${1:-build}
ASAN=${2:-build/address}
TSAN=${3:-build/thread}
total_p=0 total_f=0 total_s=0
log_dir=$BUILD/test-logs
mkdir -p "$log_dir"

add_counts() {  # add_counts LINE
    local p f s
    p=$(echo "$1" | sed -n 's/.*\b\([0-9]\+\) passed.*/\1/p')
    f=$(echo "$1" | sed -n 's/.* \([0-9]\+\) failed.*/\1/p')
    s=$(echo "$1" | sed -n 's/.* \([0-9]\+\) skipped.*/\1/p')
    total_p=$((total_p + ${p:-0})); total_f=$((total_f + ${f:-0})); total_s=$((total_s + ${s:-0}))
}

run_suite() {  # run_suite NAME CMD...
    local name=$1; shift
    echo "=== $name"
    local out="$log_dir/$name.log"
    "$@" 2>&1 | tee "$out"
    local rc=${PIPESTATUS[0]}
    local last
    last=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$out" | tail -n 1)
    if [ -z "$last" ]; then
        echo "FAIL $name: runner ended without a summary (exit $rc)"
        total_f=$((total_f + 1))
        return
    fi
    add_counts "$last"
    if [ "$rc" != 0 ] && ! echo "$last" | grep -qE ' [1-9][0-9]* failed'; then
        echo "FAIL $name: runner exited $rc"
        total_f=$((total_f + 1))
    fi
}

# What the root network namespace and the host look like before any test:
# compared at the end, so a test that leaks anything there fails the suite.
host_state() {
    echo "# links"; ip -o link show 2>/dev/null | awk -F': ' '{print $2}' | sed 's/@.*//' | sort
    echo "# addresses"; ip -o addr show 2>/dev/null | awk '{print $2, $4}' | sort
    echo "# routes"; ip route show table all 2>/dev/null | sort
    echo "# nft"; nft list tables 2>/dev/null | sort
    echo "# netns"; ip netns list 2>/dev/null | awk '{print $1}' | sort
    echo "# mounts"; awk '{print $2}' /proc/mounts | grep -E '/tmp/kt-|knode-tb|/run/knode' | sort
    echo "# containerd"; pgrep -x containerd 2>/dev/null | sort
}
before=$(host_state)

run_suite unit "$BUILD/test-unit"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    run_suite unit-asan "$ASAN/test-unit"

# Debian builds gRPC and abseil without TSan, so their own locking is
# invisible to it and it reports races inside them; only reports raised from
# those libraries are suppressed (called_from_lib), never one in knode's code.
tsan_unit() {
    local supp="$TSAN/tsan.supp"
    ldd "$TSAN/test-unit" | awk '{print $1}' |
        grep -E '^lib(absl_|grpc|gpr|upb|address_sorting|cares|re2)' |
        sed 's/^/called_from_lib:/' > "$supp"
    TSAN_OPTIONS="halt_on_error=0 suppressions=$(readlink -f "$supp")" "$TSAN/test-unit"
}
run_suite unit-tsan tsan_unit

fuzz_replays() {
    local p=0 f=0 t
    for t in "$ASAN"/fuzz-replay/*; do
        [ -x "$t" ] || continue
        local name; name=$(basename "$t")
        if out=$("$t" "test/fuzz/corpus/$name" 2>&1); then
            echo "PASS fuzz.$name ($(echo "$out" | tail -n 1))"; p=$((p + 1))
        else
            echo "FAIL fuzz.$name"; echo "$out" | tail -n 30 | sed 's/^/    | /'; f=$((f + 1))
        fi
    done
    echo "$p passed, $f failed"
    [ $f = 0 ]
}
run_suite fuzz-replay fuzz_replays

format_check() {
    local files; files=$(git ls-files '*.c' '*.h' 2>/dev/null)
    if [ -z "$files" ] || ! command -v clang-format >/dev/null; then
        echo "SKIP format: no tracked sources or no clang-format"; echo "0 passed, 0 failed, 1 skipped"; return 0
    fi
    if out=$(clang-format --dry-run --Werror $files 2>&1); then
        echo "PASS format.clang_format"; echo "1 passed, 0 failed"
    else
        echo "FAIL format.clang_format (run 'make format')"; echo "$out" | head -20 | sed 's/^/    | /'
        echo "0 passed, 1 failed"; return 1
    fi
}
run_suite format format_check

if [ "$(id -u)" = 0 ]; then
    run_suite integration "$BUILD/test-integration"
    # a test killed outright (SIGKILL after its timeout) cannot tear down its
    # testbed; collect what dead runs left (named kt<pid>-, pid gone)
    bash test/harness/tb-gc.sh >/dev/null 2>&1
else
    echo "=== integration: skipped (needs root for network namespaces and containerd)"
    total_s=$((total_s + 1))
fi

leftovers() {
    after=$(host_state)
    if [ "$before" = "$after" ]; then
        echo "PASS safety.host_untouched (root netns links, addresses, routes, nft tables; netns; mounts; containerd)"
        echo "1 passed, 0 failed"
    else
        echo "FAIL safety.host_untouched: the tests left changes behind:"
        diff <(echo "$before") <(echo "$after") | sed 's/^/    | /'
        echo "0 passed, 1 failed"; return 1
    fi
}
run_suite safety leftovers

echo
echo "logs: $log_dir/"
echo "$total_p passed, $total_f failed, $total_s skipped"
[ $total_f = 0 ]
