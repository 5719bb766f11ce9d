#!/bin/bash
# run.sh SECONDS NAME... - build every fuzz target with clang + libFuzzer (ASan+UBSan)
# and fuzz each for SECONDS, starting from (and growing) its corpus under
# test/fuzz/corpus/NAME. New inputs that libFuzzer keeps land in build/fuzzer/corpus/NAME;
# copy interesting ones into test/fuzz/corpus/NAME to replay them in `make check`.
set -eu
secs=$1; shift
make --no-print-directory SANITIZER=fuzzer $(printf 'build/fuzzer/fuzz/%s ' "$@")
fails=0
for n in "$@"; do
    work=build/fuzzer/corpus/$n; mkdir -p "$work" "test/fuzz/corpus/$n"
    echo "=== fuzz $n for ${secs}s"
    if ! build/fuzzer/fuzz/$n -max_total_time="$secs" -print_final_stats=1 -artifact_prefix=build/fuzzer/ \
            "$work" "test/fuzz/corpus/$n" 2>build/fuzzer/$n.log; then
        echo "FAIL fuzz $n: see build/fuzzer/$n.log"; tail -30 build/fuzzer/$n.log; fails=$((fails + 1))
    else
        grep -E 'stat::number_of_executed_units|cov:' build/fuzzer/$n.log | tail -2
    fi
done
echo "$(( $# - fails )) passed, $fails failed"
[ $fails = 0 ]
