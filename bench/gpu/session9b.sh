#!/usr/bin/env bash
# session9b.sh: the seventh session's second device call (not in CI): the blocked
# Cholesky at N = 16384, NB 1024, ROUNDS more times with the DSYRK update (and CHOL_UPDATE=gemm
# once), then the stranger's one-GPU program with the tolerance of one_gpu.sh. Everything
# is also written to $OUT/session9b.log. Carry .device and fashion-mnist-subset.
exec > >(tee "${OUT:-/tmp}/session9b.log") 2>&1
t0=$(date +%s); B=${BUILD:-$PWD/build-gpu}
[ -f .device/unpack.sh ] && source .device/unpack.sh >/dev/null
source tests/gpu/clang-env.sh
nvidia-smi --query-gpu=name --format=csv,noheader
[ -f "$B/CMakeCache.txt" ] || cmake -S . -B "$B" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DDAG_WITH_CUDA=ON -DDAG_BUILD_SAMPLES=OFF $DAG_CLANG_CMAKE >/dev/null 2>&1
cmake --build "$B" -j16 --target dagnn bench_gpu_chol_blocked >/dev/null 2>&1 || { echo "build failed"; exit 1; }
echo "build done after $(( $(date +%s) - t0 )) s"
C=$B/bench/gpu/bench_gpu_chol_blocked
for r in $(seq ${ROUNDS:-3}) ${GEMM_RUN-gemm}; do
  v=syrk; [ $r = gemm ] && v=gemm
  echo "-- run $r CHOL_UPDATE=$v"
  CHOL_UPDATE=$v timeout 90 $C 16384 1024 | grep -E "cuSOLVER|hand|dag, "
done
L=(-L$B/runtime/nn -L$B/runtime -Wl,-rpath,$B/runtime/nn:$B/runtime -ldagnn -ldagrt -lm)
cc -O2 -Iinclude tests/nn/stranger/one_gpu.c -o $B/one_gpu-hand "${L[@]}" &&
  timeout 200 bash tests/nn/stranger/one_gpu.sh $B/one_gpu-hand $PWD/fashion-mnist-subset \
    ${LIMIT:-10000} 2 2>&1 | grep -E "PASS|FAIL|^test|fused"
echo "one_gpu.sh exit ${PIPESTATUS[0]}"
echo "session9b total $(( $(date +%s) - t0 )) s"
