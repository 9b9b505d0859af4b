#!/bin/sh
# run.sh: the translator benchmarks. (1) translation speed on a large generated file,
# (2) translated vs hand-written task code, (3) the OpenMP-compat programs built by
# dagcc -fopenmp, gcc -fopenmp and clang -fopenmp (best of 3 wall times, as ratios).
# usage: run.sh BUILD_DIR SOURCE_DIR
set -eu
build=$1 src=$2
dagcc=$build/translator/dagcc
tr=$build/translator/dagcc-translate
work=$build/bench/translator/work
mkdir -p "$work"
cd "$work"
best() { # best wall seconds of 3 runs of "$@"
    b=
    for r in 1 2 3; do
        t0=$(date +%s.%N); "$@" >/dev/null; t1=$(date +%s.%N)
        t=$(echo "$t1 - $t0" | bc -l)
        if [ -z "$b" ] || [ "$(echo "$t < $b" | bc -l)" = 1 ]; then b=$t; fi
    done
    echo "$b"
}
echo "== translation speed"
sh "$src/gen_big.sh" 2000 > big.c
lines=$(wc -l < big.c)
t=$(best "$tr" big.c -o big.dagcc.c)
printf 'dagcc-translate: %d lines in %.3f s = %.0f lines/s\n' "$lines" "$t" \
    "$(echo "$lines / $t" | bc -l)"
echo "== translated vs hand-written"
"$dagcc" -O2 "$src/handwritten.c" -o handwritten
./handwritten
echo "== OpenMP-compat programs: wall time (best of 3), ratio = other / dagcc"
printf '%-10s %10s %10s %10s %8s %8s\n' program dagcc gcc clang gcc/dag clang/dag
for p in cholesky sparselu jacobi strassen; do
    f=$src/../../tests/translator/omp/$p.c
    "$dagcc" -fopenmp -O2 "$f" -o "$p.dag" -lm
    gcc -fopenmp -O2 "$f" -o "$p.gcc" -lm
    clang -fopenmp -O2 "$f" -o "$p.clang" -lm 2>/dev/null || cp "$p.gcc" "$p.clang"
    td=$(best "./$p.dag"); tg=$(best "./$p.gcc"); tc=$(best "./$p.clang")
    printf '%-10s %10.4f %10.4f %10.4f %8.2f %8.2f\n' "$p" "$td" "$tg" "$tc" \
        "$(echo "$tg / $td" | bc -l)" "$(echo "$tc / $td" | bc -l)"
done
