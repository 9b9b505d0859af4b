#!/usr/bin/env bash
# tiledvar.sh: interleaved tiled runs (GFLOP/s) under several settings, for a shared
# machine: ROUNDS rounds, one process per variant per round, then medians.
#   bash bench/task_overhead/tiledvar.sh BUILD_DIR ROUNDS ALG N THREADS NB VARIANT...
# VARIANT is LABEL:ENV (ENV: "X=1" for none, or "DAG_BIND=none DAG_SPIN_US=0", ...). LABEL
# picks the binary: libgomp / libomp the anchors, before* the tiled_dagcc named by $BASE
# (an older build), anything else this build's tiled_dagcc. On a loaded machine the max
# (the least disturbed round) says more than the median.
set -euo pipefail
B=${1:?usage: tiledvar.sh BUILD_DIR ROUNDS ALG N THREADS NB LABEL:ENV...}/bench/task_overhead
n=$2; alg=$3; size=$4; thr=$5; nb=$6; shift 6
export OPENBLAS_NUM_THREADS=1
for i in $(seq "$n"); do for v in "$@"; do
  lab=${v%%:*}; e=${v#*:}
  case $lab in
  before*) bin=${BASE:?set BASE to an older tiled_dagcc} ;;
  libgomp|libomp) bin=$B/tiled_$lab ;;
  *) bin=$B/tiled_dagcc ;;
  esac
  # shellcheck disable=SC2086
  echo "$lab $(env $e "$bin" "$alg" "$thr" 2 "$size" "$nb" | grep -o 'gflops=[0-9.]*' | cut -d= -f2)"
done; done | python3 -c '
import sys, statistics as st
d = {}
for l in sys.stdin:
    k, v = l.split()
    d.setdefault(k, []).append(float(v))
m = {k: st.median(v) for k, v in d.items()}
best = max(m.get("libgomp", 0), m.get("libomp", 0))
for k, v in d.items():
    r = " (%.3fx best anchor)" % (m[k] / best) if best else ""
    print("%-12s median %7.2f GFLOP/s%s  max %.2f  all %s" % (k, m[k], r, max(v), " ".join("%.1f" % x for x in v)))'
echo "load: $(cut -d" " -f1-3 /proc/loadavg)"
