#!/usr/bin/env bash
# lead-min.sh: the shortest GPU check of chaining (the lead's last device call): build,
# test_gpu (random programs with chaining on and off), test_gpu_ft, one Cholesky.
out=${OUT:-/tmp/lead}; mkdir -p "$out"; t0=$(date +%s)
[ -f .device/unpack.sh ] && source .device/unpack.sh >/dev/null 2>&1
B=build-gpu
cmake -S . -B $B -DCMAKE_BUILD_TYPE=RelWithDebInfo -DDAG_WITH_CUDA=ON -DDAG_BUILD_TESTS=ON \
  -DDAG_BUILD_SAMPLES=OFF >"$out/build.log" 2>&1 &&
  cmake --build $B -j16 --target test_gpu test_gpu_ft bench_gpu_linalg >>"$out/build.log" 2>&1 ||
  { tail -20 "$out/build.log"; exit 1; }
echo "built $(( $(date +%s) - t0 )) s"
DAG_TEST_SEEDS=${SEEDS:-15} DAG_TEST_BIG_SEEDS=2 DAG_TEST_CHAIN_SEEDS=${SEEDS:-15} timeout 80 $B/tests/gpu/test_gpu >"$out/test_gpu.log" 2>&1
echo "test_gpu exit $? $(( $(date +%s) - t0 )) s"; grep -E "^[0-9]+%: Checks|:F:|:E:" "$out/test_gpu.log" | head
DAG_TEST_FT_SEEDS=4 timeout 40 $B/tests/gpu/test_gpu_ft >"$out/test_gpu_ft.log" 2>&1
echo "test_gpu_ft exit $? $(( $(date +%s) - t0 )) s"; grep -E "^[0-9]+%: Checks|:F:|:E:" "$out/test_gpu_ft.log" | head
timeout 30 $B/bench/gpu/bench_gpu_linalg chol 16384 1024 2>&1 | tee "$out/chol.log" | grep -E "dag|resident|chain"
echo "total $(( $(date +%s) - t0 )) s"
