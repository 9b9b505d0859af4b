#!/usr/bin/env bash
# bench/nn/run.sh: training throughput of libdagnn (samples/nn/fmnist) against PyTorch on
# the CPU, in the same run: the same MLP and CNN, batch size, optimiser, learning rate and
# number of samples; then 1 -> 2 -> 4 data-parallel ranks (mpirun on this host) with the
# all-reduce time left exposed per step, with bucketed overlap and with one bucket at the
# end (no overlap). Prints samples/s, test accuracy and the ratios.
#
#   bench/nn/run.sh [build-dir]      env: EPOCHS (1), LIMIT_MLP (60000), LIMIT_CNN (12800),
#                                         BATCH (64), RANKS ("1 2 4"), THREADS (cores),
#                                         FMNIST_ARGS (more fmnist options, e.g. --device cpu),
#                                         PY (python with torch), NN_NO_INSTALL=1
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=${1:-$root/build}
EPOCHS=${EPOCHS:-1}
LIMIT_MLP=${LIMIT_MLP:-60000}
LIMIT_CNN=${LIMIT_CNN:-12800}
BATCH=${BATCH:-64}
RANKS=${RANKS:-"1 2 4"}
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
ratio() { if [ -n "$2" ] && [ "$2" != 0 ]; then printf "%.2f" "$(echo "$1 / $2" | bc -l)"; else printf -- "-"; fi; }
cmake --build "$build" --target fmnist -j2 >/dev/null
fm="$build/samples/nn/fmnist"

field() { # value after $2 on the "final:" line of $1
  grep "^final:" "$1" | sed -E "s|.*$2 ([0-9.]+).*|\\1|"
}
sps() { # the samples/s figure of the "final:" line of $1
  grep "^final:" "$1" | sed -E "s|.* ([0-9.]+) samples/s.*|\\1|"
}
exposed() {
  grep -o 'exposed [0-9.]* ms/step' "$1" | awk '{s += $2; n++} END {if (n) printf "%.3f", s / n; else printf "-"}'
}

echo "# bench/nn/run.sh $(date -u '+%Y-%m-%d %H:%M UTC') on $(hostname): $(nproc) cores, $(uptime | sed 's/.*load/load/')"
echo "# epochs $EPOCHS, batch $BATCH, Adam lr 1e-3; MLP on $LIMIT_MLP samples, CNN on $LIMIT_CNN"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for model in mlp cnn; do
  limit=$LIMIT_MLP
  [ $model = cnn ] && limit=$LIMIT_CNN
  common=(--model $model --epochs "$EPOCHS" --batch "$BATCH" --limit "$limit")
  [ -n "${DATA:-}" ] && common+=(--data "$DATA")
  t_sps="" t_acc="-"
  if [ $have_torch = 1 ]; then
    # the anchor is PyTorch's better figure of $THREADS threads and 1 thread
    for th in $(echo "$THREADS 1" | tr ' ' '\n' | sort -un); do
      $PY "$here/torch_fmnist.py" "${common[@]}" --threads "$th" > "$tmp/torch" 2>&1
      r=$(sps "$tmp/torch") a=$(field "$tmp/torch" "test accuracy")
      printf "%-4s %-26s %9s samples/s  test acc %s\n" $model "pytorch ($th threads)" "$r" "$a"
      if [ -z "$t_sps" ] || [ "$(echo "$r > $t_sps" | bc)" = 1 ]; then t_sps=$r t_acc=$a; fi
    done
  fi
  one=""
  for np in $RANKS; do
    for mode in overlap end single; do
      extra=()
      [ $mode = end ] && extra=(--bucket-kb 1000000)
      [ $mode != overlap ] && [ "$np" = 1 ] && [ $mode = end ] && continue
      [ $mode = single ] && { [ "$np" != 1 ] || [ "$THREADS" = 1 ]; } && continue
      if [ "$np" = 1 ]; then
        th=$THREADS
        [ $mode = single ] && th=1
        DAG_NUM_THREADS=$th "$fm" "${common[@]}" ${FMNIST_ARGS:-} "${extra[@]}" > "$tmp/dag" 2>&1
      else
        mpirun --oversubscribe --allow-run-as-root -np "$np" \
          -x DAG_NUM_THREADS=$(( THREADS / np > 0 ? THREADS / np : 1 )) \
          "$fm" "${common[@]}" ${FMNIST_ARGS:-} "${extra[@]}" > "$tmp/dag" 2>&1
      fi
      rate=$(sps "$tmp/dag")
      acc=$(field "$tmp/dag" "test accuracy")
      [ "$np" = 1 ] && one=$rate
      label="dagnn $np rank(s)"
      [ "$np" = 1 ] && label="dagnn 1 rank x $th thread(s)"
      [ "$np" != 1 ] && label="$label, $([ $mode = end ] && echo 'one bucket' || echo 'buckets')"
      printf "%-4s %-26s %9s samples/s  test acc %s  x%s pytorch  x%s 1 rank  all-reduce exposed %s ms/step\n" \
        $model "$label" "$rate" "$acc" "$(ratio "$rate" "$t_sps")" \
        "$(ratio "$rate" "$one")" "$(exposed "$tmp/dag")"
    done
  done
done
