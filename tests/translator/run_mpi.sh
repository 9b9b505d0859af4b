#!/bin/sh
# run_mpi.sh: compiles one program with dagcc and runs it under mpirun on NP ranks; the
# program checks its own results (every rank exits 0, rank 0 prints "OK").
# usage: run_mpi.sh DAGCC MPIEXEC NP SRC WORKDIR
set -eu
dagcc=$1 mpiexec=$2 np=$3 src=$4 work=$5
mkdir -p "$work"
name=$(basename "$src" .c)
"$dagcc" -O2 -Wall -Wextra -Werror "$src" -o "$work/$name" -lm
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
out=$("$mpiexec" --oversubscribe --allow-run-as-root -np "$np" "$work/$name")
printf '%s\n' "$out"
printf '%s\n' "$out" | grep -qx OK
