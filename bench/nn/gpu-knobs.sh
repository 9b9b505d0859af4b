#!/usr/bin/env bash
# bench/nn/gpu-knobs.sh: where the time of a training step on one GPU goes, by settings
# (not in CI). For each model at each batch: the cuBLAS loop, then dagnn with each line of
# VARIANTS as its environment, interleaved ROUNDS times; each dagnn run prints its samples/s
# ("final:") and, with DAG_NN_STATS=1, the host's time per step waiting for the step
# DAG_NN_INFLIGHT back and recording and submitting. Then one traced epoch per model whose
# training steps are listed in order: each step's task on its worker and on the GPU, in us
# from the first one shown, so the gaps between steps can be read. Builds through
# gpu-profile.sh; carry fashion-mnist-subset.
#   env: MODELS (mlp cnn), BATCHES (64 256), EPOCHS (3), ROUNDS (2), VARIANTS (below)
set -uo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
build=${BUILD:-$root/build-nn-device}
OUT=${OUT:-/tmp}
fm=$(BUILD=$build BUILD_ONLY=1 bash "$root/bench/nn/gpu-profile.sh" | tail -1)
[ -x "$fm" ] || { echo "gpu-knobs.sh: build failed"; exit 1; }
DATA=${DATA:-$root/fashion-mnist-subset}
VARIANTS=${VARIANTS:-"DAG_NN_STATS=1
DAG_NN_STATS=1 DAG_CUDA_WAIT_ALL=1
DAG_NN_STATS=1 DAG_NN_GRAPH=0
DAG_NN_STATS=1 DAG_NN_INFLIGHT=4
DAG_NN_STATS=1 DAG_SPIN_US=2000
DAG_NN_STATS=1 DAG_CUDA_WRITEBACK=lazy
DAG_NN_STATS=1 DAG_NN_TOKEN_TASK=1"}
fin() { grep '^final:' | sed -E 's/.* ([0-9.]+) samples\/s.*/\1/'; }
for model in ${MODELS:-mlp cnn}; do
  for bs in ${BATCHES:-64 256}; do
    args=(--model "$model" --epochs "${EPOCHS:-3}" --batch "$bs" --data "$DATA")
    for r in $(seq "${ROUNDS:-2}"); do
      a=$("$build/cublas_fmnist" "${args[@]}" 2>&1 | fin)
      echo "== $model b$bs round $r: cuBLAS loop $a samples/s"
      while IFS= read -r v; do
        o=$(env $v "$fm" "${args[@]}" --device cuda 2>&1)
        d=$(echo "$o" | fin)
        awk -v v="$v" -v a="$a" -v d="$d" 'BEGIN { printf "   %-48s %8.0f  %.2fx\n", v, d, d / a }'
        echo "$o" | grep '^dagnn: .*host per step' | sed 's/^/      /'
        echo "$o" | grep '^gpu per step' | tail -1 | sed 's/^/      /'
      done <<<"$VARIANTS"
    done
    DAG_TRACE=$OUT/knobs.$model.$bs.json "$fm" --model "$model" --epochs 1 --batch "$bs" \
      --data "$DATA" --device cuda >/dev/null 2>&1
    python3 - "$OUT/knobs.$model.$bs.json" <<'PY'
import json, sys
ev = json.load(open(sys.argv[1]))['traceEvents']
def spans(cat):
    return sorted((e['ts'], e['dur'], e.get('tid')) for e in ev
                  if e.get('cat') == cat and e['name'].startswith('nn.step'))
host, dev = spans('task'), spans('device')
print("   traced: %d step tasks, %d device spans" % (len(host), len(dev)))
if len(host) > 40 and len(dev) > 40:
    mid = len(host) // 2
    t0 = host[mid][0]
    for h, d in zip(host[mid:mid + 12], dev[mid:mid + 12]):
        print("   step: worker %8.1f +%6.1f (tid %s)   gpu %8.1f +%6.1f" %
              (h[0] - t0, h[1], h[2], d[0] - t0, d[1]))
    ss = sorted(b[0] - a[0] for a, b in zip(host[10:-10], host[11:-10]))
    gg = sorted(b[0] - (a[0] + a[1]) for a, b in zip(dev[10:-10], dev[11:-10]))
    print("   start to start median %.1f us, gap between device spans median %.1f us" %
          (ss[len(ss) // 2], gg[len(gg) // 2]))
PY
  done
done
