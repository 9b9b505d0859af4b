#!/bin/sh
# run.sh: the translator benchmarks.
#  (1) translation speed on a large generated file;
#  (2) translated vs hand-written task code (handwritten.c, one process);
#  (3) the OpenMP-compat programs of tests/translator/omp at benchmark sizes, built from the
#      same source by dagcc -fopenmp (libdagrt), gcc -fopenmp (libgomp) and clang-14
#      -fopenmp (LLVM libomp). Each program times its parallel region only and prints
#      `TIME <s>`; we take the median of 5 runs on $BENCH_THREADS threads (default 2),
#      interleaving the three builds so that load changes hit them alike. The first run of
#      each build is checked against the sequential computation.
# usage: run.sh BUILD_DIR SOURCE_DIR      (SOURCE_DIR: bench/translator)
#   env: BENCH_THREADS (2), BENCH_RUNS (5), BENCH_ONLY ("cholesky jacobi" ...),
#        CLANG (clang-14), LLVM_LIBDIR (/usr/lib/llvm-14/lib)
set -eu
build=$(cd "$1" && pwd) src=$(cd "$2" && pwd)
dagcc=$build/translator/dagcc
tr=$build/translator/dagcc-translate
omp=$src/../../tests/translator/omp
work=$build/bench/translator/work
threads=${BENCH_THREADS:-2} runs=${BENCH_RUNS:-5}
clang=${CLANG:-clang-14} llvmlib=${LLVM_LIBDIR:-/usr/lib/llvm-14/lib}
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
if [ -z "${BENCH_ONLY:-}" ]; then
    echo "== translation speed"
    sh "$src/gen_big.sh" 2000 > big.c
    lines=$(wc -l < big.c)
    t=$(best "$tr" big.c -o big.dagcc.c)
    printf 'dagcc-translate: %d lines in %.3f s = %.0f lines/s\n' "$lines" "$t" \
        "$(echo "$lines / $t" | bc -l)"
    echo "== translated vs hand-written"
    "$dagcc" -O2 "$src/handwritten.c" -o handwritten
    DAG_NUM_THREADS=$threads ./handwritten
fi

# Benchmark sizes: each parallel region runs >= 0.5 s on 2 threads (tasks of 0.1-1 ms).
sizes() {
    case $1 in
    cholesky) echo "-DNT=40 -DTS=64" ;;          # 2560^2, 11480 tasks
    sparselu) echo "-DNB=40 -DBS=80" ;;          # BOTS sparselu, 40x40 blocks of 80^2
    jacobi) echo "-DN=2048 -DB=256 -DITERS=120" ;; # 7680 tasks
    strassen) echo "-DSIZE=1280 -DCUTOFF=40" ;;  # 5 levels, 19608 tasks
    esac
}
export OMP_NUM_THREADS=$threads DAG_NUM_THREADS=$threads
median() { sort -g | awk '{v[NR]=$1} END {print (NR % 2) ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2}'; }
# interleaved: run_all PROGRAM BUILD...: $runs rounds over the builds, first round checked
run_all() {
    p=$1
    shift
    for v in "$@"; do rm -f "$p.$v.times"; done
    r=1
    while [ $r -le "$runs" ]; do
        for v in "$@"; do
            if [ $r = 1 ]; then
                out=$("./$p.$v")
                if ! printf '%s\n' "$out" | grep -qx OK; then
                    printf '%s\n' "$out"
                    echo "$p.$v: wrong result" >&2
                    exit 1
                fi
            else
                out=$("./$p.$v" --no-check)
            fi
            printf '%s\n' "$out" | sed -n 's/^TIME //p' >> "$p.$v.times"
        done
        r=$((r + 1))
    done
}
have_clang=1
if ! command -v "$clang" >/dev/null 2>&1; then
    have_clang=0
    echo "($clang not found: no LLVM libomp columns)"
fi
echo "== OpenMP-compat programs: parallel-region seconds, median of $runs runs, $threads threads"
echo "   dag/gcc = dagcc -fopenmp with gcc underneath (DAGCC_CC=gcc), gcc = gcc -fopenmp"
echo "   (libgomp); dag/clang = dagcc with DAGCC_CC=$clang, clang = $clang -fopenmp (libomp)."
echo "   Ratios: anchor / dagcc built by the same compiler (above 1: dagcc is faster)."
printf '%-9s %-29s %8s %8s %9s %8s %8s %10s\n' program sizes dag/gcc gcc dag/clang clang \
    gcc/dag clang/dag
for p in ${BENCH_ONLY:-cholesky sparselu jacobi strassen}; do
    f=$omp/$p.c
    sz=$(sizes "$p")
    # shellcheck disable=SC2086
    DAGCC_CC=gcc "$dagcc" -fopenmp -O2 $sz "$f" -o "$p.dag" -lm
    # shellcheck disable=SC2086
    gcc -fopenmp -O2 $sz "$f" -o "$p.gcc" -lm
    builds="dag gcc"
    if [ $have_clang = 1 ]; then
        # shellcheck disable=SC2086
        DAGCC_CC=$clang "$dagcc" -fopenmp -O2 $sz "$f" -o "$p.dagclang" -lm
        # shellcheck disable=SC2086
        "$clang" -fopenmp -O2 $sz "$f" -o "$p.clang" -lm -L"$llvmlib" \
            -Wl,-rpath,"$llvmlib"
        builds="dag gcc dagclang clang"
    fi
    # shellcheck disable=SC2086
    run_all "$p" $builds
    td=$(median < "$p.dag.times") tg=$(median < "$p.gcc.times")
    tdc=nan tc=nan rc=nan
    if [ $have_clang = 1 ]; then
        tdc=$(median < "$p.dagclang.times") tc=$(median < "$p.clang.times")
        rc=$(echo "$tc / $tdc" | bc -l)
    fi
    printf '%-9s %-29s %8.3f %8.3f %9.3f %8.3f %8.2f %10.2f\n' "$p" "$sz" "$td" "$tg" "$tdc" \
        "$tc" "$(echo "$tg / $td" | bc -l)" "$rc"
done
if [ -z "${BENCH_ONLY:-}" ]; then
    echo "== cholesky: dagcc -fopenmp build vs the same flow written against dag.h by hand"
    # shellcheck disable=SC2046
    "$dagcc" -O2 $(sizes cholesky) "$src/cholesky_hand.c" -o cholesky.hand -lm
    run_all cholesky dag hand
    td=$(median < cholesky.dag.times) th=$(median < cholesky.hand.times)
    printf 'translated %.3f s, hand-written %.3f s, ratio %.3f\n' "$td" "$th" \
        "$(echo "$td / $th" | bc -l)"
fi
