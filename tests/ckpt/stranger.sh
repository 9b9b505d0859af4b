#!/usr/bin/env bash
# stranger.sh: runs stranger_heat (a program written from docs/fault-tolerance.md alone)
# uninterrupted, then with checkpoints until one rank is killed with SIGKILL after KILL_AT
# seconds, then restarted with DAG_RESTART=1; the restarted run's digest must equal the
# uninterrupted run's, bit for bit.
#   NP=2 NT=8 MIB=16 STEPS=300 EVERY=2 KILL_AT=20 bash tests/ckpt/stranger.sh [build dir]
set -uo pipefail
BUILD=${1:-build}
P=$BUILD/tests/ckpt/stranger_heat
NP=${NP:-2} NT=${NT:-8} MIB=${MIB:-16} STEPS=${STEPS:-300} EVERY=${EVERY:-2}
KILL_AT=${KILL_AT:-20} VICTIM=${VICTIM:-1}
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
CK=$(mktemp -d /tmp/stranger.XXXXXX)
trap 'rm -rf "$CK"' EXIT
run() { mpirun --oversubscribe -np "$NP" "$P" "$NT" "$MIB" "$STEPS"; }
echo "stranger_heat: $NP ranks, $NT tiles of $MIB MiB, $STEPS steps ($(( NT * STEPS + NT )) tasks)"
run >"$CK/ref" 2>"$CK/ref.err" || { cat "$CK/ref.err"; exit 1; }
echo "uninterrupted: $(cat "$CK/ref")"
DAG_CHECKPOINT_DIR="$CK/d" DAG_CHECKPOINT_EVERY=$EVERY DAG_CHECKPOINT_VERBOSE=1 run \
  >"$CK/k" 2>"$CK/k.err" &
mp=$!
sleep "$KILL_AT"
victim=$(awk -v r="$VICTIM" '$1 == "rank" && $2 == r {print $4}' "$CK/k.err")
[ -n "$victim" ] || { echo "no pid for rank $VICTIM"; cat "$CK/k.err"; exit 1; }
kill -9 "$victim"
wait $mp; st=$?
echo "killed rank $VICTIM (pid $victim) after $KILL_AT s: mpirun exit status $st;" \
     "$(grep -c 'checkpoint: rank 0: tasks' "$CK/k.err") checkpoints written by rank 0," \
     "last: $(grep 'checkpoint: rank 0: tasks' "$CK/k.err" | tail -1 | sed 's/.*tasks //')"
[ "$st" != 0 ] || { echo "FAIL: a run with a killed rank ended with status 0"; exit 1; }
ls "$CK/d"
t0=$(date +%s.%N)
DAG_CHECKPOINT_DIR="$CK/d" DAG_CHECKPOINT_EVERY=$EVERY DAG_RESTART=1 run >"$CK/r" 2>"$CK/r.err"
st=$?
t1=$(date +%s.%N)
grep -h "checkpoint" "$CK/r.err" | sed 's/^/    /'
echo "restarted: $(cat "$CK/r") (status $st, $(echo "$t1 - $t0" | bc -l | xargs printf %.1f) s)"
a=$(awk '{print $2}' "$CK/ref"); b=$(awk '{print $2}' "$CK/r")
if [ "$st" = 0 ] && [ -n "$a" ] && [ "$a" = "$b" ]; then echo "PASS: digests equal"; else
  echo "FAIL: digests differ or the restart failed"; cat "$CK/r.err"; exit 1; fi
