#!/usr/bin/env bash
# bench/nn/device.sh: libdagnn on the 16-core GPU host in one go, in under 8 minutes
# (prepared for the lead). Builds without tests (no Check there), then
#   1. the cuBLAS anchor's gradient check (cublas_fmnist --check, MLP and CNN);
#   2. GPU: the MLP and the CNN through libdagnn (fmnist, fused blocks: the default with a
#      GPU) against bench/nn/cublas_fmnist.cu, hand-written cuBLAS training loops of the same
#      models, batch and optimiser (PyTorch is not on the host), 2 interleaved rounds at
#      batch 64 and 256, the ratio of the last of 3 epochs' samples/s (the first pays the
#      device's warm-up); then at batch 64 the unfused path (DAG_NN_FUSE=0, a task per
#      layer), a task per block instead of one per step (DAG_NN_CHAIN=0), the batch
#      gathered on the host (DAG_NN_DEVICE_DATA=0), 2 workers, no stream chaining, lazy
#      write-back (DAG_CUDA_WRITEBACK=lazy) and 4 steps in flight (DAG_NN_INFLIGHT=4), each
#      with fmnist's per-step GPU counts; the NCCL exchange end
#      to end (DAG_NN_ALLREDUCE=nccl, one rank: one GPU allows no more) and the automatic
#      choice with 2 ranks on one GPU (NCCL refuses that: MPI);
#   3. CPU (DAG_CUDA=0): bench/nn/run.sh with 16 threads in all, 1 -> 2 -> 4 data-parallel
#      ranks (16/N threads each), and 1 rank x 8 threads: 2 ranks x 8 against it is the
#      data-parallel speed-up proper (bar 1.7x), REPS interleaved rounds, with
#      the all-reduce time left exposed per step;
#   4. the tests that need no Check: loss curves equal on 1, 2, 4 ranks (CPU) and on the
#      GPU (fused and not), and tests/nn/test_nccl.c (the NCCL path against the local model).
# Prints a summary at the end. Everything goes into one file, $OUT/nn-device.tgz (logs,
# summary), with the summary also as $OUT/nn-summary.txt.
# The data set: $DATA, else ./fashion-mnist-subset (made here by bench/nn/subset.sh: the
# first 10000 training images and the test set, 8.4 MB; carry it, it is gitignored), else
# ./fashion-mnist, else /usr/share/datasets/fashion-mnist.
#   run(carry=["fashion-mnist-subset"]) bash bench/nn/device.sh
set -uo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
OUT=${OUT:-/tmp}
out=$(mktemp -d /tmp/nn-device.XXXX)
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
ratio() { [ -n "$1" ] && [ -n "$2" ] && awk -v d="$1" -v a="$2" 'BEGIN { printf "%.3f", d / a }'; }
sum=$out/summary.txt
finish() {
  {
    echo "== summary ($(el), $(date -u), $(hostname), $(nproc) cores, data $DATA)"
    nvidia-smi -L 2>/dev/null
    cat "$sum.parts" 2>/dev/null
  } > "$sum"
  cat "$sum"
  cp "$sum" "$OUT/nn-summary.txt"
  tar czf "$OUT/nn-device.tgz" -C "$out" . && echo "device.sh: logs in $OUT/nn-device.tgz"
  rm -rf "$out"
}
trap finish EXIT
S() { echo "$*" >> "$sum.parts"; }

{
  echo "== $(date -u) $(hostname) $(nproc) cores, data $DATA"; nvidia-smi -L 2>/dev/null
  cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DDAG_BUILD_TESTS=OFF \
    -DDAG_WITH_CUDA=ON -DDAG_WITH_MPI=ON >"$out/cmake.log" 2>&1 &&
    cmake --build "$build" -j16 --target fmnist dagrt_mpi dagrt_cuda >"$out/build.log" 2>&1 ||
    { echo "device.sh: build failed (logs in $out)"; tail -20 "$out/build.log"; S "build FAILED"; exit 1; }
  # the programs that need no Check, built directly
  nnl=(-L"$build/runtime/nn" -L"$build/runtime" -Wl,-rpath,"$build/runtime/nn:$build/runtime"
       -ldagnn -ldagrt -lm)
  cc -O2 -I"$root/include" "$root/tests/nn/test_train.c" -o "$build/test_nn_train" "${nnl[@]}"
  cc -O2 -I"$root/include" -I/usr/local/cuda/include "$root/tests/nn/test_nccl.c" \
    -o "$build/test_nn_nccl" "${nnl[@]}"
  /usr/local/cuda/bin/nvcc -O2 -arch=native "$root/bench/nn/cublas_fmnist.cu" \
    -o "$build/cublas_fmnist" -lcublas -lz 2>"$out/nvcc.log" ||
    /usr/local/cuda/bin/nvcc -O2 -arch=sm_90 "$root/bench/nn/cublas_fmnist.cu" \
      -o "$build/cublas_fmnist" -lcublas -lz
  fm=$build/samples/nn/fmnist
  echo "$(el) built"

  echo "== 1. the anchor's gradient check"
  for model in mlp cnn; do
    r=$(timeout 60 "$build/cublas_fmnist" --model $model --check --data "$DATA" 2>&1 | tail -1)
    echo "$model: $r"
    S "anchor --check $model: $r"
  done

  echo "== 2. GPU: fmnist (fused blocks) against the cuBLAS loops, last of 3 epochs"
  for model in mlp cnn; do
    lim=10000; [ $model = cnn ] && lim=${GPU_LIMIT_CNN:-5120}
    for bs in 64 256; do
      : > "$out/r.$model.$bs"
      for r in 1 2; do
        args=(--model $model --epochs 3 --batch $bs --limit $lim --data "$DATA")
        timeout 120 "$build/cublas_fmnist" "${args[@]}" > "$out/anchor.$model.$bs.$r" 2>&1
        timeout 120 "$fm" "${args[@]}" --device cuda > "$out/dag.$model.$bs.$r" 2>&1
        a=$(last_sps "$out/anchor.$model.$bs.$r") d=$(last_sps "$out/dag.$model.$bs.$r")
        x=$(ratio "$d" "$a")
        echo "$x" >> "$out/r.$model.$bs"
        printf "%s b%-4s round %s  dagnn %8s samples/s (%s)  cublas %8s samples/s (%s)  x%s\n" \
          $model $bs $r "$d" "$(final "$out/dag.$model.$bs.$r" | cut -d' ' -f1-3)" "$a" \
          "$(final "$out/anchor.$model.$bs.$r" | cut -d' ' -f1-3)" "$x"
        grep '^gpu per step' "$out/dag.$model.$bs.$r" | tail -1
        S "GPU $model batch $bs round $r: dagnn $d samples/s, cuBLAS anchor $a samples/s: x$x (bar 1.0)"
      done
      S "  $(grep '^gpu per step' "$out/dag.$model.$bs.2" | tail -1)"
    done
    echo "-- $model batch 64 variants (one run each, against the anchor's last round):"
    a=$(last_sps "$out/anchor.$model.64.2")
    for v in "DAG_NN_FUSE=0" "DAG_NN_CHAIN=0" "DAG_NN_DEVICE_DATA=0" "DAG_NUM_THREADS=2" \
             "DAG_CUDA_CHAIN=0" "DAG_CUDA_WRITEBACK=lazy" "DAG_NN_INFLIGHT=4"; do
      env $v timeout 120 "$fm" --model $model --epochs 3 --batch 64 --limit $lim \
        --data "$DATA" --device cuda > "$out/var" 2>&1
      d=$(last_sps "$out/var")
      echo "$v: $d samples/s x$(ratio "$d" "$a") $(final "$out/var" | cut -d' ' -f1-3)"
      grep '^gpu per step' "$out/var" | tail -1
      S "GPU $model batch 64 with $v: $d samples/s x$(ratio "$d" "$a"); $(grep '^gpu per step' "$out/var" | tail -1)"
    done
  done
  echo "-- NCCL, 1 rank (a communicator of one):"
  DAG_NN_ALLREDUCE=nccl timeout 60 "$fm" --model mlp --epochs 1 --batch 256 --device cuda \
    --data "$DATA" 2>&1 | grep -E '^fmnist|^epoch|dagnn|failed'
  echo "-- 2 ranks on the one GPU, DAG_NN_ALLREDUCE=auto (NCCL refuses: MPI expected):"
  timeout 120 mpirun --oversubscribe --bind-to none -np 2 "$fm" --model mlp --epochs 1 \
    --batch 256 --device cuda --data "$DATA" 2>&1 | grep -E '^fmnist|^final|dagnn|failed'
  echo "$(el) GPU done"

  echo "== 3. CPU, 16 threads in all (DAG_CUDA=0), 1 -> 2 -> 4 ranks"
  DAG_CUDA=0 NN_NO_INSTALL=1 THREADS=${THREADS:-16} REPS=${REPS:-3} EPOCHS=1 COLL_AB=1 \
    LIMIT_MLP=${LIMIT_MLP:-10000} LIMIT_CNN=${LIMIT_CNN:-5120} FMNIST_ARGS="--device cpu" \
    timeout 270 bash "$root/bench/nn/run.sh" "$build" | tee "$out/cpu.log"
  grep -E 'dagnn [0-9] rank' "$out/cpu.log" | grep -v '1 thread' |
    sed -E 's/ +/ /g; s/^/CPU 16 threads: /' >> "$sum.parts"
  echo "$(el) CPU done"

  echo "== 4. loss curves on 1, 2, 4 ranks (CPU), on the GPU, and the NCCL test"
  for np in 1 2 4; do
    r=$(DAG_CUDA=0 timeout 60 mpirun --oversubscribe --bind-to none -np $np \
      "$build/test_nn_train" 30 64 2>&1 | tail -1)
    echo "CPU $np ranks: $r"; S "test_nn_train CPU $np ranks: $r"
  done
  r=$(timeout 60 "$build/test_nn_train" 30 64 2>&1 | tail -1); echo "GPU: $r"
  S "test_nn_train GPU (fused and not): $r"
  r=$(DAG_NN_ALLREDUCE=mpi timeout 60 mpirun --oversubscribe --bind-to none -np 2 \
    "$build/test_nn_train" 30 64 2>&1 | tail -1); echo "GPU 2 ranks, MPI: $r"
  S "test_nn_train GPU 2 ranks (MPI exchange): $r"
  timeout 60 "$build/test_nn_nccl" 30 64; rc=$?
  echo "test_nn_nccl exit $rc"; S "test_nn_nccl: exit $rc (0 passed)"
  echo "$(el) all done"
} 2>&1 | tee "$out/device.log"
for model in mlp cnn; do
  for bs in 64 256; do
    [ -s "$out/r.$model.$bs" ] && S "GPU $model batch $bs: median ratio to the anchor x$(sort -g "$out/r.$model.$bs" | awk '{v[NR]=$1} END {print NR % 2 ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2}')"
  done
done
