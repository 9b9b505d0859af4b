#!/bin/sh
# run_cmp.sh: builds one OpenMP program with `dagcc -fopenmp` and with `gcc -fopenmp`
# (libgomp), runs both on 2 threads and requires identical output.
# usage: run_cmp.sh DAGCC SRC WORKDIR
set -eu
dagcc=$1 src=$2 work=$3
mkdir -p "$work"
name=$(basename "$src" .c)
"$dagcc" -fopenmp -O2 -Wall -Wextra -Werror "$src" -o "$work/$name.dagcc" -lm
${CC_ANCHOR:-gcc} -fopenmp -O2 "$src" -o "$work/$name.gomp" -lm
DAG_NUM_THREADS=2 "$work/$name.dagcc" >"$work/$name.dagcc.out"
OMP_NUM_THREADS=2 "$work/$name.gomp" >"$work/$name.gomp.out"
cat "$work/$name.dagcc.out"
diff -u "$work/$name.gomp.out" "$work/$name.dagcc.out"
echo PASS
