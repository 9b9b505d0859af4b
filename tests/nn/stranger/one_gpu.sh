#!/usr/bin/env bash
# one_gpu.sh: one_gpu (written from docs/nn.md alone) trained four ways must print the same
# losses and accuracies: fused blocks with steps chained into one task
# and the data set declared (dag_nn_train_data), chained and not declared, one task per
# block and declared, one task per block and not declared (losses to a relative 1e-5,
# see below). On a GPU that is the device
# gather against the host's and the chained step against the per-block tasks; on CPUs the
# fused bodies run alone and chained. Usage: one_gpu.sh BINARY DATA_DIR LIMIT EPOCHS
# Exit 77 (skipped) without the data set.
set -euo pipefail
bin=$1 data=$2 limit=$3 epochs=$4
[ -f "$data/train-images-idx3-ubyte.gz" ] || { echo "no data set in $data"; exit 77; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
k=0
for chain in 1 0; do
  for declare in 1 0; do
    k=$((k + 1))
    DAG_NN_FUSE=1 DAG_NN_CHAIN=$chain "$bin" "$data" "$limit" "$epochs" "$declare" \
      >"$tmp/$k" 2>&1 || { cat "$tmp/$k"; echo "FAIL: chain $chain declare $declare"; exit 1; }
    cat "$tmp/$k"
    head -1 "$tmp/$k" | grep -q "fused 1 chained $chain declared $declare" ||
      { echo "FAIL: the model does not report chain $chain"; exit 1; }
    grep -E '^(epoch|test)' "$tmp/$k" >"$tmp/r$k"
  done
done
[ "$(grep -c '^epoch' "$tmp/r1")" -eq "$epochs" ] || { echo "FAIL: expected $epochs epochs"; exit 1; }
# losses to a relative 1e-5, accuracies to 1e-4 (same_numbers.sh says why)
for k in 2 3 4; do
  bash "$(dirname "$0")/same_numbers.sh" "$tmp/r1" "$tmp/r$k" "run $k"
done
echo "PASS: 4 ways, $epochs epoch(s) on $limit samples, the same losses (1e-5) and accuracies"
