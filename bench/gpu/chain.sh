#!/usr/bin/env bash
# chain.sh: chaining (DAG_CUDA_CHAIN: a GPU task's successors launched right behind it,
# ordered by events) on one GPU in one call of under 6 minutes: builds with CUDA (and the
# tests when Check is there, from .device), runs the GPU suite's parts that chaining
# touches (test_gpu, whose random case runs every program with chaining on and off;
# test_gpu_ft), then tiled Cholesky N=16384 NB=1024 and DGEMM N=16384 NB=2048 against
# cuSOLVER / cuBLAS with DAG_CUDA_CHAIN=0, 1 (chained on the predecessor's stream) and 2
# (chained, streams chosen as without) interleaved, and the patterns benchmark
# (its chain-bare row: 1000 dependent small kernels as tasks against back-to-back launches
# on one stream) both ways. Writes $OUT/summary.txt (a short table) and $OUT/chain.tgz
# (every log). OUT defaults to bench/gpu/out-chain. SKIP_TESTS=1 skips the tests.
set -uo pipefail
cd "$(dirname "$0")/../.."
out=${OUT:-$PWD/bench/gpu/out-chain}
mkdir -p "$out"
logs=$(mktemp -d)
sum=$out/summary.txt
[ -f .device/unpack.sh ] && source .device/unpack.sh >/dev/null 2>&1
build=${BUILD:-build-gpu}
t0=$(date +%s)
el() { echo "$(($(date +%s) - t0)) s"; }
budget=${BUDGET:-345} # seconds for the whole script; benchmarks are skipped past it
# a test's time limit: its own, or less so that 150 s are left for the benchmarks
tlim() { local rem=$((budget - 150 - $(date +%s) + t0)); [ $rem -lt 20 ] && rem=20; [ $rem -lt $1 ] && echo $rem || echo $1; }
finish() {
  tar -czf "$out/chain.tgz" -C "$logs" . 2>/dev/null
  rm -rf "$logs"
  cat "$sum"
  exit "${1:-0}"
}
: >"$sum"

tests=OFF
pkg-config --exists check 2>/dev/null && tests=ON
[ "${SKIP_TESTS:-0}" = 1 ] && tests=OFF
# an existing build directory may have been configured without the tests
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DDAG_WITH_CUDA=ON \
  -DDAG_BUILD_TESTS=$tests -DDAG_BUILD_SAMPLES=OFF >"$logs/build.log" 2>&1 ||
  { echo "configure failed (tests=$tests)" >>"$sum"; tail -30 "$logs/build.log" >>"$sum"; finish 1; }
targets="dagrt_cuda bench_gpu_patterns bench_gpu_linalg"
[ $tests = ON ] && targets="$targets test_gpu test_gpu_ft"
cmake --build "$build" -j"$(nproc)" --target $targets >>"$logs/build.log" 2>&1 ||
  { echo "build failed" >>"$sum"; grep -E "error" "$logs/build.log" | head -20 >>"$sum"; finish 1; }
{
  echo "chain.sh on $(nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null | head -1), commit $(git rev-parse --short HEAD 2>/dev/null)"
  echo "built in $(el) (tests: $tests)"
} >>"$sum"
nvidia-smi >"$logs/nvidia-smi.txt" 2>&1

rc=0
if [ $tests = ON ]; then
  # ~2 min: the whole suite with chaining on (the default), its random programs both ways
  DAG_TEST_SEEDS=${DAG_TEST_SEEDS:-40} DAG_TEST_BIG_SEEDS=${DAG_TEST_BIG_SEEDS:-4} \
    DAG_TEST_CHAIN_SEEDS=${DAG_TEST_CHAIN_SEEDS:-30} \
    timeout $(tlim 140) "$build/tests/gpu/test_gpu" >"$logs/test_gpu.log" 2>&1
  r=$?; [ $r = 0 ] || rc=1
  echo "test_gpu (chaining on; random programs on and off): exit $r, $(el)" >>"$sum"
  grep -E "^[0-9]+%: Checks|random .*programs|:F:|:E:" "$logs/test_gpu.log" | head -12 >>"$sum"
  # the non-random cases with chaining off: what ran before chaining still runs
  DAG_CUDA_CHAIN=0 CK_RUN_CASE=cuda timeout $(tlim 45) "$build/tests/gpu/test_gpu" >"$logs/test_gpu_chain0.log" 2>&1
  r=$?; [ $r = 0 ] || rc=1
  echo "test_gpu CK_RUN_CASE=cuda, DAG_CUDA_CHAIN=0: exit $r, $(el)" >>"$sum"
  grep -E "^[0-9]+%: Checks|:F:|:E:" "$logs/test_gpu_chain0.log" | head -6 >>"$sum"
  DAG_TEST_FT_SEEDS=${DAG_TEST_FT_SEEDS:-8} timeout $(tlim 60) "$build/tests/gpu/test_gpu_ft" >"$logs/test_gpu_ft.log" 2>&1
  r=$?; [ $r = 0 ] || rc=1
  echo "test_gpu_ft: exit $r, $(el)" >>"$sum"
  grep -E "^[0-9]+%: Checks|:F:|:E:" "$logs/test_gpu_ft.log" | head -6 >>"$sum"
fi

b=$build/bench/gpu
bench() { # log name, timeout, command... (skipped once the budget is spent)
  local name=$1 lim=$2 rem=$((budget - $(date +%s) + t0)); shift 2
  if [ $rem -lt 15 ]; then
    echo "   (skipped: time budget spent) $*" >>"$logs/$name.log"; return
  fi
  [ $rem -lt "$lim" ] && lim=$rem
  echo "== $* (DAG_CUDA_CHAIN=${DAG_CUDA_CHAIN:-unset})" >>"$logs/$name.log"
  timeout "$lim" "$@" >>"$logs/$name.log" 2>&1 || echo "   (exit $?)" >>"$logs/$name.log"
}
# interleaved (run-to-run noise hits every setting alike), most wanted first
for c in 0 1 2; do DAG_CUDA_CHAIN=$c bench chol 40 "$b/bench_gpu_linalg" chol 16384 1024; done
for c in 0 1 2; do DAG_CUDA_CHAIN=$c bench patterns 25 "$b/bench_gpu_patterns" 1000; done
for c in 0 1; do DAG_CUDA_CHAIN=$c bench gemm 40 "$b/bench_gpu_linalg" gemm 16384 2048; done
for c in 0 1 2; do DAG_CUDA_CHAIN=$c bench chol 40 "$b/bench_gpu_linalg" chol 16384 1024; done
for c in 0 1 2; do DAG_CUDA_CHAIN=$c bench patterns 25 "$b/bench_gpu_patterns" 1000; done
{
  echo
  echo "benchmarks ($(el)); resident = data on the device, ratio = library time / dag time"
  for f in chol gemm; do
    awk -v f=$f '/^== /{c=$0; sub(/.*DAG_CUDA_CHAIN=/, "", c); sub(/\)/, "", c)}
      /resident dag \/ library/{v = $8; sub(/;/, "", v); printf "  %-5s DAG_CUDA_CHAIN=%s  resident: %s of the library\n", f, c, v}
      /^  dag \/ library: /{printf "  %-5s DAG_CUDA_CHAIN=%s  from the host: %s of the library on device data, %s incl. its copies\n", f, c, $4, $8}
      /chaining:/{sub(/^ +/, ""); printf "  %-5s DAG_CUDA_CHAIN=%s  %s\n", f, c, $0}
      /exit [0-9]|skipped/{print "  " f " " $0}' "$logs/$f.log"
  done
  awk '/^== /{c=$0; sub(/.*DAG_CUDA_CHAIN=/, "", c); sub(/\)/, "", c)}
    /^  (chain|chain-bare:|latency:|fork-join|random) /{sub(/^ +/, ""); print "  patterns DAG_CUDA_CHAIN=" c "  " $0}
    /exit [0-9]|skipped/{print "  patterns " $0}' "$logs/patterns.log"
} >>"$sum"
echo "total $(el); exit $rc" >>"$sum"
finish $rc
