#!/usr/bin/env bash
# session7.sh: the second device call of the sixth session (not in CI), after session6.sh
# on the same warm machine (its build-gpu tree): where a GPU training step goes
# (bench/nn/gpu-profile.sh, the data set on the device or not), then the blocked
# Cholesky's block size in what is left of BUDGET (540 s). Carry fashion-mnist-subset.
out=${OUT:-/tmp/s7}; mkdir -p "$out"; t0=$(date +%s)
BUILD=${BUILD:-$PWD/build-gpu} timeout 400 bash bench/nn/gpu-profile.sh 2>&1 | grep -v "^ *$"
B=${BUILD:-build-gpu}
cmake --build $B -j"$(nproc)" --target bench_gpu_chol_blocked >/dev/null 2>&1
for nb in ${NBS:-768 1536 1024}; do
  left=$(( ${BUDGET:-540} - ($(date +%s) - t0) ))
  [ $left -gt 45 ] || break
  echo "-- chol blocked N 16384 NB $nb"
  timeout $((left - 10)) "$B/bench/gpu/bench_gpu_chol_blocked" 16384 $nb | grep -E "cuSOLVER|hand|dag, dev"
done
echo "session7 total $(( $(date +%s) - t0 )) s"
