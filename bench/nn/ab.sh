#!/usr/bin/env bash
# bench/nn/ab.sh: samples/s of samples/nn/fmnist from two build trees (before / after a
# change), interleaved in REPS rounds (A then B for each model, every round) so that the
# load of a shared machine moves both alike; prints the medians and the median of the
# per-round ratios B/A. Each build's own libraries are used (LD_LIBRARY_PATH over RUNPATH).
#   bench/nn/ab.sh build-before build-after   env: REPS (5), THREADS (2), LIMIT_MLP (12800),
#                                             LIMIT_CNN (3200), ARGS (more fmnist options)
set -euo pipefail
A=$(cd "$1" && pwd) B=$(cd "$2" && pwd)
REPS=${REPS:-5} THREADS=${THREADS:-2}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
run() { # build model -> samples/s
  local lim=${LIMIT_MLP:-12800}
  [ "$2" = cnn ] && lim=${LIMIT_CNN:-3200}
  LD_LIBRARY_PATH="$1/runtime/nn:$1/runtime" DAG_NUM_THREADS=$THREADS \
    "$1/samples/nn/fmnist" --model "$2" --epochs 1 --limit "$lim" --device cpu ${ARGS:-} |
    grep '^final:' | sed -E 's/.* ([0-9.]+) samples\/s.*/\1/'
}
med() { sort -g | awk '{v[NR]=$1} END {m = NR % 2 ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2; printf "%.3g (%.3g-%.3g)", m, v[1], v[NR]}'; }
echo "# ab.sh $(date -u '+%F %H:%M UTC') $(hostname) $(nproc) cores, $THREADS threads, $(uptime | sed 's/.*load/load/')"
for r in $(seq "$REPS"); do
  for model in mlp cnn; do
    a=$(run "$A" $model) b=$(run "$B" $model)
    echo "$a" >> "$tmp/$model.a"; echo "$b" >> "$tmp/$model.b"
    awk -v a="$a" -v b="$b" 'BEGIN { print b / a }' >> "$tmp/$model.r"
  done
  echo "# round $r done ($(uptime | sed 's/.*load/load/'))"
done
for model in mlp cnn; do
  echo "$model: A $(med < "$tmp/$model.a") samples/s, B $(med < "$tmp/$model.b") samples/s, B/A per round $(med < "$tmp/$model.r")"
done
