#!/usr/bin/env bash
# bench/moe/device.sh: the MoE layer on the 16-core + one-GPU host in one go, in under 6
# minutes (each step below gets what is left of a 330 s budget). Needs no Check, no
# PyTorch, no network. Builds with CUDA (Release, tests and samples off); checks the CUDA
# expert chunks against the sequential reference (bench_moe_check_gpu: tests/moe's
# program) and the distributed layer on 4 ranks (bench_moe_check_mpi); then Zipf s = 0,
# 1.0, 1.5, dynamic against static placement (bench_moe, both in one run, steps
# interleaved) in three set-ups:
#   cpu16  one process, 16 CPU workers (DAG_CUDA=0): static = each expert pinned to a worker
#   gpu    one process, 16 workers and the GPU: forward chunks placed on the GPU or a CPU
#          worker by the runtime (DAG_SCHED, default); static = the same 16 expert groups,
#          one task each (the runtime may put a whole group on the GPU)
#   np4x4  4 ranks x 4 workers (DAG_CUDA=0): static = expert e on rank e mod 4, there on
#          one worker; dynamic moves hot experts' chunks to idle ranks
# Prints a table last. Logs under $OUT (default bench/moe/out).
# Environment: MOE_ARGS (tokens experts d_model d_hidden top_k chunk; default
# "8192 32 256 512 2 0"), STEPS (24), BUILD (build-moe), QUICK=1 (tiny sizes, to try the
# script on a small machine), BUDGET (330 s).
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
out=${OUT:-$PWD/bench/moe/out}
mkdir -p "$out"
[ -f .device/unpack.sh ] && source .device/unpack.sh >/dev/null
start=$(date +%s)
budget=${BUDGET:-330}
left() { echo $((budget - ($(date +%s) - start))); }
build=${BUILD:-build-moe}
args=${MOE_ARGS:-8192 32 256 512 2 0}
steps=${STEPS:-24}
if [ "${QUICK:-0}" = 1 ]; then args="1024 16 64 128 2 0"; steps=4; fi
ncpu=$(nproc)
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DDAG_WITH_CUDA=ON -DDAG_BUILD_TESTS=OFF \
  -DDAG_BUILD_SAMPLES=OFF >"$out/build.log" 2>&1 || { tail -30 "$out/build.log"; exit 1; }
targets="bench_moe"
cmake --build "$build" -j"$ncpu" --target bench_moe >>"$out/build.log" 2>&1 ||
  { tail -30 "$out/build.log"; exit 1; }
# optional parts: the CUDA plugin and GPU check, the MPI plugin and MPI check
for t in dagrt_cuda bench_moe_check_gpu dagrt_mpi bench_moe_check_mpi; do
  cmake --build "$build" -j"$ncpu" --target $t >>"$out/build.log" 2>&1 && targets="$targets $t"
done
echo "built in $(($(date +%s) - start)) s: $targets"
command -v nvidia-smi >/dev/null &&
  nvidia-smi --query-gpu=name,memory.total --format=csv,noheader | tee "$out/device.txt"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
mpi=0
command -v mpirun >/dev/null && [ -x "$build/bench/moe/bench_moe_check_mpi" ] && mpi=1
: >"$out/checks.log"
if [ -x "$build/bench/moe/bench_moe_check_gpu" ]; then
  DAG_SCHED=random DAG_NUM_THREADS=$ncpu timeout 45 "$build/bench/moe/bench_moe_check_gpu" 6 >>"$out/checks.log" 2>&1
  echo "gpu check: exit $? ($(tail -1 "$out/checks.log"))"
fi
if [ $mpi = 1 ]; then
  timeout 30 mpirun --oversubscribe --bind-to none -np 4 -x DAG_NUM_THREADS=4 -x DAG_CUDA=0 \
    "$build/bench/moe/bench_moe_check_mpi" 12 >>"$out/checks.log" 2>&1
  echo "mpi check: exit $? ($(tail -1 "$out/checks.log"))"
fi

b=$build/bench/moe/bench_moe
: >"$out/bench.log"
echo "host: $ncpu cores, load $(cut -d' ' -f1-3 /proc/loadavg); bench_moe s $steps $args" |
  tee -a "$out/bench.log"
runs_left=9
[ $mpi = 1 ] || runs_left=6
bench() { # label, command... : one bench_moe run within its share of what is left
  local label=$1; shift
  local t=$(( $(left) / runs_left )); runs_left=$((runs_left - 1))
  [ $t -gt 90 ] && t=90
  if [ $t -lt 5 ]; then echo "== $label: skipped (time budget)" | tee -a "$out/bench.log"; return; fi
  echo "== $label (timeout $t s)" >>"$out/bench.log"
  timeout $t "$@" 2>&1 | sed "s/^RESULT /RESULT $label /" >>"$out/bench.log"
  grep "^RESULT $label " "$out/bench.log" | tail -1 | grep -q "s=$s" ||
    echo "== $label s=$s: no result (exit or timeout after $t s)" | tee -a "$out/bench.log"
}
for s in 0 1.0 1.5; do
  # shellcheck disable=SC2086
  DAG_CUDA=0 DAG_NUM_THREADS=16 bench cpu16 $b $s $steps $args
  # shellcheck disable=SC2086
  DAG_NUM_THREADS=16 bench gpu $b $s $steps $args
  if [ $mpi = 1 ]; then
    # shellcheck disable=SC2086
    bench np4x4 mpirun --oversubscribe --bind-to none -np 4 -x DAG_CUDA=0 -x DAG_NUM_THREADS=4 \
      $b $s $steps $args
  fi
done
echo "done in $(($(date +%s) - start)) s; log: $out/bench.log"
echo
echo "MoE, ${args%% *} tokens x $(echo "$args" | cut -d' ' -f2) experts, top-2, Zipf s; tok/s of training steps; ratio = dynamic/static throughput; cp = critical-path estimate static/dynamic; ceiling = static placement imbalance; gpu/stp = dynamic tasks on the GPU per step"
printf "%-6s %-4s %10s %10s %6s %9s %9s %5s %7s %7s\n" setup s dyn_tok/s st_tok/s ratio p99dyn_ms p99st_ms cp ceiling gpu/stp
awk '/^RESULT / { lab = $2; for (i = 3; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
  printf "%-6s %-4.1f %10s %10s %6s %9s %9s %5s %7s %7s\n", lab, v["s"], v["dyn_tps"], v["st_tps"],
         v["ratio"], v["dyn_p99_ms"], v["st_p99_ms"], v["cp_ratio"], v["ceiling"], v["gpu_dyn"] }' "$out/bench.log" |
  sort -s -k1,1
