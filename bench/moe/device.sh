#!/usr/bin/env bash
# bench/moe/device.sh: the MoE benchmark on the 16-core GPU host in one go (prepared, not
# yet run): builds bench_moe (Release, no tests: the host has no Check), then for Zipf
# s = 0, 1.0, 1.5 runs dynamic against static placement with 16 workers at a larger size,
# the PyTorch anchor if python3-torch is there (the host cannot install it), and the
# distributed path (4 ranks x 4 workers, experts spread over the ranks, hot experts'
# chunks replicated). The expert chunks have no CUDA implementation yet, so this measures
# the CPU side of the host. Logs under $OUT (default bench/moe/out).
set -uo pipefail
cd "$(dirname "$0")/../.."
out=${OUT:-$PWD/bench/moe/out}
mkdir -p "$out"
[ -f .device/unpack.sh ] && source .device/unpack.sh >/dev/null
build=${BUILD:-build-moe}
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DDAG_WITH_CUDA=OFF -DDAG_BUILD_TESTS=OFF \
  -DDAG_BUILD_SAMPLES=OFF >"$out/build.log" 2>&1 &&
  cmake --build "$build" -j"$(nproc)" --target bench_moe dagrt_mpi >>"$out/build.log" 2>&1 ||
  { tail -30 "$out/build.log"; exit 1; }
b=$build/bench/moe/bench_moe
args=${MOE_ARGS:-4096 32 256 512 2 0}
steps=${STEPS:-40}
echo "host: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)" | tee "$out/bench.log"
for s in 0 1.0 1.5; do
  # shellcheck disable=SC2086
  DAG_NUM_THREADS=16 timeout 300 $b $s $steps $args 2>&1 | tee -a "$out/bench.log"
  if python3 -c 'import torch' 2>/dev/null; then
    # shellcheck disable=SC2086
    timeout 300 python3 bench/moe/torch_moe.py $s $steps $(echo $args | cut -d' ' -f1-5) 2>&1 |
      tee -a "$out/bench.log"
  fi
done
if command -v mpirun >/dev/null; then
  export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
  # shellcheck disable=SC2086
  timeout 300 mpirun -np 4 -x DAG_NUM_THREADS=4 $b 1.0 $steps $args 2>&1 | tee -a "$out/bench.log"
fi
echo "summary:"; grep '^RESULT' "$out/bench.log"
