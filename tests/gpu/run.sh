#!/usr/bin/env bash
# run.sh: the GPU suite in one command, on a machine with a CUDA device: configures and
# builds what it needs (in $BUILD, default build-gpu), then runs tests/gpu (Check) and the
# runtime core suite with the CUDA layer installed. Check may come from .device (see
# ../shared/gpu/README.md: pack.sh). Exit status: 0 only if everything passed.
set -uo pipefail
cd "$(dirname "$0")/../.."
[ -f .device/unpack.sh ] && source .device/unpack.sh >/dev/null
build=${BUILD:-build-gpu}
jobs=$(nproc)
if [ ! -f "$build/CMakeCache.txt" ]; then
  cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DDAG_WITH_CUDA=ON \
    -DDAG_BUILD_SAMPLES=OFF >/dev/null || exit 1
fi
cmake --build "$build" -j"$jobs" --target test_gpu dag_core_tests >/dev/null || {
  cmake --build "$build" -j1 --target test_gpu 2>&1 | tail -30; exit 1; }
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>/dev/null
rc=0
echo "== tests/gpu"
DAG_TEST_SEEDS=${DAG_TEST_SEEDS:-200} "$build/tests/gpu/test_gpu" || rc=1
echo "== tests/core with the CUDA layer installed"
ctest --test-dir "$build" -L core -j"$jobs" --timeout 600 --output-on-failure || rc=1
exit $rc
