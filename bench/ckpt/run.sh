#!/usr/bin/env bash
# run.sh: checkpoint overhead and restart time (bench/RESULTS.md, "Checkpoint/restart").
# Runs bench_ckpt (tiled Cholesky) REPS times in each configuration, interleaved:
#   off      no DAG_CHECKPOINT_DIR
#   default  DAG_CHECKPOINT_DIR set, DAG_CHECKPOINT_EVERY at its default (60 s)
#   every1   DAG_CHECKPOINT_EVERY=1
#   every0   DAG_CHECKPOINT_EVERY=0 (every cut is written)
#   restart  DAG_RESTART=1 on the checkpoints every0 left (newest cut)
# and prints medians and ratios to `off`. All digests must be equal.
#   NP=2 NT=16 NB=256 REPS=5 bash bench/ckpt/run.sh [build dir]
# CONFIGS="off default" runs only those (a long run at the default period, for example).
set -euo pipefail
BUILD=${1:-build}
B=$BUILD/bench/ckpt/bench_ckpt
NP=${NP:-2} NT=${NT:-16} NB=${NB:-256} REPS=${REPS:-5}
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
CK=$(mktemp -d /tmp/bench_ckpt.XXXXXX)
trap 'rm -rf "$CK"' EXIT
launch() {
  if [ "$NP" -gt 1 ]; then mpirun --oversubscribe --allow-run-as-root -np "$NP" "$B" "$NT" "$NB"
  else "$B" "$NT" "$NB"; fi
}
declare -A T R C
digests=""
one() { # config, env...
  local cfg=$1; shift
  local out
  out=$(env "$@" DAG_CHECKPOINT_VERBOSE=1 /usr/bin/time -f "cpu %U %S" -o "$CK/cpu" \
        bash -c "$(declare -f launch); B=$B NP=$NP NT=$NT NB=$NB; launch" 2>"$CK/err")
  local t r d c
  c=$(awk '/^cpu/ {print $2 + $3}' "$CK/cpu")
  C[$cfg]+="$c "
  t=$(awk '/^time/ {print $2}' <<<"$out"); r=$(awk '/^time/ {print $4}' <<<"$out")
  d=$(awk '/^time/ {print $6}' <<<"$out")
  [ -n "$t" ] || { echo "run $cfg failed:"; cat "$CK/err"; exit 1; }
  T[$cfg]+="$t "; R[$cfg]+="$r "
  digests+="$d "
  local w; w=$(grep -c "checkpoint: rank 0: tasks" "$CK/err" || true)
  echo "  $cfg: factorisation $t s, process $r s (cpu $c s), checkpoints written by rank 0: $w, digest $d"
}
echo "bench_ckpt: np=$NP, ${NT}x${NT} tiles of ${NB}^2 doubles ($(( NT*NB ))^2 matrix), $REPS reps"
CONFIGS=${CONFIGS:-off default every1 every0 restart}
for rep in $(seq "$REPS"); do
  for c in $CONFIGS; do
    case $c in
      off) one off ;;
      default) rm -rf "$CK/d"; one default DAG_CHECKPOINT_DIR="$CK/d" ;;
      every1) rm -rf "$CK/d"; one every1 DAG_CHECKPOINT_DIR="$CK/d" DAG_CHECKPOINT_EVERY=1 ;;
      every0) rm -rf "$CK/d"; one every0 DAG_CHECKPOINT_DIR="$CK/d" DAG_CHECKPOINT_EVERY=0 ;;
      restart) one restart DAG_CHECKPOINT_DIR="$CK/d" DAG_CHECKPOINT_EVERY=0 DAG_RESTART=1
               grep -h "restarted from" "$CK/err" | head -1 | sed 's/^/    /' ;;
      *) echo "run.sh: unknown configuration $c" >&2; exit 2 ;;
    esac
  done
done
median() { tr ' ' '\n' | grep . | sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
base=$(median <<<"${T[off]}")
baser=$(median <<<"${R[off]}")
basec=$(median <<<"${C[off]}")
echo "medians (factorisation wall / whole process wall / process cpu) and ratios to off:"
for c in $CONFIGS; do
  m=$(median <<<"${T[$c]}"); mr=$(median <<<"${R[$c]}"); mc=$(median <<<"${C[$c]}")
  printf "  %-8s %8.4f s %6.3fx   process %8.4f s %6.3fx   cpu %8.3f s %6.3fx\n" "$c" \
    "$m" "$(awk -v a="$m" -v b="$base" 'BEGIN { print a / b }')" \
    "$mr" "$(awk -v a="$mr" -v b="$baser" 'BEGIN { print a / b }')" \
    "$mc" "$(awk -v a="$mc" -v b="$basec" 'BEGIN { print a / b }')"
done
nd=$(tr ' ' '\n' <<<"$digests" | grep . | sort -u | wc -l)
echo "distinct digests: $nd (must be 1)"
[ "$nd" = 1 ]
