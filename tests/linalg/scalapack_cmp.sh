#!/bin/sh
# scalapack_cmp.sh: run one ScaLAPACK program linked against real ScaLAPACK and against
# libdagscalapack (same N, NB, grid; each run checks its QR factors with ScaLAPACK's own
# pdormqr_/pdorgqr_ and fails above the residual bound), then compare every result; also
# check that the drop-in ran its own tasks (not a forward) for the routines it covers.
# usage: scalapack_cmp.sh MPIRUN NP REF_EXE DAG_EXE N NB P Q   (env SCALAPACK_ORDER=Col:
# a column-major BLACS grid, whose blocks are not where dagcc's 2D distribution puts them)
export SCALAPACK_ORDER=${SCALAPACK_ORDER:-Row}
set -e
mpirun=$1 np=$2 ref=$3 dag=$4 n=$5 nb=$6 p=$7 q=$8
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
$mpirun --oversubscribe --allow-run-as-root -np "$np" -x SCALAPACK_ORDER "$ref" run "$n" "$nb" "$p" "$q" "$dir/ref"
DAG_SCALAPACK_VERBOSE=1 $mpirun --oversubscribe --allow-run-as-root -np "$np" \
  -x DAG_SCALAPACK_VERBOSE -x SCALAPACK_ORDER "$dag" run "$n" "$nb" "$p" "$q" "$dir/dag" 2>"$dir/log" || {
  cat "$dir/log"; exit 1; }
cat "$dir/log"
for r in pdgemm_ pdpotrf_ pdpotrs_ pspotrf_ pdgetrf_ pdgetrs_ pdgeqrf_ psgeqrf_; do
  grep -q "$r: dagcc tasks" "$dir/log" || { echo "$r did not run on dagcc"; exit 1; }
done
"$ref" cmp "$dir/ref" "$dir/dag"
