#!/usr/bin/env bash
# bench/nn/gpu-graphs.sh: the chained step replayed as a CUDA graph (runtime/nn/graph.cu) on
# a GPU machine, in one call (not in CI): the profile and A/B of gpu-profile.sh (the cuBLAS
# loop, then the steps without graphs and with them, ROUNDS times interleaved), then the
# stranger's one-GPU program trained four ways (tests/nn/stranger/one_gpu.sh: chained
# steps, now replayed, against one task per block; losses to 1e-5), then the warm-up
# schedule four ways (tests/nn/stranger/warmup.sh). Carry fashion-mnist-subset. Logs in $OUT.
set -uo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
OUT=${OUT:-/tmp}; export OUT
B=${BUILD:-$root/build-nn-device}
t0=$(date +%s)
BUILD=$B ROUNDS=${ROUNDS:-2} bash "$root/bench/nn/gpu-profile.sh" >"$OUT/profile.txt" 2>&1
echo "profile done after $(( $(date +%s) - t0 )) s"
grep -E "^==|dag,|span|gaps" "$OUT/profile.txt"
L=(-L$B/runtime/nn -L$B/runtime -Wl,-rpath,$B/runtime/nn:$B/runtime -ldagnn -ldagrt -lm)
cc -O2 -I"$root/include" "$root/tests/nn/stranger/one_gpu.c" -o "$B/one_gpu-hand" "${L[@]}" &&
  timeout 200 bash "$root/tests/nn/stranger/one_gpu.sh" "$B/one_gpu-hand" \
    "$root/fashion-mnist-subset" "${LIMIT:-10000}" 2 >"$OUT/one_gpu.log" 2>&1
echo "one_gpu.sh exit $? after $(( $(date +%s) - t0 )) s"
grep -E "PASS|FAIL|^test|fused|dagnn" "$OUT/one_gpu.log" | head -16
# the stranger's schedule (a learning rate set before every step): replayed, not replayed,
# the token apart, one task per block: the same numbers
cc -O2 -I"$root/include" "$root/tests/nn/stranger/warmup.c" -o "$B/warmup-hand" "${L[@]}" &&
  timeout 200 bash "$root/tests/nn/stranger/warmup.sh" "$B/warmup-hand" \
    "$root/fashion-mnist-subset" "${LIMIT:-10000}" 2 64 >"$OUT/warmup.log" 2>&1
echo "warmup.sh exit $? after $(( $(date +%s) - t0 )) s"; grep -E "PASS|FAIL" "$OUT/warmup.log"
