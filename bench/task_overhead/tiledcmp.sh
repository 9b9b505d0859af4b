#!/usr/bin/env bash
# tiledcmp.sh: interleaved tiled runs (GFLOP/s) of dagcc, libgomp, libomp and, when $BASE
# names an older tiled_dagcc, that one: ROUNDS rounds of one process each, then medians.
#   bash bench/task_overhead/tiledcmp.sh BUILD_DIR ROUNDS ALG N [THREADS] [NB]
set -euo pipefail
B=${1:?usage: tiledcmp.sh BUILD_DIR ROUNDS ALG N [THREADS] [NB]}/bench/task_overhead
n=$2; alg=$3; size=$4; thr=${5:-2}; nb=${6:-256}
export OPENBLAS_NUM_THREADS=1
for r in $(seq "$n"); do
  for impl in dagcc before libgomp libomp; do
    bin=$B/tiled_$impl
    if [ $impl = before ]; then [ -n "${BASE:-}" ] || continue; bin=$BASE; fi
    [ -x "$bin" ] || continue
    echo "$impl $("$bin" "$alg" "$thr" 2 "$size" "$nb" | grep -o 'gflops=[0-9.]*' | cut -d= -f2)"
  done
done | python3 -c '
import sys, statistics as st
d = {}
for l in sys.stdin:
    k, v = l.split()
    d.setdefault(k, []).append(float(v))
m = {k: st.median(v) for k, v in d.items()}
best = max(m.get("libgomp", 0), m.get("libomp", 0))
print("  ".join("%s %.2f" % kv for kv in m.items()) + ("  dagcc/best %.2f" % (m["dagcc"] / best) if best and "dagcc" in m else ""))'
echo "load: $(cut -d" " -f1-3 /proc/loadavg)"
