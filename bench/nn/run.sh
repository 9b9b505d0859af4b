#!/usr/bin/env bash
# bench/nn/run.sh: training throughput of libdagnn (samples/nn/fmnist) against PyTorch on
# the CPU, in the same run: the same MLP and CNN, batch size, optimiser, learning rate and
# number of samples; then 1 -> 2 -> 4 data-parallel ranks (mpirun on this host) with the
# all-reduce time left exposed per step, with bucketed overlap and with one bucket at the
# end (no overlap); the ranks split one global batch (strong scaling: the loss curve is
# the same) and, DDP's way, keep BATCH per rank (global batch N x BATCH: weak scaling).
#
# A loaded machine makes single runs noisy (one earlier round gave 1.9x PyTorch, another
# 0.95x), so the runs are interleaved: every round runs each configuration once, in the
# same order (PyTorch, then libdagnn, ...), and REPS rounds are made. Per configuration it
# prints the median samples/s and the spread (min-max over the rounds); the ratio to
# PyTorch is taken within each round (PyTorch's better thread count of that round), and
# the median and spread of those per-round ratios are printed, so a load change between
# rounds moves both sides of a ratio together.
#
#   bench/nn/run.sh [build-dir]      env: REPS (3), EPOCHS (1), LIMIT_MLP (60000),
#                                         LIMIT_CNN (12800), BATCH (64), RANKS ("1 2 4"),
#                                         THREADS (cores), MODELS ("mlp cnn"), DATA (dir),
#                                         FMNIST_ARGS (more fmnist options, e.g. --device cpu),
#                                         PY (python with torch), NN_NO_INSTALL=1,
#                                         COLL_AB=1 (rows with DAG_NN_MPI_COLL=blocking)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=${1:-$root/build}
REPS=${REPS:-3}
EPOCHS=${EPOCHS:-1}
LIMIT_MLP=${LIMIT_MLP:-60000}
LIMIT_CNN=${LIMIT_CNN:-12800}
BATCH=${BATCH:-64}
RANKS=${RANKS:-"1 2 4"}
MODELS=${MODELS:-"mlp cnn"}
THREADS=${THREADS:-$(nproc)}
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1

PY=${PY:-/usr/bin/python3}
if ! $PY -c "import torch" 2>/dev/null && [ "${NN_NO_INSTALL:-0}" != 1 ]; then
  echo "run.sh: installing python3-torch (the anchor)"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO=sudo
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends \
    python3-torch || echo "run.sh: python3-torch could not be installed; no anchor"
fi
have_torch=0
$PY -c "import torch" 2>/dev/null && have_torch=1
[ -x "$build/samples/nn/fmnist" ] || cmake --build "$build" --target fmnist -j2 >/dev/null
fm="$build/samples/nn/fmnist"

field() { # value after $2 on the "final:" line of $1
  grep "^final:" "$1" | sed -E "s|.*$2 ([0-9.]+).*|\\1|"
}
sps() { # the samples/s figure of the "final:" line of $1
  grep "^final:" "$1" | sed -E "s|.* ([0-9.]+) samples/s.*|\\1|"
}
exposed() {
  { grep -o 'exposed [0-9.]* ms/step' "$1" || true; } |
    awk '{s += $2; n++} END {if (n) printf "%.3f\n", s / n; else print "-"}'
}
# median and min-max of the numbers in file $1 (one a line)
stats() {
  sort -g "$1" | awk '{v[NR] = $1} END {
    if (!NR) { printf "- (-)"; exit }
    m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
    f = m < 20 ? "%.2f (%.2f-%.2f)" : "%.0f (%.0f-%.0f)"
    printf f, m, v[1], v[NR] }'
}

echo "# bench/nn/run.sh $(date -u '+%Y-%m-%d %H:%M UTC') on $(hostname): $(nproc) cores, $(uptime | sed 's/.*load/load/')"
echo "# $REPS interleaved rounds; epochs $EPOCHS, batch $BATCH, Adam lr 1e-3; MLP on $LIMIT_MLP samples, CNN on $LIMIT_CNN"
echo "# figures: median (min-max over the rounds); 'x pytorch' is the median of the per-round ratios"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# the configurations of one model, in run order: "key|label|command" (command run by eval)
configs() {
  local model=$1 limit=$LIMIT_MLP
  [ "$model" = cnn ] && limit=$LIMIT_CNN
  local common="--model $model --epochs $EPOCHS --batch $BATCH --limit $limit"
  [ -n "${DATA:-}" ] && common="$common --data $DATA"
  if [ $have_torch = 1 ]; then
    for th in $(echo "$THREADS 1" | tr ' ' '\n' | sort -un); do
      echo "torch$th|pytorch ($th threads)|$PY $here/torch_fmnist.py $common --threads $th"
    done
  fi
  for np in $RANKS; do
    if [ "$np" = 1 ]; then
      echo "dag1|dagnn 1 rank x $THREADS thread(s)|DAG_NUM_THREADS=$THREADS $fm $common ${FMNIST_ARGS:-}"
      [ "$THREADS" != 1 ] &&
        echo "dag1x1|dagnn 1 rank x 1 thread|DAG_NUM_THREADS=1 $fm $common ${FMNIST_ARGS:-}"
      # the baseline of 2 ranks x THREADS/2 with the same threads per rank (twice the
      # cores: the data-parallel speed-up proper, issue 16's 1.7x)
      [ "$THREADS" -ge 4 ] &&
        echo "dag1h|dagnn 1 rank x $((THREADS / 2)) thread(s)|DAG_NUM_THREADS=$((THREADS / 2)) $fm $common ${FMNIST_ARGS:-}"
    else
      local th=$(( THREADS / np > 0 ? THREADS / np : 1 ))
      # --bind-to none: Open MPI binds each of 2 ranks to one core otherwise (its threads
      # would share it); the runtime leaves its workers unpinned when ranks share a node
      local mpi="mpirun --oversubscribe --allow-run-as-root --bind-to none -np $np -x DAG_NUM_THREADS=$th"
      echo "dag$np|dagnn $np ranks, buckets|$mpi $fm $common ${FMNIST_ARGS:-}"
      echo "dag${np}end|dagnn $np ranks, one bucket|$mpi $fm $common ${FMNIST_ARGS:-} --bucket-kb 1000000"
      # DDP's way: the batch per rank stays BATCH (global batch np x BATCH), against 1 rank
      # at BATCH (x 1 rank) and against 1 rank of as many threads per rank (the same cores
      # per replica): weak scaling, what a DDP user sees when adding a device
      echo "dag${np}w|dagnn $np ranks, batch $np x $BATCH|$mpi $fm ${common/--batch $BATCH/--batch $((np * BATCH))} ${FMNIST_ARGS:-}"
      # COLL_AB=1: the exchange through blocking MPI_Allreduce calls on the progress thread
      [ "${COLL_AB:-0}" = 1 ] &&
        echo "dag${np}b|dagnn $np ranks, blocking all-reduce|$mpi -x DAG_NN_MPI_COLL=blocking $fm $common ${FMNIST_ARGS:-}"
    fi
  done
  true
}

for model in $MODELS; do
  mapfile -t C < <(configs $model)
  for r in $(seq "$REPS"); do
    best=""
    for c in "${C[@]}"; do
      key=${c%%|*} rest=${c#*|}
      cmd=${rest#*|}
      eval "$cmd" > "$tmp/out" 2>&1 || { echo "run.sh: failed: $cmd"; tail -5 "$tmp/out"; exit 1; }
      v=$(sps "$tmp/out")
      echo "$v" >> "$tmp/$model.$key.sps"
      field "$tmp/out" "test accuracy" >> "$tmp/$model.$key.acc"
      exposed "$tmp/out" >> "$tmp/$model.$key.exp"
      if [[ $key == torch* ]]; then
        if [ -z "$best" ] || awk -v a="$v" -v b="$best" 'BEGIN { exit !(a > b) }'; then best=$v; fi
      else
        [ -n "$best" ] && awk -v a="$v" -v b="$best" 'BEGIN { print a / b }' >> "$tmp/$model.$key.ratio"
        [ "$key" = dag1 ] && one=$v
        [ "$key" = dag1h ] && half=$v
        [[ $key == dag[2-9]* ]] &&
          awk -v a="$v" -v b="$one" 'BEGIN { print a / b }' >> "$tmp/$model.$key.scale"
        [[ $key == dag2 || $key == dag2w ]] && [ -n "${half:-}" ] &&
          awk -v a="$v" -v b="$half" 'BEGIN { print a / b }' >> "$tmp/$model.$key.same"
      fi
    done
    echo "# $model: round $r of $REPS done ($(uptime | sed 's/.*load/load/'))"
  done
  for c in "${C[@]}"; do
    key=${c%%|*} rest=${c#*|}
    label=${rest%%|*}
    line=$(printf "%-4s %-30s %s samples/s  test acc %s" $model "$label" \
      "$(stats "$tmp/$model.$key.sps")" "$(stats "$tmp/$model.$key.acc")")
    [ -f "$tmp/$model.$key.ratio" ] && line="$line  x pytorch $(stats "$tmp/$model.$key.ratio")"
    [ -f "$tmp/$model.$key.scale" ] && line="$line  x 1 rank $(stats "$tmp/$model.$key.scale")"
    [ -f "$tmp/$model.$key.same" ] &&
      line="$line  x 1 rank of as many threads $(stats "$tmp/$model.$key.same")"
    if [[ $key == dag[2-9]* ]]; then
      grep -v -- - "$tmp/$model.$key.exp" > "$tmp/e" || true
      line="$line  all-reduce exposed $(stats "$tmp/e") ms/step"
    fi
    echo "$line"
  done
done
