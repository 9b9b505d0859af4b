#!/usr/bin/env bash
# bench/nn/gpu-ab.sh: samples/s on one GPU over whole runs of EPOCHS epochs (the fmnist
# sample's "final:" line; the first epoch, with its captures, included), ROUNDS times
# interleaved: the cuBLAS loop, dagnn with its chained steps launched directly
# (DAG_NN_GRAPH=0), and replayed as CUDA graphs (the default). Builds through
# gpu-profile.sh. Carry fashion-mnist-subset (10 000 training images).
#   env: MODELS (mlp cnn), BATCHES (64 256), EPOCHS (6), ROUNDS (3); DAG_NN_TOKEN_TASK=1
#   keeps a chained step's completion token as a task apart (the code before it merged)
set -uo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
build=${BUILD:-$root/build-nn-device}
fm=$(BUILD=$build BUILD_ONLY=1 bash "$root/bench/nn/gpu-profile.sh" | tail -1)
[ -x "$fm" ] || { echo "gpu-ab.sh: build failed"; exit 1; }
DATA=${DATA:-$root/fashion-mnist-subset}
fin() { grep '^final:' | sed -E 's/.* ([0-9.]+) samples\/s.*/\1/'; }
for model in ${MODELS:-mlp cnn}; do
  for bs in ${BATCHES:-64 256}; do
    args=(--model "$model" --epochs "${EPOCHS:-6}" --batch "$bs" --data "$DATA")
    for r in $(seq "${ROUNDS:-3}"); do
      a=$("$build/cublas_fmnist" "${args[@]}" 2>&1 | fin)
      d0=$(DAG_NN_GRAPH=0 "$fm" "${args[@]}" --device cuda 2>&1 | fin)
      d1=$("$fm" "${args[@]}" --device cuda 2>&1 | fin)
      awk -v m="$model" -v b="$bs" -v r="$r" -v a="$a" -v x="$d0" -v y="$d1" 'BEGIN {
        printf "%s b%s round %s: cuBLAS loop %.0f, dag direct %.0f (%.2fx), dag graphs %.0f (%.2fx; %.2fx direct)\n",
               m, b, r, a, x, x / a, y, y / a, y / x }'
    done
  done
done
