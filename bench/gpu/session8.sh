#!/usr/bin/env bash
# session8.sh: the sixth session's GPU training settings (not in CI), on build-gpu's
# libraries (the sample and the loss test built by hand, as bench/nn/gpu-profile.sh does):
# the loss test on 2 GPU ranks, then the MLP and the CNN at batch 64 and 256 against the
# cuBLAS loops with the runtime's stream count, steps in flight and chaining varied, then
# the blocked Cholesky's block size in what is left of BUDGET (s). Carry
# fashion-mnist-subset.
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
t0=$(date +%s); B=${BUILD:-$PWD/build-gpu}; DATA=$PWD/fashion-mnist-subset
cmake --build $B -j16 --target dagnn bench_gpu_chol_blocked >/dev/null 2>&1 || echo "build failed"
L=(-L$B/runtime/nn -L$B/runtime -Wl,-rpath,$B/runtime/nn:$B/runtime -ldagnn -ldagrt -lm)
cc -O2 -DFMNIST_CUDA_STATS=1 -Iinclude -I/usr/local/cuda/include samples/nn/fmnist.c \
  -o $B/fmnist-hand "${L[@]}" || exit 1
cc -O2 -Iinclude tests/nn/test_train.c -o $B/test_nn_train_hand "${L[@]}" || exit 1
[ -x $B/cublas_fmnist ] || /usr/local/cuda/bin/nvcc -O2 -arch=native bench/nn/cublas_fmnist.cu \
  -o $B/cublas_fmnist -lcublas -lz || exit 1
r=$(DAG_NN_ALLREDUCE=mpi timeout 60 mpirun --oversubscribe --bind-to none -np 2 \
  $B/test_nn_train_hand 30 64 2>&1 | tail -1)
echo "test_nn_train GPU 2 ranks (MPI exchange): $r"
r=$(timeout 60 $B/test_nn_train_hand 30 64 2>&1 | tail -1); echo "test_nn_train GPU 1 rank: $r"
sps() { grep '^epoch' | tail -1 | sed -E 's/.* ([0-9.]+) samples\/s.*/\1/'; }
for model in ${MODELS:-mlp cnn}; do
  for bs in 64 256; do
    lim=10000; [ $model = cnn ] && lim=5120
    args=(--model $model --epochs ${EPOCHS:-3} --batch $bs --limit $lim --data $DATA)
    a=$(timeout 60 $B/cublas_fmnist "${args[@]}" 2>&1 | sps)
    line="$model b$bs anchor $a:"
    IFS=, read -ra vs <<< "${VARIANTS:-X=1,DAG_CUDA_STREAMS=1,DAG_NN_INFLIGHT=4,DAG_CUDA_CHAIN=0,DAG_NN_DEVICE_DATA=0}"
    for v in "${vs[@]}"; do
      d=$(env $v timeout 60 $B/fmnist-hand "${args[@]}" --device cuda 2>&1 | sps)
      line="$line | $v $d ($(awk -v d=$d -v a=$a 'BEGIN{printf "%.3f", d/a}')x)"
    done
    echo "$line"
  done
done
for nb in ${NBS-512 2048}; do
  left=$(( ${BUDGET:-400} - ($(date +%s) - t0) ))
  [ $left -gt 60 ] || break
  echo "-- chol blocked N 16384 NB $nb"
  timeout $((left - 10)) $B/bench/gpu/bench_gpu_chol_blocked 16384 $nb | grep -E "cuSOLVER|hand|dag, dev"
done
echo "session8 total $(( $(date +%s) - t0 )) s"
