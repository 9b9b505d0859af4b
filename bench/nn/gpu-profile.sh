#!/usr/bin/env bash
# bench/nn/gpu-profile.sh: where a GPU training step goes (not in CI). Builds fmnist and the
# cuBLAS anchor like device.sh, then for the MLP and the CNN at batch 64 and 256 runs one
# short epoch with DAG_TRACE and prints, from the trace, the GPU's busy time per step
# against the step's wall time and the kernel time per task label (trace_summary.py), plus
# the anchor's samples/s in the same call, ROUNDS times interleaved (default 1), with the
# steps replayed as CUDA graphs (DAG_NN_GRAPH=2: on, with its counts) and without (0).
# Carry fashion-mnist-subset.
set -uo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
OUT=${OUT:-/tmp}; build=${BUILD:-$root/build-nn-device} # BUILD: an existing CUDA build tree
DATA=${DATA:-$root/fashion-mnist-subset}
{ [ -f "$build/CMakeCache.txt" ] || cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release \
  -DDAG_BUILD_TESTS=OFF -DDAG_WITH_CUDA=ON -DDAG_WITH_MPI=ON >/dev/null 2>&1; }
fm=$build/samples/nn/fmnist
if ! cmake --build "$build" -j16 --target fmnist >"$OUT/build.log" 2>&1; then
  # a tree built without samples (tests/gpu/run.sh's): the sample by hand on its libraries
  cmake --build "$build" -j16 --target dagnn >>"$OUT/build.log" 2>&1 || { tail "$OUT/build.log"; exit 1; }
  fm=$build/fmnist-hand
  cc -O2 -DFMNIST_CUDA_STATS=1 -I"$root/include" -I/usr/local/cuda/include \
    "$root/samples/nn/fmnist.c" -o "$fm" -L"$build/runtime/nn" -L"$build/runtime" \
    -Wl,-rpath,"$build/runtime/nn:$build/runtime" -ldagnn -ldagrt -lm || exit 1
fi
/usr/local/cuda/bin/nvcc -O2 -arch=native "$root/bench/nn/cublas_fmnist.cu" \
  -o "$build/cublas_fmnist" -lcublas -lz 2>/dev/null || exit 1
[ -n "${BUILD_ONLY:-}" ] && { echo "$fm"; exit 0; } # gpu-ab.sh: the two binaries, no runs
for model in ${MODELS:-mlp cnn}; do
  for bs in ${BATCHES:-64 256}; do
    args=(--model $model --epochs 2 --batch $bs --limit ${LIMIT:-5120} --data "$DATA")
    for round in $(seq "${ROUNDS:-1}"); do # interleaved: the anchor, then the three ways
      a=$("$build/cublas_fmnist" "${args[@]}" 2>&1 | grep '^epoch' | tail -1)
      echo "== $model b$bs round $round anchor: $a"
      for way in "1 0" "1 2" "0 2"; do # DAG_NN_DEVICE_DATA, DAG_NN_GRAPH (2: on, counted)
        set -- $way
        d=$(DAG_NN_DEVICE_DATA=$1 DAG_NN_GRAPH=$2 "$fm" "${args[@]}" --device cuda 2>&1 |
          grep -E '^epoch|^gpu per|^dagnn: steps' | tail -3 | tr '\n' ' ')
        echo "   dag, DAG_NN_DEVICE_DATA=$1 DAG_NN_GRAPH=$2: $d"
      done
    done
    DAG_TRACE=$OUT/tr.$model.$bs.json "$fm" --model $model --epochs 1 \
      --batch $bs --limit $((bs * 40)) --data "$DATA" --device cuda >/dev/null 2>&1
    python3 "$root/bench/gpu/trace_summary.py" "$OUT/tr.$model.$bs.json" 2>&1 | head -30
    python3 - "$OUT/tr.$model.$bs.json" <<'PY'
import json,sys
ev=json.load(open(sys.argv[1]))['traceEvents']
dev=sorted((e['ts'],e['ts']+e['dur'],e['name']) for e in ev if e.get('cat')=='device')
gaps=[b[0]-a[1] for a,b in zip(dev,dev[1:]) if b[0]>a[1]]
gaps.sort()
if gaps: print("   gaps between device spans: n=%d median %.1f us p90 %.1f us sum %.1f ms"%(len(gaps),gaps[len(gaps)//2],gaps[int(len(gaps)*.9)],sum(gaps)/1e3))
from collections import defaultdict
for cat in ('task','device'): # per label: host spans (the launch) and device spans
  d=defaultdict(list)
  for e in ev:
    if e.get('cat')==cat: d[e['name'].split(' (')[0]].append((e['ts'],e['dur']))
  for k,v in sorted(d.items(), key=lambda kv:-sum(x[1] for x in kv[1]))[:6]:
    du=sorted(x[1] for x in v); st=sorted(x[0] for x in v)
    per=sorted(b-a for a,b in zip(st,st[1:])) or [0]
    print("   %-6s %-26s n=%4d median %7.1f us, start to start median %7.1f us"%(cat,k,len(v),du[len(du)//2],per[len(per)//2]))
seq=[x[2] for x in dev[len(dev)//2:len(dev)//2+24]]
print("   a stretch of device spans:"," ".join(seq))
for x in dev[len(dev)//2:len(dev)//2+24]: print("     %-14s %8.1f us  +%.1f"%(x[2],x[1]-x[0],x[0]-dev[len(dev)//2][0]))
PY
    rm -f "$OUT/tr.$model.$bs.json"
  done
done
