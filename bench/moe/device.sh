#!/usr/bin/env bash
# bench/moe/device.sh: the MoE layer on the 16-core GPU host in one go (prepared, not yet
# run): builds with CUDA (Release; the tests too where Check is available), runs the
# GPU test (CUDA expert chunks against the sequential reference), then for Zipf
# s = 0, 1.0, 1.5 dynamic against static placement with 16 workers at a larger size,
# first on the CPUs alone (DAG_CUDA=0), then with the GPU (forward chunks have a CUDA
# implementation; the scheduler places each), the PyTorch anchor if python3-torch is there
# (the host cannot install it), and the distributed path (4 ranks x 4 workers).
# Logs under $OUT (default bench/moe/out).
set -uo pipefail
cd "$(dirname "$0")/../.."
out=${OUT:-$PWD/bench/moe/out}
mkdir -p "$out"
[ -f .device/unpack.sh ] && source .device/unpack.sh >/dev/null
build=${BUILD:-build-moe}
tests=ON
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DDAG_WITH_CUDA=ON -DDAG_BUILD_SAMPLES=OFF \
  >"$out/build.log" 2>&1 || { tests=OFF; cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release \
  -DDAG_WITH_CUDA=ON -DDAG_BUILD_SAMPLES=OFF -DDAG_BUILD_TESTS=OFF >>"$out/build.log" 2>&1; }
targets="bench_moe dagrt_mpi dagrt_cuda"
[ $tests = ON ] && targets="$targets test_moe_gpu test_moe_mpi"
# shellcheck disable=SC2086
cmake --build "$build" -j"$(nproc)" --target $targets >>"$out/build.log" 2>&1 ||
  { tail -30 "$out/build.log"; exit 1; }
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
if [ $tests = ON ]; then
  for sch in eager random dmda; do
    DAG_SCHED=$sch timeout 300 "$build/tests/moe/test_moe_gpu" 20 2>&1 | tail -2 |
      sed "s/^/gpu test ($sch): /" | tee -a "$out/tests.log"
  done
  command -v mpirun >/dev/null &&
    timeout 300 mpirun -np 4 -x DAG_NUM_THREADS=4 "$build/tests/moe/test_moe_mpi" 20 2>&1 |
      tail -1 | tee -a "$out/tests.log"
fi
b=$build/bench/moe/bench_moe
args=${MOE_ARGS:-4096 32 256 512 2 0}
steps=${STEPS:-40}
echo "host: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)" | tee "$out/bench.log"
for s in 0 1.0 1.5; do
  # shellcheck disable=SC2086
  DAG_CUDA=0 DAG_NUM_THREADS=16 timeout 300 $b $s $steps $args 2>&1 | tee -a "$out/bench.log"
  # shellcheck disable=SC2086
  DAG_NUM_THREADS=16 timeout 300 $b $s $steps $args 2>&1 | sed 's/^RESULT/RESULT gpu/' |
    tee -a "$out/bench.log"
  if python3 -c 'import torch' 2>/dev/null; then
    # shellcheck disable=SC2086
    timeout 300 python3 bench/moe/torch_moe.py $s $steps $(echo $args | cut -d' ' -f1-5) 2>&1 |
      tee -a "$out/bench.log"
  fi
done
if command -v mpirun >/dev/null; then
  # shellcheck disable=SC2086
  timeout 300 mpirun -np 4 -x DAG_CUDA=0 -x DAG_NUM_THREADS=4 $b 1.0 $steps $args 2>&1 |
    sed 's/^RESULT/RESULT np4/' | tee -a "$out/bench.log"
fi
echo "summary:"; grep '^RESULT' "$out/bench.log"
