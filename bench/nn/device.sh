#!/usr/bin/env bash
# bench/nn/device.sh: libdagnn on the 16-core GPU host in one go, in under 8 minutes
# (prepared for the lead). Builds without tests (no Check there), then
#   1. CPU (DAG_CUDA=0): bench/nn/run.sh with 16 threads in all, 1 -> 2 -> 4 data-parallel
#      ranks (16/N threads each; bar: 2 ranks >= 1.7x one), REPS interleaved rounds;
#   2. GPU: the MLP and the CNN with every layer task on its CUDA variant (fmnist
#      --device cuda) against bench/nn/cublas_fmnist.cu, hand-written cuBLAS training loops
#      of the same models, batch and optimiser (PyTorch is not on the host; their
#      gradients are first checked against central differences, --check), rounds
#      interleaved, the ratio of the last epoch's samples/s (the first pays the device's
#      warm-up); the NCCL exchange end to end (DAG_NN_ALLREDUCE=nccl, one
#      rank: one GPU allows no more) and the automatic choice with 2 ranks on one GPU
#      (NCCL refuses that: MPI);
#   3. the tests that need no Check: loss curves equal on 1, 2, 4 ranks (CPU) and on the
#      GPU, and tests/nn/test_nccl.c (the NCCL path against the local model).
# The data set: $DATA, else ./fashion-mnist-subset (made here by bench/nn/subset.sh: the
# first 10000 training images and the test set, 8.4 MB; carry it, it is gitignored), else
# ./fashion-mnist, else /usr/share/datasets/fashion-mnist. Logs under $OUT (or /tmp).
#   run(carry=["fashion-mnist-subset"]) bash bench/nn/device.sh
set -uo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
out=${OUT:-/tmp}/nn-device
mkdir -p "$out"
build=$root/build-nn-device
DATA=${DATA:-}
for d in "$root/fashion-mnist-subset" "$root/fashion-mnist" /usr/share/datasets/fashion-mnist; do
  [ -z "$DATA" ] && [ -f "$d/train-images-idx3-ubyte.gz" ] && DATA=$d
done
if [ -z "$DATA" ]; then
  echo "device.sh: no Fashion-MNIST (.gz IDX files); set DATA or run bench/nn/subset.sh and carry fashion-mnist-subset" >&2
  exit 2
fi
export DATA OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
T0=$(date +%s)
el() { echo "[$(( $(date +%s) - T0 )) s]"; }
last_sps() { grep '^epoch' "$1" | tail -1 | sed -E 's/.* ([0-9.]+) samples\/s.*/\1/'; }
final() { grep '^final:' "$1" | sed 's/^final: //'; }
{
  echo "== $(date -u) $(hostname) $(nproc) cores, data $DATA"; nvidia-smi -L 2>/dev/null
  cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DDAG_BUILD_TESTS=OFF \
    -DDAG_WITH_CUDA=ON -DDAG_WITH_MPI=ON >"$out/cmake.log" 2>&1 &&
    cmake --build "$build" -j16 --target fmnist dagrt_mpi dagrt_cuda >"$out/build.log" 2>&1 ||
    { echo "device.sh: build failed (logs in $out)"; tail -20 "$out/build.log"; exit 1; }
  # the programs that need no Check, built directly
  nnl=(-L"$build/runtime/nn" -L"$build/runtime" -Wl,-rpath,"$build/runtime/nn:$build/runtime"
       -ldagnn -ldagrt -lm)
  cc -O2 -I"$root/include" "$root/tests/nn/test_train.c" -o "$build/test_nn_train" "${nnl[@]}"
  cc -O2 -I"$root/include" -I/usr/local/cuda/include "$root/tests/nn/test_nccl.c" \
    -o "$build/test_nn_nccl" "${nnl[@]}"
  /usr/local/cuda/bin/nvcc -O2 -arch=native "$root/bench/nn/cublas_fmnist.cu" \
    -o "$build/cublas_fmnist" -lcublas -lz ||
    /usr/local/cuda/bin/nvcc -O2 -arch=sm_90 "$root/bench/nn/cublas_fmnist.cu" \
      -o "$build/cublas_fmnist" -lcublas -lz
  fm=$build/samples/nn/fmnist
  echo "$(el) built"

  echo "== 1. CPU, 16 threads in all (DAG_CUDA=0), 1 -> 2 -> 4 ranks"
  DAG_CUDA=0 NN_NO_INSTALL=1 THREADS=${THREADS:-16} REPS=${REPS:-3} EPOCHS=1 \
    LIMIT_MLP=${LIMIT_MLP:-10000} LIMIT_CNN=${LIMIT_CNN:-5120} FMNIST_ARGS="--device cpu" \
    bash "$root/bench/nn/run.sh" "$build"
  echo "$(el) CPU done"

  echo "== 2. GPU: fmnist --device cuda against the cuBLAS loops (last of 2 epochs)"
  for model in mlp cnn; do
    "$build/cublas_fmnist" --model $model --check --data "$DATA" 2>&1 | sed "s/^/$model anchor: /"
  done
  for model in mlp cnn; do
    lim=10000; [ $model = cnn ] && lim=${GPU_LIMIT_CNN:-5120}
    for bs in 64 256; do
      for r in 1 2; do
        args=(--model $model --epochs 2 --batch $bs --limit $lim --data "$DATA")
        "$build/cublas_fmnist" "${args[@]}" > "$out/anchor" 2>&1
        "$fm" "${args[@]}" --device cuda --tiles 1 > "$out/dag" 2>&1
        a=$(last_sps "$out/anchor") d=$(last_sps "$out/dag")
        printf "%s b%-4s round %s  dagnn %8s samples/s (%s)  cublas %8s samples/s (%s)  x%s\n" \
          $model $bs $r "$d" "$(final "$out/dag" | cut -d' ' -f1-3)" "$a" \
          "$(final "$out/anchor" | cut -d' ' -f1-3)" \
          "$( [ -n "$a" ] && [ -n "$d" ] && awk -v d="$d" -v a="$a" 'BEGIN { printf "%.3f", d / a }')"
      done
    done
  done
  echo "-- NCCL, 1 rank (a communicator of one):"
  DAG_NN_ALLREDUCE=nccl "$fm" --model mlp --epochs 1 --batch 256 --device cuda --tiles 1 \
    --data "$DATA" 2>&1 | grep -E '^fmnist|^epoch|dagnn|failed'
  echo "-- 2 ranks on the one GPU, DAG_NN_ALLREDUCE=auto (NCCL refuses: MPI expected):"
  timeout 120 mpirun --oversubscribe --bind-to none -np 2 "$fm" --model mlp --epochs 1 \
    --batch 256 --device cuda --tiles 1 --data "$DATA" 2>&1 | grep -E '^fmnist|^final|dagnn|failed'
  echo "$(el) GPU done"

  echo "== 3. loss curves on 1, 2, 4 ranks (CPU), on the GPU, and the NCCL test"
  for np in 1 2 4; do
    DAG_CUDA=0 timeout 120 mpirun --oversubscribe --bind-to none -np $np \
      "$build/test_nn_train" 40 64 | tail -1
  done
  timeout 120 "$build/test_nn_train" 40 64 | tail -1
  DAG_NN_ALLREDUCE=mpi timeout 120 mpirun --oversubscribe --bind-to none -np 2 \
    "$build/test_nn_train" 40 64 | tail -1
  timeout 120 "$build/test_nn_nccl" 40 64; echo "test_nn_nccl exit $?"
  echo "$(el) all done"
} 2>&1 | tee "$out/device.log"
