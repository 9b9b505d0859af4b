#!/usr/bin/env bash
# run.sh: builds fine_omp.c with `dagcc -fopenmp` (the build tree's driver) and with
# `gcc -fopenmp` (libgomp), then runs both ROUNDS times, interleaved, at THREADS threads.
#   bash bench/task_overhead/stranger/run.sh BUILD_DIR [ROUNDS] [THREADS] [FIB_N] [ROWS]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
B=$(cd "${1:?usage: run.sh BUILD_DIR [ROUNDS] [THREADS] [FIB_N] [ROWS]}" && pwd)
rounds=${2:-3}; thr=${3:-2}; fn=${4:-30}; rows=${5:-1000000}
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
"$B/translator/dagcc" -O2 -Wall -Wextra -fopenmp "$here/fine_omp.c" -o "$tmp/fine_dagcc"
gcc -O2 -Wall -Wextra -fopenmp "$here/fine_omp.c" -o "$tmp/fine_libgomp"
for r in $(seq "$rounds"); do
  echo "dagcc   $(DAG_NUM_THREADS=$thr "$tmp/fine_dagcc" "$fn" "$rows" 3)"
  echo "libgomp $(OMP_NUM_THREADS=$thr "$tmp/fine_libgomp" "$fn" "$rows" 3)"
done
