#!/usr/bin/env bash
# device.sh: issue 18's figures on the 16-core GPU host (Ubuntu 24.04, no Check, no
# StarPU, LLVM libomp only if installed): builds the benchmarks of this folder (Release,
# no tests, no CUDA, no MPI) and runs them pinned to 2 cores and on all 16, in phases,
# so that each call of the device tool stays under 10 minutes:
#
#   bash bench/task_overhead/device.sh overhead        # ~2 min: per-task cost, 2 and 16 thr
#   bash bench/task_overhead/device.sh metg            # < 4 min: METG, 16 threads
#   bash bench/task_overhead/device.sh metg2           # < 4 min: METG, pinned to 2 cores
#   bash bench/task_overhead/device.sh tiled2          # ~6 min: Cholesky/LU/GEMM, 2 cores
#   bash bench/task_overhead/device.sh tiled16         # ~7 min: Cholesky/LU/GEMM, 16 cores
#   bash bench/task_overhead/device.sh lead            # < 8 min: the lead's one call (below)
#
# `lead` (also what no argument runs) is one device call of under 8 minutes: the build,
# the per-task patterns (pinned to 2 cores: 1 and 2 threads; all cores: 16 threads), then
# tiled Cholesky / LU / GEMM pinned to 2 cores (N = 4096, 8192) and on 16 threads (N =
# 8192 and 16384, nb 256 / 512); each step starts only while the time left (BUDGET_S,
# default 450 s from the start) covers its estimate, else it is logged as skipped. All
# logs end up in one tarball, $OUT/task_overhead-device.tar.gz (summary.txt inside; the
# summary is also printed). LLVM libomp is an anchor only where clang with libomp is
# installed (Ubuntu: libomp-dev); cmake.log says whether it was found.
# Logs go to $OUT (the device tool's output folder) or bench/task_overhead/device-out.
# Override the pinned cores with PIN (default 2,3), repetitions with REPS / RUNS.
set -euo pipefail
cd "$(dirname "$0")/../.."
OUT=${OUT:-bench/task_overhead/device-out}
PIN=${PIN:-2,3}
REPS=${REPS:-1}
RUNS=${RUNS:-3}
B=build-device-to
D=$B/bench/task_overhead
phases=("$@")
[ ${#phases[@]} -eq 0 ] && phases=(lead)
T0=$(date +%s)
BUDGET_S=${BUDGET_S:-450}
if [ "${phases[*]}" = lead ]; then
  TARBALL=$OUT/task_overhead-device.tar.gz
  OUT=$OUT/task_overhead-device
fi
mkdir -p "$OUT"
pack() {
  [ -n "${TARBALL:-}" ] || return 0
  tar czf "$TARBALL" -C "$(dirname "$OUT")" "$(basename "$OUT")" && rm -rf "$OUT"
  echo "device.sh: logs in $TARBALL"
}
trap pack EXIT # also when the build fails
export OPENBLAS_NUM_THREADS=1
step() { printf '\n==== %s (%s)\n' "$*" "$(date +%T)" | tee -a "$OUT/summary.txt"; }

{ nproc; lscpu | grep -E 'Model name|Socket|NUMA node\(s\)|Thread\(s\) per core' || true
  uptime; gcc --version | head -1; } > "$OUT/machine.txt" 2>&1
step "build"
cmake -S . -B $B -DCMAKE_BUILD_TYPE=Release -DDAG_BUILD_TESTS=OFF -DDAG_BUILD_SAMPLES=OFF \
  -DDAG_WITH_CUDA=OFF -DDAG_WITH_MPI=OFF > "$OUT/cmake.log" 2>&1
targets="task_overhead tiled"; [ "${phases[*]}" = lead ] || targets="$targets metg"
cmake --build $B -j"$(nproc)" --target $targets > "$OUT/build.log" 2>&1
grep -E 'skipped|not found' "$OUT/cmake.log" | tee -a "$OUT/summary.txt" || true

# run "$@" when ESTIMATE seconds still fit the budget, else log it as skipped
fits() {
  local est=$1; shift
  local left=$((BUDGET_S - ($(date +%s) - T0)))
  if [ "$est" -gt "$left" ]; then
    printf 'skipped (needs ~%ss, %ss left): %s\n' "$est" "$left" "$*" | tee -a "$OUT/summary.txt"
    return 0
  fi
  # an estimate that was too low still ends with the budget (the whole process group)
  timeout -k 5 "$left" "$@" 2>&1 | tee -a "$OUT/summary.txt" ||
    echo "(failed or cut at the budget: $*)" | tee -a "$OUT/summary.txt"
}

for ph in "${phases[@]}"; do
  case $ph in
  lead)
    step "per-task cost pinned to $PIN (1 and 2 threads)"
    fits 60 taskset -c "$PIN" $D/task_overhead --reps 7 --runs 3 --timeout 60 --impls dagcc,libgomp,libomp --quiet
    step "per-task cost, 16 threads (one run: libgomp's independent row alone takes ~20 s)"
    fits 45 $D/task_overhead --threads 16 --reps 3 --runs 1 --timeout 60 --impls dagcc,libgomp,libomp --quiet
    step "tiled, pinned to $PIN, 2 threads, N = 4096 (3 runs)"
    fits 50 taskset -c "$PIN" $D/tiled --algs cholesky,lu,gemm --sizes 4096 --threads 2 \
      --reps 1 --runs 3
    step "tiled, 16 threads, N = 8192 (3 runs)"
    fits 60 $D/tiled --algs cholesky,lu,gemm --sizes 8192 --threads 16 --reps 1 --runs 3
    step "tiled, pinned to $PIN, 2 threads, N = 8192 (1 run)"
    fits 100 taskset -c "$PIN" $D/tiled --algs cholesky,lu,gemm --sizes 8192 --threads 2 \
      --reps 1 --runs 1
    step "tiled, 16 threads, N = 16384, nb 512 (1 run)"
    fits 60 $D/tiled --algs cholesky,lu --sizes 16384 --nb 512 --threads 16 --reps 1 --runs 1
    fits 100 $D/tiled --algs gemm --sizes 16384 --nb 512 --threads 16 --reps 1 --runs 1 ;;
  overhead)
    step "task_overhead pinned to $PIN (1 and 2 threads), run 1"
    taskset -c "$PIN" $D/task_overhead --reps 9 --runs 3 --quiet | tee -a "$OUT/summary.txt"
    step "task_overhead pinned to $PIN, run 2"
    taskset -c "$PIN" $D/task_overhead --reps 9 --runs 3 --quiet | tee -a "$OUT/summary.txt"
    step "task_overhead on all cores, 16 threads"
    $D/task_overhead --threads 16 --reps 9 --runs 3 --quiet | tee -a "$OUT/summary.txt" ;;
  metg)
    # a run past --timeout counts as below 50% (its efficiency bounded from above) and
    # --budget stops starting smaller sizes: the phase stays under 4 minutes with the build
    step "METG, 16 threads"
    $D/metg --threads 16 --reps 3 --target-ms 20 --timeout 4 --budget 150 --quiet |
      tee -a "$OUT/summary.txt" ;;
  metg2)
    step "METG pinned to $PIN, 2 threads"
    taskset -c "$PIN" $D/metg --threads 2 --reps 3 --target-ms 20 --timeout 6 --budget 180 \
      --quiet | tee -a "$OUT/summary.txt" ;;
  tiled2)
    step "tiled, pinned to $PIN, 2 threads"
    taskset -c "$PIN" $D/tiled --algs cholesky,lu --sizes 4096,8192 --threads 2 \
      --reps "$REPS" --runs "$RUNS" | tee -a "$OUT/summary.txt"
    taskset -c "$PIN" $D/tiled --algs gemm --sizes 4096 --threads 2 \
      --reps "$REPS" --runs "$RUNS" | tee -a "$OUT/summary.txt" ;;
  tiled16)
    step "tiled, 16 threads"
    $D/tiled --algs cholesky,lu,gemm --sizes 4096,8192 --threads 16 \
      --reps "$REPS" --runs "$RUNS" | tee -a "$OUT/summary.txt"
    $D/tiled --algs cholesky,lu --sizes 16384 --nb 512 --threads 16 \
      --reps "$REPS" --runs "$RUNS" | tee -a "$OUT/summary.txt" ;;
  *) echo "device.sh: unknown phase $ph (lead, overhead, metg, metg2, tiled2, tiled16)" >&2
     exit 2 ;;
  esac
done
step "done after $(($(date +%s) - T0)) s"
