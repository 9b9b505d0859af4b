#!/usr/bin/env bash
# chol-col.sh: one short GPU call (about 4 minutes): builds, runs test_gpu with the
# defaults (chaining on), then tiled Cholesky N=16384 NB=1024 with a task per tile
# (BENCH_CHOL unset) and a task per tile column (BENCH_CHOL=col), interleaved, against
# cuSOLVER and the hand-written tiled anchor (the same kernels on streams with events, no
# runtime; 4 update streams, then 2 and 8 once); then the blocked right-looking program
# with lookahead (bench_gpu_chol_blocked, NB 512 and 1024: dag, hand-written, cuSOLVER).
# Logs and a summary under $OUT (default /tmp/chol-col).
out=${OUT:-/tmp/chol-col}; mkdir -p "$out"; t0=$(date +%s)
cd "$(dirname "$0")/../.."
[ -f .device/unpack.sh ] && source .device/unpack.sh >/dev/null 2>&1
B=${BUILD:-build-gpu}
cmake -S . -B $B -DCMAKE_BUILD_TYPE=RelWithDebInfo -DDAG_WITH_CUDA=ON -DDAG_BUILD_TESTS=ON \
  -DDAG_BUILD_SAMPLES=OFF >"$out/build.log" 2>&1 &&
  cmake --build $B -j"$(nproc)" --target test_gpu bench_gpu_linalg bench_gpu_chol_blocked \
    >>"$out/build.log" 2>&1 ||
  { tail -30 "$out/build.log"; exit 1; }
echo "built $(( $(date +%s) - t0 )) s on $(nvidia-smi --query-gpu=name --format=csv,noheader | head -1)"
DAG_TEST_SEEDS=${SEEDS:-10} DAG_TEST_BIG_SEEDS=2 DAG_TEST_CHAIN_SEEDS=${SEEDS:-10} \
  timeout 60 $B/tests/gpu/test_gpu >"$out/test_gpu.log" 2>&1
echo "test_gpu (defaults) exit $? $(( $(date +%s) - t0 )) s"
grep -E "^[0-9]+%: Checks|:F:|:E:" "$out/test_gpu.log" | head
for r in 1 2; do
  for v in tile col; do
    echo "== $v round $r"
    BENCH_CHOL=$v timeout 45 $B/bench/gpu/bench_gpu_linalg chol ${N:-16384} ${NB:-1024} 2>&1 |
      tee "$out/chol-$v-$r.log" | grep -E "dag|resident|library|chaining|hand|MISMATCH"
  done
done
for nb in 512 1024; do
  echo "== blocked right-looking with lookahead, column-major, NB=$nb (bench_gpu_chol_blocked)"
  timeout 60 $B/bench/gpu/bench_gpu_chol_blocked ${N:-16384} $nb 2>&1 | tee "$out/blocked-$nb.log" |
    grep -E "cuSOLVER|hand|dag|MISMATCH"
done
for h in 2 8; do
  echo "== hand-written anchor, $h update streams"
  BENCH_HAND=$h timeout 45 $B/bench/gpu/bench_gpu_linalg chol ${N:-16384} ${NB:-1024} 2>&1 |
    tee "$out/chol-hand$h.log" | grep -E "hand-written|MISMATCH"
done
echo "total $(( $(date +%s) - t0 )) s"
