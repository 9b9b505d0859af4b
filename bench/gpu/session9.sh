#!/usr/bin/env bash
# session9.sh: the seventh session's first device call (not in CI). Builds build-gpu if it
# is missing (CUDA, MPI, the translator when libclang came in .device), then:
#  1. the blocked Cholesky (bench_gpu_chol_blocked) at N = 16384, NB 1024, with the
#     diagonal blocks updated by DSYRK (the default now) and in full by DGEMM
#     (CHOL_UPDATE=gemm), interleaved, ROUNDS times; then N = 32768 once;
#  2. the stranger's one-GPU training program (tests/nn/stranger/one_gpu.sh: four ways,
#     identical losses), built by hand against build-gpu's libraries;
#  3. in what is left of BUDGET (s), the chained training step's profile (MLP, batch 64).
# Carry .device and fashion-mnist-subset.
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
t0=$(date +%s); B=${BUILD:-$PWD/build-gpu}
[ -f .device/unpack.sh ] && source .device/unpack.sh >/dev/null
source tests/gpu/clang-env.sh
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
if [ ! -f "$B/CMakeCache.txt" ]; then
  cmake -S . -B "$B" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DDAG_WITH_CUDA=ON \
    -DDAG_BUILD_SAMPLES=OFF $DAG_CLANG_CMAKE >"${OUT:-/tmp}/cmake.log" 2>&1 || { tail -20 "${OUT:-/tmp}/cmake.log"; exit 1; }
fi
cmake --build "$B" -j16 --target dagnn bench_gpu_chol_blocked bench_gpu_linalg >"${OUT:-/tmp}/build.log" 2>&1 ||
  { grep -E "error|Error" "${OUT:-/tmp}/build.log" | head -20; exit 1; }
echo "build done after $(( $(date +%s) - t0 )) s"
C=$B/bench/gpu/bench_gpu_chol_blocked
for r in $(seq ${ROUNDS:-3}); do
  for v in syrk gemm; do
    echo "-- round $r CHOL_UPDATE=$v"
    CHOL_UPDATE=$v timeout 90 $C 16384 1024 | grep -E "cuSOLVER|hand|dag, "
  done
done
echo "-- N 32768 NB 1024, DSYRK"
timeout 150 $C 32768 1024 | grep -E "cuSOLVER|hand|dag, dev"
echo "chol done after $(( $(date +%s) - t0 )) s"
L=(-L$B/runtime/nn -L$B/runtime -Wl,-rpath,$B/runtime/nn:$B/runtime -ldagnn -ldagrt -lm)
cc -O2 -Iinclude tests/nn/stranger/one_gpu.c -o $B/one_gpu-hand "${L[@]}" &&
  timeout 200 bash tests/nn/stranger/one_gpu.sh $B/one_gpu-hand $PWD/fashion-mnist-subset \
    ${LIMIT:-10000} 2 >"${OUT:-/tmp}/one_gpu.log" 2>&1
echo "one_gpu.sh exit $?"; grep -E "PASS|FAIL|^test|fused" "${OUT:-/tmp}/one_gpu.log" | head -12
left=$(( ${BUDGET:-540} - ($(date +%s) - t0) ))
# the chained GPU step's profile (bench/nn/gpu-profile.sh: host and device spans per label)
[ $left -gt 60 ] && BUILD=$B MODELS=${MODELS:-mlp} BATCHES=${BATCHES:-64} \
  timeout $((left - 10)) bash bench/nn/gpu-profile.sh 2>&1 | grep -v "^ *$" | head -60
echo "session9 total $(( $(date +%s) - t0 )) s"
