#!/usr/bin/env bash
# bench/nn/device.sh: libdagnn on the 16-core GPU host in one go (prepared for the lead;
# not run in the development session). Builds without tests (no Check there), then
#   1. CPU: bench/nn/run.sh with 16 threads, 1 -> 2 -> 4 data-parallel ranks (bar: 2 ranks
#      >= 1.7x one) against PyTorch when the host has it (no network: never installed);
#   2. GPU: the same models with every layer task on the CUDA variants (--device cuda),
#      1 rank, and 2 ranks sharing the GPU;
#   3. the loss-curve test on 1, 2, 4 ranks, CPU and GPU.
# The data set: /usr/share/datasets/fashion-mnist if present, else $DATA, else
# ./fashion-mnist in the repository root (copy the four .gz files there before the run:
# untracked files travel with the tree). Logs under $OUT (or /tmp) when set.
set -uo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
out=${OUT:-/tmp}/nn-device
mkdir -p "$out"
build=$root/build-nn-device
DATA=${DATA:-}
for d in /usr/share/datasets/fashion-mnist "$root/fashion-mnist"; do
  [ -z "$DATA" ] && [ -f "$d/train-images-idx3-ubyte.gz" ] && DATA=$d
done
if [ -z "$DATA" ]; then
  echo "device.sh: no Fashion-MNIST (.gz IDX files) found; set DATA or copy them to $root/fashion-mnist" >&2
  exit 2
fi
export DATA OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
{
  echo "== $(date -u) $(hostname) $(nproc) cores"; nvidia-smi -L 2>/dev/null
  cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DDAG_BUILD_TESTS=OFF \
    -DDAG_WITH_CUDA=ON -DDAG_WITH_MPI=ON >/dev/null &&
    cmake --build "$build" -j16 --target fmnist dagrt_mpi dagrt_cuda >/dev/null ||
    { echo "device.sh: build failed"; exit 1; }
  # test_nn_train needs no Check: build it directly
  cc -O2 -I"$root/include" "$root/tests/nn/test_train.c" -o "$build/test_nn_train" \
    -L"$build/runtime/nn" -L"$build/runtime" -Wl,-rpath,"$build/runtime/nn:$build/runtime" \
    -ldagnn -ldagrt -lm

  echo "== 1. CPU, 16 threads (DAG_CUDA=0)"
  DAG_CUDA=0 NN_NO_INSTALL=1 THREADS=${THREADS:-16} EPOCHS=${EPOCHS:-1} \
    LIMIT_CNN=${LIMIT_CNN:-60000} bash "$root/bench/nn/run.sh" "$build"

  echo "== 2. GPU (every layer task on its CUDA variant)"
  for model in mlp cnn; do
    for bs in 64 256; do
      "$build/samples/nn/fmnist" --model $model --epochs ${GPU_EPOCHS:-2} --batch $bs \
        --device cuda --tiles 1 --data "$DATA" 2>&1 | sed "s/^/$model b$bs 1 rank: /"
    done
    mpirun --oversubscribe -np 2 "$build/samples/nn/fmnist" --model $model --epochs 1 \
      --batch 256 --device cuda --tiles 1 --data "$DATA" 2>&1 | sed "s/^/$model b256 2 ranks: /"
  done
  # accuracy bars on the GPU (full runs)
  "$build/samples/nn/fmnist" --model mlp --epochs 15 --lr-decay 0.85 --device cuda --tiles 1 --data "$DATA" | tail -2
  "$build/samples/nn/fmnist" --model cnn --epochs 8 --lr-decay 0.8 --device cuda --tiles 1 --data "$DATA" | tail -2

  echo "== 3. loss curves on 1, 2, 4 ranks"
  for np in 1 2 4; do
    DAG_CUDA=0 mpirun --oversubscribe -np $np "$build/test_nn_train" 40 64 | tail -1
    mpirun --oversubscribe -np $np "$build/test_nn_train" 40 64 | tail -1
  done
} 2>&1 | tee "$out/device.log"
