#!/usr/bin/env bash
# run-all.sh: on a GPU machine, builds dagcc with CUDA, runs the GPU suite
# (tests/gpu/run.sh), then times the GPU benchmarks; full logs go to $OUT (default
# bench/gpu/out) and a short table is printed last. Set QUICK=1 for small sizes.
# With 2+ GPUs it also times the linear algebra on one GPU against all of them.
set -uo pipefail
cd "$(dirname "$0")/../.."
out=${OUT:-$PWD/bench/gpu/out}
mkdir -p "$out"
[ -f .device/unpack.sh ] && source .device/unpack.sh >/dev/null
source tests/gpu/clang-env.sh # the translator, when libclang came along
export BUILD=${BUILD:-build-gpu} NCCL_NVLS_ENABLE=0
jobs=$(nproc)
t0=$(date +%s)
cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DDAG_WITH_CUDA=ON \
  -DDAG_BUILD_SAMPLES=OFF $DAG_CLANG_CMAKE >"$out/build.log" 2>&1 &&
  cmake --build "$BUILD" -j"$jobs" --target test_gpu dag_core_tests_so bench_gpu_pipeline \
    bench_gpu_patterns bench_gpu_linalg \
    $(command -v mpirun >/dev/null && echo bench_gpu_stage_mpi bench_mpi dagrt_mpi) \
    >>"$out/build.log" 2>&1 ||
  { tail -40 "$out/build.log"; exit 1; }
echo "built in $(($(date +%s) - t0)) s"
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader | tee "$out/device.txt"
ngpu=$(nvidia-smi -L | wc -l)

if [ "${SKIP_TESTS:-0}" != 1 ]; then
  timeout ${TEST_TIMEOUT:-300} bash tests/gpu/run.sh >"$out/tests.log" 2>&1
  echo "tests: exit $? (gpu: $(grep -E '^[0-9]+%: Checks' "$out/tests.log" | head -1); core: $(grep -E 'tests passed' "$out/tests.log" | tail -1))"
fi

b=$BUILD/bench/gpu
run() { # name, command...
  local name=$1; shift
  echo "== $name: $*" >>"$out/bench.log"
  timeout ${BENCH_TIMEOUT:-150} "$@" >>"$out/bench.log" 2>&1 || echo "   ($name exited $?)" >>"$out/bench.log"
}
if [ "${QUICK:-0}" = 1 ]; then G=8192 GB=1024 C=8192 CB=1024; else G=16384 GB=2048 C=16384 CB=1024; fi
run pipeline $b/bench_gpu_pipeline 16 16 0.63 15
DAG_CUDA_STREAMS=4 run pipeline-4streams $b/bench_gpu_pipeline 16 16 0.63 15
run patterns $b/bench_gpu_patterns 4000
run dgemm $b/bench_gpu_linalg gemm $G $GB
run cholesky $b/bench_gpu_linalg chol $C $CB
# out of core: the runtime may use 2/3 of the matrices' size (they are 1.5x its memory)
# (Cholesky touches the lower triangle of tiles only)
ct=$((C / CB)); gm=$((3 * G * G * 8 / 1048576 * 2 / 3))
cm=$((ct * (ct + 1) / 2 * CB * CB * 8 / 1048576 * 2 / 3))
DAG_CUDA_MEM_MB=$gm run dgemm-ooc $b/bench_gpu_linalg gemm $G $GB noref
DAG_CUDA_MEM_MB=$cm run cholesky-ooc $b/bench_gpu_linalg chol $C $CB noref
if [ "$ngpu" -ge 2 ]; then
  DAG_CUDA_DEVICES=1 run dgemm-1gpu $b/bench_gpu_linalg gemm $G $GB noref
  run dgemm-${ngpu}gpu $b/bench_gpu_linalg gemm $G $GB noref
  DAG_CUDA_DEVICES=1 run cholesky-1gpu $b/bench_gpu_linalg chol $C $CB noref
  run cholesky-${ngpu}gpu $b/bench_gpu_linalg chol $C $CB noref
fi
DAG_TRACE=$out/pipeline-trace.json run pipeline-trace $b/bench_gpu_pipeline 16 16 0.63 1
if [ -x $b/bench_gpu_stage_mpi ]; then # issue 5: GPU tiles between ranks; MPI latency
  export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
  for st in 1 0; do
    run stage-mpi-$st mpirun -np 2 -x DAG_COMM_STAGE=$st $b/bench_gpu_stage_mpi 8 64
  done
  # one-sided mode: where Open MPI's osc rdma cannot make a dynamic window (no BTL with
  # RDMA), try osc ucx; the runtime reports which failed
  osc=""
  if ! mpirun -np 2 -x DAG_CUDA=0 -x DAG_COMM=rma $BUILD/bench/mpi/bench_mpi compute \
      >"$out/rma-probe.log" 2>&1; then
    osc="-x OMPI_MCA_osc=ucx"
    echo "   (DAG_COMM=rma failed with the default osc: $(grep -m1 -o 'error: .*' "$out/rma-probe.log" | cut -c1-90); using $osc)" >>"$out/bench.log"
  fi
  for i in 1 2 3; do
    run mpi-latency mpirun -np 2 -x DAG_CUDA=0 $BUILD/bench/mpi/bench_mpi latency
    run mpi-latency-1thread mpirun -np 2 -x DAG_CUDA=0 -x DAG_NUM_THREADS=1 \
      $BUILD/bench/mpi/bench_mpi latency
    run mpi-latency-rma mpirun -np 2 -x DAG_CUDA=0 -x DAG_COMM=rma $osc \
      $BUILD/bench/mpi/bench_mpi latency
  done
  MPIRUN_ARGS="-x DAG_CUDA=0 $osc" run mpi-bcast sh bench/mpi/run-bcast.sh $BUILD 3
fi

echo
echo "== summary ($(cat "$out/device.txt" | head -1), $(($(date +%s) - t0)) s)"
grep -E "^(== |  dag|  hand|  lib|  runtime|  indep|  chain|  fork|  random|  latency|DGEMM|Cholesky|pipeline|staging|latency|bandwidth|p2p|tree|rma|cholesky|   \()" "$out/bench.log"
