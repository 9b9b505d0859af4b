#!/usr/bin/env bash
# warmup.sh: warmup (written from docs/nn.md alone: a learning-rate schedule set before
# every step) trained four ways must print the same losses and accuracies: fused blocks
# with the steps chained (on a GPU: replayed as CUDA graphs), chained without graphs
# (DAG_NN_GRAPH=0), chained with the completion token as a task apart
# (DAG_NN_TOKEN_TASK=1), and one task per block (DAG_NN_CHAIN=0). On CPUs the first three
# are the same chained path. Usage: warmup.sh BINARY DATA_DIR LIMIT EPOCHS BATCH
# Exit 77 (skipped) without the data set.
set -euo pipefail
bin=$1 data=$2 limit=$3 epochs=$4 batch=$5
[ -f "$data/train-images-idx3-ubyte.gz" ] || { echo "no data set in $data"; exit 77; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
ways=("DAG_NN_CHAIN=1" "DAG_NN_CHAIN=1 DAG_NN_GRAPH=0" "DAG_NN_CHAIN=1 DAG_NN_TOKEN_TASK=1"
      "DAG_NN_CHAIN=0")
for k in 0 1 2 3; do
  env DAG_NN_FUSE=1 ${ways[$k]} "$bin" "$data" "$limit" "$epochs" "$batch" >"$tmp/$k" 2>&1 ||
    { cat "$tmp/$k"; echo "FAIL: ${ways[$k]}"; exit 1; }
  echo "-- ${ways[$k]}"; cat "$tmp/$k"
  want=1; [ $k = 3 ] && want=0
  head -1 "$tmp/$k" | grep -q "fused 1 chained $want" ||
    { echo "FAIL: ${ways[$k]}: the model does not report chained $want"; exit 1; }
  grep -E '^(epoch|test)' "$tmp/$k" >"$tmp/r$k"
done
[ "$(grep -c '^epoch' "$tmp/r0")" -eq "$epochs" ] || { echo "FAIL: expected $epochs epochs"; exit 1; }
for k in 1 2 3; do bash "$(dirname "$0")/same_numbers.sh" "$tmp/r0" "$tmp/r$k" "${ways[$k]}"; done
echo "PASS: 4 ways, $epochs epoch(s) on $limit samples, batch $batch, the same losses and accuracies"
