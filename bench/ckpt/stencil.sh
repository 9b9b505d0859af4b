#!/usr/bin/env bash
# stencil.sh: checkpoint overhead on a run long enough to write checkpoints, and restart
# after kill -9 (bench/RESULTS.md, "Checkpoint/restart: a long run"). bench_stencil (tiled
# Jacobi, two grids of (T*NB)^2 doubles, every tile registered) runs REPS times in each
# configuration, interleaved:
#   off   no DAG_CHECKPOINT_DIR          e5 / e15 / e60   DAG_CHECKPOINT_EVERY=5 / 15 / 60
# then, once: a run with DAG_CHECKPOINT_EVERY=$KEVERY killed with SIGKILL after KILL_AT
# seconds, restarted with DAG_RESTART=1: restart time, the sweeps redone (work lost) and
# the digest (must equal the uninterrupted runs'). Prints medians and overhead in %.
#   T=8 NB=256 SWEEPS=5000 REPS=2 KILL_AT=60 bash bench/ckpt/stencil.sh [build dir]
set -euo pipefail
BUILD=${1:-build}
B=${B:-$BUILD/bench/ckpt/bench_stencil} # B=/path/bench_stencil: a frozen copy
T=${T:-8} NB=${NB:-256} SWEEPS=${SWEEPS:-5000} CHECK=${CHECK:-20} REPS=${REPS:-2}
KILL_AT=${KILL_AT:-60} KEVERY=${KEVERY:-15} CFGS=${CFGS:-"off e5 e15 e60"}
CK=$(mktemp -d /tmp/bench_stencil.XXXXXX)
trap 'rm -rf "$CK"' EXIT
declare -A W C N
digests=""
mib=$(( 2 * T * T * NB * NB * 8 / 1048576 ))
echo "bench_stencil: ${T}x${T} tiles of ${NB}^2 doubles, 2 grids ($mib MiB registered)," \
     "$SWEEPS sweeps, $REPS reps; $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
one() { # config, env...
  local cfg=$1; shift
  rm -rf "$CK/d"
  env "$@" DAG_CHECKPOINT_VERBOSE=1 /usr/bin/time -f "cpu %U %S" -o "$CK/cpu" \
      "$B" "$T" "$NB" "$SWEEPS" "$CHECK" >"$CK/out" 2>"$CK/err" || { cat "$CK/err"; exit 1; }
  local w c d n
  w=$(awk '/^time/ {print $4}' "$CK/out"); d=$(awk '/^time/ {print $6}' "$CK/out")
  c=$(awk '/^cpu/ {print $2 + $3}' "$CK/cpu")
  n=$(grep -c "checkpoint: rank 0: tasks" "$CK/err" || true)
  W[$cfg]+="$w "; C[$cfg]+="$c "; N[$cfg]+="$n "
  digests+="$d "
  echo "  $cfg: process $w s, cpu $c s, checkpoints written $n, digest $d"
}
for rep in $(seq "$REPS"); do
  for cfg in $CFGS; do
    case $cfg in
      off) one off ;;
      e*) one "$cfg" DAG_CHECKPOINT_DIR="$CK/d" DAG_CHECKPOINT_EVERY="${cfg#e}" ;;
    esac
  done
done
median() { tr ' ' '\n' | grep . | sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
bw=$(median <<<"${W[off]}"); bc_=$(median <<<"${C[off]}")
echo "medians (process wall, process cpu) and overhead against off:"
for cfg in $CFGS; do
  m=$(median <<<"${W[$cfg]}"); c=$(median <<<"${C[$cfg]}")
  printf "  %-4s wall %8.2f s %+6.1f%%   cpu %8.2f s %+6.1f%%   checkpoints: %s\n" "$cfg" \
    "$m" "$(echo "($m / $bw - 1) * 100" | bc -l)" "$c" "$(echo "($c / $bc_ - 1) * 100" | bc -l)" \
    "${N[$cfg]}"
done
# kill -9 and restart
rm -rf "$CK/d"
DAG_CHECKPOINT_DIR="$CK/d" DAG_CHECKPOINT_EVERY=$KEVERY DAG_CHECKPOINT_VERBOSE=1 \
  "$B" "$T" "$NB" "$SWEEPS" "$CHECK" >"$CK/kout" 2>"$CK/kerr" &
pid=$!
sleep "$KILL_AT"
kill -9 $pid; wait $pid 2>/dev/null || true
ks=$(awk '/^sweep/ {s=$2; t=$3} END {print s+0, t+0}' "$CK/kout")
nck=$(grep -c "checkpoint: rank 0: tasks" "$CK/kerr" || true)
echo "killed after ${KILL_AT} s (DAG_CHECKPOINT_EVERY=$KEVERY): last sweep reported $ks s; $nck checkpoints written"
t0=$(date +%s.%N)
DAG_CHECKPOINT_DIR="$CK/d" DAG_CHECKPOINT_EVERY=$KEVERY DAG_RESTART=1 \
  "$B" "$T" "$NB" "$SWEEPS" "$CHECK" >"$CK/rout" 2>"$CK/rerr"
t1=$(date +%s.%N)
skipped=$(sed -n 's/.*restarted from .*: \([0-9]*\) tasks skipped.*/\1/p' "$CK/rerr" | head -1)
grep -h "checkpoint" "$CK/rerr" | head -3 | sed 's/^/    /'
rd=$(awk '/^time/ {print $6}' "$CK/rout")
resumed=$(( (${skipped:-0} - T * T) / (T * T) ))
[ "$resumed" -lt 0 ] && resumed=0
# when the killed run had finished sweep `resumed` (its progress lines, every CHECK sweeps)
tres=$(awk -v s="$resumed" '/^sweep/ && $2 <= s {t=$3} END {print t+0}' "$CK/kout")
# when the restarted run got back to the last sweep the killed one reported
back=$(awk -v s="${ks%% *}" '/^sweep/ && $2 >= s {print $3; exit}' "$CK/rout")
echo "restart: $skipped flow tasks skipped: resumes after sweep $resumed; whole restarted" \
     "run $(echo "$t1 - $t0" | bc -l | xargs printf %.2f) s; reached sweep ${ks%% *} (the killed" \
     "run's last report, at ${ks##* } s) after ${back:-?} s; digest $rd"
echo "work lost: at most $(echo "$KILL_AT - $tres" | bc -l | xargs printf %.1f) s of computing (the killed run had" \
     "reported sweep <= $resumed at ${tres} s and was killed at ${KILL_AT} s)"
digests+="$rd "
nd=$(tr ' ' '\n' <<<"$digests" | grep . | sort -u | wc -l)
echo "distinct digests: $nd (must be 1)"
[ "$nd" = 1 ]
