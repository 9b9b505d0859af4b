#!/usr/bin/env bash
# run.sh: the GPU suite in one command, on a machine with a CUDA device: configures and
# builds what it needs (in $BUILD, default build-gpu), then runs tests/gpu (Check), the
# distributed GPU test under mpirun, and the runtime core suites linked against
# libdagrt.so (coreso), which loads the CUDA plugin: every task passes the CUDA layer;
# with libclang brought along (tests/gpu/clang-env.sh) also the translator, and pragma
# programs on the GPU built by dagcc (tests/gpu/pragma) and libdaglinalg's tests with every
# tile task on the GPU.
# Check may come from .device (see ../shared/gpu/README.md: pack.sh). SKIP_MPI=1 and
# SKIP_CORESO=1 leave those parts out. Exit status: 0 only if everything that ran passed.
set -uo pipefail
cd "$(dirname "$0")/../.."
[ -f .device/unpack.sh ] && source .device/unpack.sh >/dev/null
source tests/gpu/clang-env.sh # the translator, when libclang came along
build=${BUILD:-build-gpu}
jobs=$(nproc)
if [ ! -f "$build/CMakeCache.txt" ]; then
  cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DDAG_WITH_CUDA=ON \
    -DDAG_BUILD_SAMPLES=OFF $DAG_CLANG_CMAKE >/dev/null || exit 1
fi
mpi_targets="" tr_targets=""
command -v mpirun >/dev/null && [ "${SKIP_MPI:-0}" != 1 ] && mpi_targets="test_gpu_mpi dagrt_mpi"
core_targets=dag_core_tests_so
[ "${SKIP_CORESO:-0}" = 1 ] && core_targets=""
grep -q "^DAGCC_LIBCLANG:.*=/" "$build/CMakeCache.txt" && tr_targets="dagcc dagcc-translate test_linalg"
cmake --build "$build" -j"$jobs" --target test_gpu test_gpu_lazy test_gpu_ft $core_targets $mpi_targets \
    $tr_targets >/dev/null || {
  cmake --build "$build" -j1 --target test_gpu test_gpu_lazy $tr_targets 2>&1 | tail -30; exit 1; }
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>/dev/null
rc=0
echo "== tests/gpu"
DAG_TEST_SEEDS=${DAG_TEST_SEEDS:-200} DAG_TEST_BIG_SEEDS=${DAG_TEST_BIG_SEEDS:-24} \
  "$build/tests/gpu/test_gpu" || rc=1
echo "== tests/gpu/test_gpu_ft (device faults: retry(n), lost contexts; one process each)"
"$build/tests/gpu/test_gpu_ft" || rc=1
echo "== tests/gpu/test_gpu_lazy (a CPU-only program does not start the CUDA layer)"
"$build/tests/gpu/test_gpu_lazy" || rc=1
if [ "${SKIP_MPI:-0}" != 1 ] && [ -n "$mpi_targets" ] && [ -x "$build/tests/gpu/test_gpu_mpi" ]; then
  export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
  for st in 1 0; do # staged sends from the GPU, and whole-tile copies first
    echo "== tests/gpu/test_gpu_mpi (2 ranks, DAG_COMM_STAGE=$st)"
    mpirun --oversubscribe -np 2 -x DAG_COMM_STAGE=$st "$build/tests/gpu/test_gpu_mpi" || rc=1
    mpirun --oversubscribe -np 3 -x DAG_COMM_STAGE=$st "$build/tests/gpu/test_gpu_mpi" 24 2 || rc=1
  done
  # outdated copies give their pages back at once: page-locked tiles must be unlocked first
  echo "== tests/gpu/test_gpu_mpi (2 ranks, DAG_COMM_STALE_MB=0; DAG_CUDA_PIN_KEEP_MB=0)"
  mpirun --oversubscribe -np 2 -x DAG_COMM_STALE_MB=0 "$build/tests/gpu/test_gpu_mpi" 20.3 4 || rc=1
  mpirun --oversubscribe -np 2 -x DAG_CUDA_PIN_KEEP_MB=0 "$build/tests/gpu/test_gpu_mpi" || rc=1
fi
if [ -n "$tr_targets" ]; then
  echo "== pragma programs on the GPU, built by dagcc (variant(cuda:) + .cu, device(cuda))"
  ctest --test-dir "$build" -R "gpu.pragma|driver_cuda|translator.e2e.cuda|translator.driver_cuda" \
    --output-on-failure || rc=1
  # libdaglinalg's graphs are pragmas too: their CUDA tile tasks on 1 rank and, sharing
  # the GPU, on 2 (the first CUDA task of a distributed run once hung: core.internals)
  echo "== libdaglinalg with every tile task on the GPU (DAG_LA_DEVICE=cuda), 1 and 2 ranks"
  for d in 2d cyclic; do
    DAG_LA_DEVICE=cuda timeout 300 "$build/tests/linalg/test_linalg" $d 5 2 || rc=1
    [ -z "$mpi_targets" ] || DAG_LA_DEVICE=cuda timeout 300 mpirun --oversubscribe -np 2 \
      -x DAG_LA_DEVICE "$build/tests/linalg/test_linalg" $d 9 1 || rc=1
  done
else
  echo "== pragma programs: SKIPPED (no libclang: bring it in .device, see clang-env.sh)"
  rc=1
fi
echo "== tests/core with the CUDA layer installed"
# DAG_CUDA=init: the layer starts at dag_init, not at a first GPU task these suites lack
[ "${SKIP_CORESO:-0}" = 1 ] && { echo "(skipped: SKIP_CORESO=1)"; exit $rc; }
DAG_CUDA=init DAG_TEST_EXPECT_DEVICE=1 ctest --test-dir "$build" -L coreso -j"$jobs" --timeout 600 --output-on-failure || rc=1
exit $rc
