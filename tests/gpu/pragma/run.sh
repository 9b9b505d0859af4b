#!/bin/sh
# run.sh DAGCC SRCDIR WORKDIR: pragma programs on a GPU, built by dagcc: a function task
# with variant(cuda:) implemented in a .cu file, and device(cuda) statement tasks in C.
# Exit 77 when the programs find no device (they still have to build).
set -eu
dagcc=$1 src=$2 work=$3
rm -rf "$work" && mkdir -p "$work" && cd "$work"
"$dagcc" -O2 -Wall "$src/axpy_main.c" "$src/axpy_kernels.cu" -o axpy
"$dagcc" -O2 -Wall -Wextra -Werror "$src/stmt_cuda.c" -o stmt
skipped=0
for p in axpy stmt; do
  rc=0
  ./$p || rc=$?
  [ $rc -eq 77 ] && { skipped=$((skipped + 1)); continue; }
  [ $rc -eq 0 ] || { echo "$p: exit $rc"; exit 1; }
done
[ $skipped -eq 2 ] && exit 77
echo ok
