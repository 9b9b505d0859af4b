#!/bin/sh
# run_neg.sh: a negative test. SRC holds `expect: TEXT` (an error: dagcc must fail, print
# TEXT at file:line:col with the source line and a caret, and leave no object behind) or
# `expect-warning: TEXT` (dagcc must succeed and warn). Files named omp_* are compiled
# with -fopenmp.
# usage: run_neg.sh DAGCC SRC WORKDIR
set -u
dagcc=$1 src=$2 work=$3
mkdir -p "$work"
name=$(basename "$src" .c)
obj="$work/$name.o"
rm -f "$obj"
flags=
case $name in omp_*) flags=-fopenmp ;; esac # OpenMP-mode diagnostics
"$dagcc" $flags -c "$src" -o "$obj" 2>"$work/$name.err"
rc=$?
cat "$work/$name.err"
fail() { echo "FAIL: $*"; exit 1; }
if grep -q 'expect-warning:' "$src"; then
    text=$(sed -n 's/.*expect-warning: \(.*\) \*\/.*/\1/p' "$src")
    [ $rc -eq 0 ] || fail "dagcc failed on code that only deserves a warning"
    grep -qF "warning: $text" "$work/$name.err" || fail "missing warning: $text"
    [ -f "$obj" ] || fail "no object produced"
else
    text=$(sed -n 's/.*expect: \(.*\) \*\/.*/\1/p' "$src")
    [ $rc -ne 0 ] || fail "dagcc accepted invalid code"
    grep -qF -- "$text" "$work/$name.err" || fail "missing diagnostic: $text"
    grep -Eq "^[^ ]*$name.c:[0-9]+:[0-9]+: error: " "$work/$name.err" || fail "no file:line:col"
    grep -Eq '^ +\| +\^' "$work/$name.err" || fail "no caret line"
    [ ! -e "$obj" ] || fail "an output file was left behind"
fi
echo PASS
