#!/usr/bin/env bash
# resume.sh: cnn2_resume (written from docs/nn.md alone) on NP ranks: the run that never
# stops and the run stopped after a checkpoint and resumed by a new process must print
# the same losses, bit for bit. Usage: resume.sh BINARY MPIEXEC NP DATA_DIR LIMIT EPOCHS
# Exit 77 (skipped) without the data set.
set -euo pipefail
bin=$1 mpi=$2 np=$3 data=$4 limit=$5 epochs=$6
[ -f "$data/train-images-idx3-ubyte.gz" ] || { echo "no data set in $data"; exit 77; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
run() { "$mpi" --oversubscribe --allow-run-as-root --bind-to none -np "$np" "$bin" "$data" "$@"; }
run full "$epochs" "$limit" "$tmp/unused.ck" >"$tmp/full" 2>&1 || { cat "$tmp/full"; exit 1; }
run first "$epochs" "$limit" "$tmp/c.ck" >"$tmp/first" 2>&1 || { cat "$tmp/first"; exit 1; }
run resume "$epochs" "$limit" "$tmp/c.ck" >"$tmp/resume" 2>&1 || { cat "$tmp/resume"; exit 1; }
cat "$tmp/full" "$tmp/first" "$tmp/resume"
grep '^epoch' "$tmp/full" >"$tmp/a"
grep -h '^epoch' "$tmp/first" "$tmp/resume" >"$tmp/b"
[ "$(wc -l <"$tmp/a")" -eq "$epochs" ] || { echo "FAIL: expected $epochs epochs"; exit 1; }
diff "$tmp/a" "$tmp/b" || { echo "FAIL: the resumed losses differ"; exit 1; }
t1=$(grep '^test' "$tmp/full") t2=$(grep '^test' "$tmp/resume")
[ "$t1" = "$t2" ] || { echo "FAIL: test results differ: $t1 / $t2"; exit 1; }
echo "PASS: $epochs epochs on $np rank(s), resumed run identical"
