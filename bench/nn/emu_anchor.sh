#!/usr/bin/env bash
# bench/nn/emu_anchor.sh: the cuBLAS anchor's gradient check (cublas_fmnist.cu --check) on a
# machine without a GPU: the .cu file compiled as C++ on tests/nn/cuda_emu.h (kernels run
# thread by thread, cuBLAS calls as column-major reference loops with cuBLAS's argument
# conventions), so its layouts and GEMM arguments are checked exactly as written.
#   bench/nn/emu_anchor.sh [data-dir]      (about 15 s; status 1 when a check fails)
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
data=${1:-${DATA:-/usr/share/datasets/fashion-mnist}}
bin=$(mktemp -d)/cublas_fmnist_emu
trap 'rm -rf "$(dirname "$bin")"' EXIT
${CXX:-g++} -O2 -Wall -Wextra -x c++ -DNN_CUDA_EMU -include "$root/tests/nn/cuda_emu.h" \
  "$root/bench/nn/cublas_fmnist.cu" -o "$bin" -lz
rc=0
for model in mlp cnn; do
  echo -n "$model (emulated): "
  "$bin" --model $model --check --limit 1000 --data "$data" || rc=1
done
exit $rc
