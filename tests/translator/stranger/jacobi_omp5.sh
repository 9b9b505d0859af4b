#!/bin/sh
# jacobi_omp5.sh: the stranger's OpenMP 5 Jacobi (jacobi_omp5.c) built three ways:
# `dagcc -fopenmp -Wall -Wextra -Werror` (the translator's own code must not warn),
# `gcc -fopenmp` (libgomp), and plain cc without -fopenmp (the pragmas ignored: the
# sequential reference). Each runs at realistic sizes (32 MiB grids: 256 blocks of 128 KiB
# over 8 sweeps, then 4 blocks of 8 MiB); the grid's checksum, the max and the counts must
# equal the sequential ones exactly, the taskloop sum (summed in another order) to 1e-12.
# usage: jacobi_omp5.sh DAGCC SRC WORKDIR
set -eu
dagcc=$1 src=$2 work=$3
mkdir -p "$work"
"$dagcc" -fopenmp -O2 -Wall -Wextra -Werror "$src" -o "$work/j.dagcc"
${CC_ANCHOR:-gcc} -fopenmp -O2 "$src" -o "$work/j.gomp"
${CC_ANCHOR:-gcc} -O2 -Wno-unknown-pragmas "$src" -o "$work/j.seq"
for args in "2048 128 8" "2048 1024 5"; do
  "$work/j.seq" $args >"$work/seq.out"
  DAG_NUM_THREADS=2 "$work/j.dagcc" $args >"$work/dagcc.out"
  OMP_NUM_THREADS=2 "$work/j.gomp" $args >"$work/gomp.out"
  for impl in dagcc gomp; do
    paste -d' ' "$work/seq.out" "$work/$impl.out" | awk -v impl=$impl -v args="$args" '
      $1 == "sum" { d = $2 - $4; if (d < 0) d = -d; if (d > 1e-12 * ($2 < 0 ? -$2 : $2)) bad = 1; next }
      { n = NF / 2; for (i = 1; i <= n; i++) if ($i != $(i + n)) bad = 1 }
      bad { print "FAIL: " impl " (" args ") differs from the sequential run: " $0; exit 1 }'
  done
  echo "$args: $(tr '\n' ' ' <"$work/dagcc.out")"
done
echo PASS
