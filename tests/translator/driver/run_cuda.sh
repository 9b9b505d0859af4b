#!/bin/sh
# run_cuda.sh DAGCC SRCDIR WORKDIR: dagcc compiles .cu inputs with nvcc and links the CUDA
# runtime: one command with C and CUDA sources, then -c per file and a separate link.
# Skips (77) where no nvcc is installed.
set -eu
dagcc=$1 src=$2 work=$3
nvcc=${DAGCC_NVCC:-/usr/local/cuda/bin/nvcc}
command -v "$nvcc" >/dev/null 2>&1 || command -v nvcc >/dev/null 2>&1 || { echo "no nvcc: skipped"; exit 77; }
rm -rf "$work" && mkdir -p "$work" && cd "$work"
"$dagcc" -O2 -Wall "$src/cuda_main.c" "$src/cuda_kernels.cu" -o app1
./app1 | grep -q '^x3=5 gpus=' || { echo "app1 printed: $(./app1)"; exit 1; }
"$dagcc" -O2 -Wall -Wextra -std=c11 -c "$src/cuda_kernels.cu" -o k.o
"$dagcc" -O2 -c "$src/cuda_main.c" -o m.o
"$dagcc" m.o k.o -o app2 -L"$(dirname "$(dirname "$(command -v "$nvcc" || command -v nvcc)")")/lib64" -lcudart -lstdc++
./app2 | grep -q '^x3=5 gpus='
echo "ok"
