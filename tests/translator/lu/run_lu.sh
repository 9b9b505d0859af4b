#!/bin/sh
# run_lu.sh: the PLASMA-style tiled LU (lu_plasma.c) as written with the benchmark's
# idioms and with every written tile declared (-DLU_DECLARE_ALL), built by dagcc
# -fopenmp and, when present, by gcc -fopenmp (libgomp) and clang-14 -fopenmp (libomp);
# each run RUNS times on 2 threads. Prints the failure counts; fails if the declared
# version ever fails under dagcc (the idiom's version is expected to fail anywhere).
# usage: run_lu.sh DAGCC SRC WORKDIR [RUNS [NT NB]]
set -u
dagcc=$1 src=$2 work=$3 runs=${4:-20} nt=${5:-8} nb=${6:-48}
mkdir -p "$work"
builds="dagcc"
"$dagcc" -fopenmp -O2 -Wall -Wextra -Werror "$src" -o "$work/lu.dagcc" -lm || exit 1
"$dagcc" -fopenmp -O2 -Wall -Wextra -Werror -DLU_DECLARE_ALL "$src" -o "$work/lu.dagcc.decl" -lm ||
    exit 1
if command -v gcc >/dev/null && gcc -fopenmp -O2 "$src" -o "$work/lu.gomp" -lm 2>/dev/null &&
    gcc -fopenmp -O2 -DLU_DECLARE_ALL "$src" -o "$work/lu.gomp.decl" -lm 2>/dev/null; then
    builds="$builds gomp"
fi
if command -v clang-14 >/dev/null && clang-14 -fopenmp -O2 "$src" -o "$work/lu.omp" -lm 2>/dev/null &&
    clang-14 -fopenmp -O2 -DLU_DECLARE_ALL "$src" -o "$work/lu.omp.decl" -lm 2>/dev/null; then
    builds="$builds omp"
fi
status=0
for b in $builds; do
    for v in "" .decl; do
        f=0
        i=0
        while [ $i -lt "$runs" ]; do
            DAG_NUM_THREADS=2 OMP_NUM_THREADS=2 "$work/lu.$b$v" "$nt" "$nb" $((i + 1)) \
                >/dev/null 2>&1 || f=$((f + 1))
            i=$((i + 1))
        done
        printf '%-6s %-18s %2d of %d runs failed\n' "$b" \
            "$([ -n "$v" ] && echo declared || echo plasma-idioms)" "$f" "$runs"
        if [ "$b" = dagcc ] && [ -n "$v" ] && [ "$f" -ne 0 ]; then
            status=1
        fi
    done
done
[ $status -eq 0 ] && echo PASS
exit $status
