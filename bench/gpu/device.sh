#!/usr/bin/env bash
# device.sh: one GPU session in one go (issue 13), shorter than run-all.sh: builds with
# CUDA and, when libclang came along in .device, the translator; runs the GPU suite
# (tests/gpu/run.sh: Check suites, lazy start, pragma programs, MPI, core suites through
# the plugin); times an empty GPU task's latency with and without idle-thread polling
# (DAG_CUDA_IDLE_POLL) and tiled DGEMM / Cholesky against cuBLAS / cuSOLVER, on
# device-resident data and including copies. Logs go to $OUT (default bench/gpu/out),
# a short summary is printed last. SKIP_TESTS=1 skips the suite; QUICK=1 small sizes.
set -uo pipefail
cd "$(dirname "$0")/../.."
out=${OUT:-$PWD/bench/gpu/out}
mkdir -p "$out"
[ -f .device/unpack.sh ] && source .device/unpack.sh >/dev/null
source tests/gpu/clang-env.sh
export BUILD=${BUILD:-build-gpu}
t0=$(date +%s)
cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DDAG_WITH_CUDA=ON \
  -DDAG_BUILD_SAMPLES=OFF $DAG_CLANG_CMAKE >"$out/build.log" 2>&1 || { tail -30 "$out/build.log"; exit 1; }
tr=""; grep -q "^DAGCC_LIBCLANG:.*=/" "$BUILD/CMakeCache.txt" && tr="dagcc dagcc-translate"
mpi=""; command -v mpirun >/dev/null && [ "${SKIP_MPI:-0}" != 1 ] && mpi="test_gpu_mpi dagrt_mpi"
cmake --build "$BUILD" -j"$(nproc)" --target dagrt_cuda test_gpu test_gpu_lazy \
  $([ "${SKIP_CORESO:-0}" = 1 ] || echo dag_core_tests_so) \
  bench_gpu_patterns bench_gpu_linalg bench_gpu_pipeline $tr $mpi >>"$out/build.log" 2>&1 ||
  { tail -40 "$out/build.log"; exit 1; }
echo "built in $(($(date +%s) - t0)) s (translator: ${tr:-no})"
nvidia-smi --query-gpu=name,memory.total,compute_cap --format=csv,noheader | tee "$out/device.txt"

if [ "${SKIP_TESTS:-0}" != 1 ]; then
  timeout "${TEST_TIMEOUT:-330}" bash tests/gpu/run.sh >"$out/tests.log" 2>&1
  echo "tests: exit $? ($(($(date +%s) - t0)) s)"
  grep -E "^[0-9]+%: Checks|tests passed|^== |random|FAIL|SKIPPED|OK:|^ok" "$out/tests.log" | head -40
fi

b=$BUILD/bench/gpu
run() { # name, command...
  local name=$1; shift
  echo "== $name: $*" >>"$out/bench.log"
  timeout "${BENCH_TIMEOUT:-150}" "$@" >>"$out/bench.log" 2>&1 || echo "   ($name exited $?)" >>"$out/bench.log"
}
if [ "${QUICK:-0}" = 1 ]; then G=8192 GB=1024 C=8192 CB=1024; else G=16384 GB=2048 C=16384 CB=1024; fi
for p in ${POLLS:-1 0 1 0}; do # alternated: run-to-run noise
  DAG_CUDA_IDLE_POLL=$p run "patterns (idle poll $p)" $b/bench_gpu_patterns 1000
done
run pipeline $b/bench_gpu_pipeline 16 16 0.63 9
run dgemm $b/bench_gpu_linalg gemm $G $GB
run cholesky $b/bench_gpu_linalg chol $C $CB
# the pending list in submission order, as before issue 13
DAG_CUDA_PENDING=fifo run cholesky-fifo $b/bench_gpu_linalg chol $C $CB
DAG_CUDA_PENDING=fifo run dgemm-fifo $b/bench_gpu_linalg gemm $G $GB
[ -n "${EXTRA:-}" ] && eval "$EXTRA"
echo
echo "== summary ($(head -1 "$out/device.txt"), $(($(date +%s) - t0)) s)"
grep -E "^(== |  dag|  hand|  lib|  runtime|  resident|  latency|  indep|  chain|  fork|  random|DGEMM|Cholesky|pipeline|   \()" "$out/bench.log"
