#!/bin/sh
# run_asan.sh: runs the ASan+UBSan build of the translator over every test input (any
# sanitizer report fails the test; translation errors in negative tests are expected).
# usage: run_asan.sh DAGCC_TRANSLATE_ASAN TESTDIR INCLUDEDIR
set -u
tool=$1 dir=$2 inc=$3
[ -x "$tool" ] || { echo "FAIL: $tool not built"; exit 1; }
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:exitcode=86
export UBSAN_OPTIONS=halt_on_error=1:exitcode=86
n=0
for f in "$dir"/e2e/*.c "$dir"/golden/*.c "$dir"/neg/*.c "$dir"/omp/*.c "$dir"/mpi/*.c; do
    flags=
    case "$f" in */omp/*|*/omp_*) flags=-fopenmp ;; esac
    "$tool" $flags -I"$inc" -I"$dir/e2e" "$f" -o /dev/null 2>/tmp/dagcc-asan.$$
    rc=$?
    if [ $rc -gt 2 ] || grep -q 'Sanitizer' /tmp/dagcc-asan.$$; then
        cat /tmp/dagcc-asan.$$
        rm -f /tmp/dagcc-asan.$$
        echo "FAIL: sanitizer report on $f"
        exit 1
    fi
    n=$((n + 1))
done
rm -f /tmp/dagcc-asan.$$
echo "PASS: $n files"
