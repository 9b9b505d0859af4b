#!/usr/bin/env bash
# bench/moe/local.sh: dynamic against static placement on a small shared machine, where
# wall time is noisy: REPS rounds, each running every (set-up, s) once, interleaved, and
# the median over rounds of each figure. Set-ups: one process with 2 workers; 2 and 4
# ranks of one worker each (experts spread over ranks: the per-rank imbalance shows even
# when the ranks share 2 cores; DAG_SPIN_US=0 so idle ranks give their core away); one
# process with 16 workers (on 2 cores only the critical-path estimate means anything).
# Figures: wall-time throughput ratio, paired median, p99 ratio, critical-path estimate
# (busiest worker's task CPU per step, static / dynamic), the placement's ceiling.
# Usage: bench/moe/local.sh [build dir (build)] ; REPS (3), STEPS (20).
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
b=${1:-build}/bench/moe/bench_moe
reps=${REPS:-3}
steps=${STEPS:-20}
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
log=$(mktemp)
mp="mpirun --oversubscribe -x DAG_NUM_THREADS=1 -x DAG_SPIN_US=0"
echo "$(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg), $(date -u)"
for r in $(seq "$reps"); do
  for s in 0 1.0 1.5; do
    DAG_NUM_THREADS=2 nice "$b" $s "$steps" 2048 32 128 256 2 0 2>&1 | sed -n 's/^RESULT /RESULT w2 /p' >>"$log"
    nice $mp -np 2 "$b" $s "$steps" 2048 32 128 256 2 0 2>&1 | sed -n 's/^RESULT /RESULT np2 /p' >>"$log"
    nice $mp -np 4 "$b" $s "$steps" 2048 32 128 256 2 0 2>&1 | sed -n 's/^RESULT /RESULT np4 /p' >>"$log"
    DAG_NUM_THREADS=16 DAG_SPIN_US=0 nice "$b" $s $((steps / 2)) 8192 32 128 256 2 0 2>&1 |
      sed -n 's/^RESULT /RESULT w16 /p' >>"$log"
  done
  echo "round $r done, load $(cut -d' ' -f1-3 /proc/loadavg), $(date -u +%H:%M:%S)"
done
echo "| set-up | s | dyn tok/s | static tok/s | dyn/static | paired | p99 static/dyn | critical path static/dyn | ceiling |"
echo "|---|---|---|---|---|---|---|---|---|"
awk '
function med(str,   a, n, i, j, t) { n = split(str, a, " ");
  for (i = 2; i <= n; i++) for (j = i; j > 1 && a[j-1] + 0 > a[j] + 0; j--) { t = a[j]; a[j] = a[j-1]; a[j-1] = t }
  return a[int((n + 1) / 2)] }
/^RESULT / { k = $2 " " $3; if (!(k in seen)) { seen[k] = 1; order[++n] = k }
  for (i = 4; i <= NF; i++) { split($i, kv, "="); f[k, kv[1]] = f[k, kv[1]] " " kv[2] } }
END { for (i = 1; i <= n; i++) { k = order[i]; split(k, ks, " "); sub("s=", "", ks[2]);
  printf "| %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", ks[1], ks[2], med(f[k, "dyn_tps"]),
    med(f[k, "st_tps"]), med(f[k, "ratio"]), med(f[k, "paired"]), med(f[k, "p99_ratio"]),
    med(f[k, "cp_ratio"]), med(f[k, "ceiling"]) } }' "$log" | sort -t'|' -k2,2 -s
echo "(raw: $log)"
